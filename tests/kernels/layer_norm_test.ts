// layerNorm() against layerNormRef() for every variant: plain, affine, adaLN-single modulate.
import { assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { LAYER_NORM_VARIANTS, layerNorm, type LayerNormOptions } from "../../kernels/layer_norm.ts";
import { layerNormRef } from "../../kernels/layer_norm_ref.ts";
import { withVariant } from "../../kernels/_variant.ts";
import { type DType, roundToF16 } from "../../tensor/dtype.ts";
import { assertClose, F16_TOL, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";
import type { Gpu } from "../../tensor/device.ts";

interface Case {
  shape: number[];
  /** shift/scale shape, or null for none */
  mod: number[] | null;
  affine: boolean;
  /** inputs are offset + U(-spread, spread) */
  offset: number;
  spread: number;
}

const CASES: Case[] = [
  { shape: [1, 1], mod: null, affine: false, offset: 0, spread: 1 },
  { shape: [2, 7, 5], mod: [2, 1, 5], affine: false, offset: 0, spread: 3 },
  { shape: [2, 17, 1152], mod: [2, 1, 1152], affine: false, offset: 0.5, spread: 4 },
  { shape: [3, 4097], mod: null, affine: true, offset: 0, spread: 2 },
  { shape: [9, 33], mod: [33], affine: true, offset: 50, spread: 1 },
  { shape: [4, 3, 6], mod: [4, 3, 6], affine: true, offset: 0, spread: 1 },
  // C % 4 == 0: the CPU variant reads textures
  { shape: [1, 4], mod: null, affine: false, offset: 0, spread: 1 },
  { shape: [9, 36], mod: [36], affine: true, offset: 50, spread: 1 },
  { shape: [4, 3, 8], mod: [4, 3, 8], affine: true, offset: 0, spread: 1 },
  { shape: [3, 5, 64], mod: [3, 1, 64], affine: false, offset: -2, spread: 3 },
];

function numel(s: number[]): number {
  return s.reduce((a, d) => a * d, 1);
}

async function check(gpu: Gpu, c: Case, dtype: DType, seed: number): Promise<void> {
  const cols = c.shape[c.shape.length - 1];
  const round = (a: Float32Array) => (dtype === "f16" ? roundToF16(a) : a);
  const x = round(randomArray(numel(c.shape), seed, c.offset - c.spread, c.offset + c.spread));
  const host: Record<string, Float32Array> = {};
  const opts: LayerNormOptions = {};
  const up = (a: Float32Array, shape: number[]) => Tensor.from(gpu, a, shape, dtype);
  if (c.affine) {
    host.weight = round(randomArray(cols, seed + 1, 0.5, 1.5));
    host.bias = round(randomArray(cols, seed + 2, -1, 1));
    opts.weight = up(host.weight, [cols]);
    opts.bias = up(host.bias, [cols]);
  }
  let tokens: number | undefined;
  if (c.mod) {
    host.shift = round(randomArray(numel(c.mod), seed + 3, -1, 1));
    host.scale = round(randomArray(numel(c.mod), seed + 4, -0.5, 0.5));
    opts.shift = up(host.shift, c.mod);
    opts.scale = up(host.scale, c.mod);
    tokens = numel(c.shape) / numel(c.mod);
  }
  const t = up(x, c.shape);
  const y = layerNorm(t, opts);
  const ref = layerNormRef(x, cols, { ...host, tokens });
  const label = `${dtype} [${c.shape}] mod [${c.mod ?? "-"}]${c.affine ? " affine" : ""}`;
  assertClose(await y.toArray(), ref, dtype === "f16" ? F16_TOL : F32_TOL, label);
  for (const z of [t, y, ...Object.values(opts)]) z.dispose();
}

for (const variant of LAYER_NORM_VARIANTS) {
  Deno.test({
    name: `layerNorm() variant "${variant.name}" matches layerNormRef() ` +
      `(f32 atol 1e-5 rtol 1e-4; f16 atol 1e-3 rtol 1e-2)`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      await withVariant(gpu, "layer_norm", variant.name, async () => {
        for (const [i, c] of CASES.entries()) {
          await check(gpu, c, "f32", 10 + i);
          await check(gpu, c, "f16", 20 + i);
        }
      });
    },
  });
}

Deno.test({
  name: "layerNorm() refuses mismatched shift/scale and weight shapes",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const x = Tensor.from(gpu, new Float32Array(24), [2, 3, 4]);
    const bad = Tensor.from(gpu, new Float32Array(12), [1, 3, 4]);
    const w = Tensor.from(gpu, new Float32Array(3), [3]);
    assertThrows(() => layerNorm(x, { shift: bad }), TypeError, "with shift [1, 3, 4]");
    assertThrows(() => layerNorm(x, { weight: w }), TypeError, "with weight [3] f32");
    assertThrows(() => layerNorm(x, { eps: -1 }), RangeError, "eps -1");
    for (const z of [x, bad, w]) z.dispose();
  },
});
