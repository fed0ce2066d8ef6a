// layer_norm: PixArt's norm1 with the adaLN-single modulate fused, x [2, 4096, 1152] (1024² image,
// batch 2 for guidance), shift/scale [2, 1, 1152]. GB/s counts one read of x and one write of y.
// Each variant runs in the same process; the adapter's default is the non-baseline row.

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import type { DType } from "../../tensor/dtype.ts";
import { LAYER_NORM_VARIANTS, layerNorm } from "../../kernels/layer_norm.ts";
import { pickVariant, withVariant } from "../../kernels/_variant.ts";
import { type BenchRow, round, timeOp } from "../_timing.ts";
import type { BenchCase } from "../run.ts";

const SHAPE = [2, 4096, 1152];

async function rows(gpu: Gpu, dtype: DType, log: (m: string) => void): Promise<BenchRow[]> {
  const n = SHAPE[0] * SHAPE[1] * SHAPE[2], c = SHAPE[2];
  const x = Tensor.from(gpu, new Float32Array(n).map((_, i) => Math.sin(i)), SHAPE, dtype);
  const shift = Tensor.from(gpu, new Float32Array(2 * c).fill(0.1), [2, 1, c], dtype);
  const scale = Tensor.from(gpu, new Float32Array(2 * c).fill(0.2), [2, 1, c], dtype);
  const def = pickVariant(gpu, "layer_norm", LAYER_NORM_VARIANTS).name;
  const out: BenchRow[] = [];
  for (const v of LAYER_NORM_VARIANTS) {
    const t = await withVariant(
      gpu,
      "layer_norm",
      v.name,
      () =>
        timeOp(gpu, () => layerNorm(x, { shift, scale }), {
          repeats: v.name === def ? 5 : 3,
          inner: v.name === def ? 8 : 1,
          useTimestamps: false, // lavapipe's timestamps can close before compute work ends
        }),
    );
    const bytes = 2 * n * x.elementBytes;
    log(`  ${v.name} ${dtype}: ${t.ms.toFixed(2)} ms`);
    out.push({
      kernel: "layer_norm",
      case: "B2_N4096_C1152",
      dtype,
      variant: v.name,
      ms: round(t.ms),
      timing: t.timing,
      adapter: gpu.description,
      baseline: v.name !== def,
      gbps: round(bytes / t.ms / 1e6, 2),
      compile_ms: round(t.compileMs, 1),
    });
  }
  for (const z of [x, shift, scale]) z.dispose();
  return out;
}

/** The layer_norm bench case. */
export const layerNormBench: BenchCase = {
  kernel: "layer_norm",
  async run(gpu, log) {
    return [...await rows(gpu, "f32", log), ...await rows(gpu, "f16", log)];
  },
};
