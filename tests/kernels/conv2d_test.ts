// conv2d() and upsampleNearest2x() against their f64 references, every variant pinned: the VAE's
// 3x3 pad 1, 1x1, Downsample2D (3x3 stride 2, pad right/bottom), Upsample2D (nearest 2x + 3x3),
// PixArt's 2x2 stride-2 patch embedding; odd channel counts and sizes, bias and residual fused.
import { assertEquals, assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { conv2d, CONV2D_VARIANTS, upsampleNearest2x } from "../../kernels/conv2d.ts";
import { conv2dRef, upsampleNearest2xRef } from "../../kernels/conv2d_ref.ts";
import { withVariant } from "../../kernels/_variant.ts";
import { type DType, roundToF16 } from "../../tensor/dtype.ts";
import type { Gpu } from "../../tensor/device.ts";
import { assertClose, F16_TOL, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";

interface Case {
  x: [number, number, number, number];
  cout: number;
  k: [number, number];
  stride: number;
  pad: [number, number, number, number];
  upsample?: boolean;
  bias?: boolean;
  residual?: boolean;
  /** weight dtype when it differs from x's */
  wdtype?: DType;
}

const CASES: Case[] = [
  { x: [1, 5, 7, 9], cout: 3, k: [3, 3], stride: 1, pad: [1, 1, 1, 1], bias: true },
  {
    x: [2, 3, 9, 17],
    cout: 12,
    k: [3, 3],
    stride: 1,
    pad: [1, 1, 1, 1],
    bias: true,
    residual: true,
  },
  { x: [1, 8, 5, 7], cout: 4, k: [1, 1], stride: 1, pad: [0, 0, 0, 0], bias: true },
  { x: [1, 6, 9, 9], cout: 10, k: [3, 3], stride: 2, pad: [0, 1, 0, 1], bias: true },
  { x: [1, 4, 8, 8], cout: 5, k: [3, 3], stride: 2, pad: [0, 1, 0, 1] },
  { x: [2, 4, 8, 6], cout: 36, k: [2, 2], stride: 2, pad: [0, 0, 0, 0], bias: true },
  { x: [1, 5, 4, 5], cout: 9, k: [3, 3], stride: 1, pad: [1, 1, 1, 1], upsample: true, bias: true },
  { x: [1, 36, 17, 33], cout: 40, k: [3, 3], stride: 1, pad: [1, 1, 1, 1], residual: true },
  { x: [1, 7, 6, 5], cout: 16, k: [3, 3], stride: 1, pad: [1, 1, 1, 1], bias: true, wdtype: "f16" },
  // 129 channel texels: one image per texture array (256 layers), three dispatch rounds
  { x: [3, 516, 3, 3], cout: 4, k: [3, 3], stride: 1, pad: [1, 1, 1, 1], bias: true },
  // 257 channel texels exceed the array-layer limit: the texture variant hands over to buffers
  { x: [1, 1028, 2, 3], cout: 2, k: [1, 1], stride: 1, pad: [0, 0, 0, 0], residual: true },
];

async function check(gpu: Gpu, c: Case, dtype: DType, seed: number): Promise<void> {
  const [batch, cin, h, w] = c.x, [kh, kw] = c.k;
  const round = (a: Float32Array, d = dtype) => (d === "f16" ? roundToF16(a) : a);
  const wdtype = c.wdtype ?? dtype;
  const bound = 1 / Math.sqrt(cin * kh * kw);
  const x = round(randomArray(batch * cin * h * w, seed, -1, 1));
  const wt = round(randomArray(c.cout * cin * kh * kw, seed + 1, -bound, bound), wdtype);
  const bias = c.bias ? round(randomArray(c.cout, seed + 2, -0.5, 0.5), wdtype) : undefined;
  const opts = { stride: c.stride, padding: c.pad, upsample: c.upsample ?? false };
  const probe = conv2dRef(new Float32Array(0), new Float32Array(0), { ...c0(c), batch: 0 }, opts);
  const resShape = [batch, c.cout, probe.ho, probe.wo];
  const n = resShape.reduce((a, d) => a * d, 1);
  const residual = c.residual ? round(randomArray(n, seed + 3, -1, 1)) : undefined;
  const ref = conv2dRef(x, wt, c0(c), { ...opts, bias, residual });
  const tx = Tensor.from(gpu, x, c.x, dtype);
  const tw = Tensor.from(gpu, wt, [c.cout, cin, kh, kw], wdtype);
  const tb = bias ? Tensor.from(gpu, bias, [c.cout], wdtype) : undefined;
  const tr = residual ? Tensor.from(gpu, residual, resShape, dtype) : undefined;
  const y = conv2d(tx, tw, tb, { ...opts, residual: tr });
  assertEquals(y.shape, resShape);
  const label = `${dtype} x [${c.x}] w [${c.cout}, ${cin}, ${kh}, ${kw}] stride ${c.stride} ` +
    `pad [${c.pad}]${c.upsample ? " upsample" : ""}`;
  assertClose(await y.toArray(), ref.out, dtype === "f16" ? F16_TOL : F32_TOL, label);
  for (const z of [tx, tw, tb, tr, y]) z?.dispose();
}

function c0(c: Case) {
  return { batch: c.x[0], cin: c.x[1], h: c.x[2], w: c.x[3], cout: c.cout, kh: c.k[0], kw: c.k[1] };
}

for (const variant of CONV2D_VARIANTS) {
  for (const dtype of ["f32", "f16"] as DType[]) {
    Deno.test({
      name: `conv2d() variant "${variant.name}" matches conv2dRef() (${dtype}: ` +
        (dtype === "f32" ? "atol 1e-5 rtol 1e-4)" : "atol 1e-3 rtol 1e-2, f16-rounded inputs)"),
      ...GPU_TEST,
      async fn() {
        const gpu = await testGpu();
        await withVariant(gpu, "conv2d", variant.name, async () => {
          for (const [i, c] of CASES.entries()) await check(gpu, c, dtype, 100 + 10 * i);
        });
      },
    });
  }
}

Deno.test({
  name: "upsampleNearest2x() matches upsampleNearest2xRef() exactly",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const x = randomArray(2 * 3 * 5 * 7, 7);
    const t = Tensor.from(gpu, x, [2, 3, 5, 7]);
    const y = upsampleNearest2x(t);
    assertEquals(y.shape, [2, 3, 10, 14]);
    assertClose(await y.toArray(), upsampleNearest2xRef(x, 6, 5, 7), { atol: 0, rtol: 0 }, "up");
    for (const z of [t, y]) z.dispose();
  },
});

Deno.test({
  name: "conv2d() refuses mismatched channels, bad padding and a wrong residual",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const x = Tensor.from(gpu, new Float32Array(2 * 9), [1, 2, 3, 3]);
    const w = Tensor.from(gpu, new Float32Array(3 * 9), [1, 3, 3, 3]);
    const w2 = Tensor.from(gpu, new Float32Array(2 * 9), [1, 2, 3, 3]);
    assertThrows(() => conv2d(x, w), TypeError, "weight has 3 input channels, x has 2");
    assertThrows(() => conv2d(x, w2, undefined, { padding: -1 }), RangeError, "padding -1");
    assertThrows(() => conv2d(x, w2, undefined, { stride: 0 }), RangeError, "stride 0");
    assertThrows(
      () => conv2d(x, w2, undefined, { padding: 1, residual: x }),
      TypeError,
      "expected [1, 1, 3, 3] f32",
    );
    for (const z of [x, w, w2]) z.dispose();
  },
});
