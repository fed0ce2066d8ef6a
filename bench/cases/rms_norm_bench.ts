// rms_norm: T5's RMSNorm on x [2, 120, 4096] (two prompts of 120 tokens). GB/s counts one read of
// x and one write of y. Each variant runs in the same process; the default is the non-baseline row.

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import type { DType } from "../../tensor/dtype.ts";
import { RMS_NORM_VARIANTS, rmsNorm } from "../../kernels/rms_norm.ts";
import { pickVariant, withVariant } from "../../kernels/_variant.ts";
import { type BenchRow, round, timeOp } from "../_timing.ts";
import type { BenchCase } from "../run.ts";

const SHAPE = [2, 120, 4096];

async function rows(gpu: Gpu, dtype: DType, log: (m: string) => void): Promise<BenchRow[]> {
  const c = SHAPE[2], n = SHAPE[0] * SHAPE[1] * c;
  const x = Tensor.from(gpu, new Float32Array(n).map((_, i) => Math.sin(i)), SHAPE, dtype);
  const w = Tensor.from(gpu, new Float32Array(c).fill(1.5), [c], dtype);
  const def = pickVariant(gpu, "rms_norm", RMS_NORM_VARIANTS).name;
  const out: BenchRow[] = [];
  for (const v of RMS_NORM_VARIANTS) {
    const t = await withVariant(
      gpu,
      "rms_norm",
      v.name,
      () => timeOp(gpu, () => rmsNorm(x, w), { repeats: 5, inner: 16, useTimestamps: false }),
    );
    log(`  ${v.name} ${dtype}: ${t.ms.toFixed(2)} ms`);
    out.push({
      kernel: "rms_norm",
      case: "B2_L120_C4096",
      dtype,
      variant: v.name,
      ms: round(t.ms),
      timing: t.timing,
      adapter: gpu.description,
      baseline: v.name !== def,
      gbps: round((2 * n * x.elementBytes) / t.ms / 1e6, 2),
      compile_ms: round(t.compileMs, 1),
    });
  }
  for (const z of [x, w]) z.dispose();
  return out;
}

/** The rms_norm bench case. */
export const rmsNormBench: BenchCase = {
  kernel: "rms_norm",
  async run(gpu, log) {
    return [...await rows(gpu, "f32", log), ...await rows(gpu, "f16", log)];
  },
};
