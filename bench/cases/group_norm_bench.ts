// group_norm: the VAE's GroupNorm(32) + SiLU on [1, 512, 64, 64] (mid block at 512²) and
// [1, 128, 256, 256] (up block). GB/s counts the two reads of x (statistics, apply) and one write
// of y. Each variant runs in the same process; the adapter's default is the non-baseline row.

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import type { DType } from "../../tensor/dtype.ts";
import { GROUP_NORM_VARIANTS, groupNorm } from "../../kernels/group_norm.ts";
import { pickVariant, withVariant } from "../../kernels/_variant.ts";
import { type BenchRow, round, timeOp } from "../_timing.ts";
import type { BenchCase } from "../run.ts";

const SHAPES = [[1, 512, 64, 64], [1, 128, 256, 256]];
const GROUPS = 32;

async function rows(gpu: Gpu, shape: number[], dtype: DType, log: (m: string) => void) {
  const [b, c, h, w] = shape, n = b * c * h * w;
  const x = Tensor.from(gpu, new Float32Array(n).map((_, i) => Math.sin(i)), shape, dtype);
  const wt = Tensor.from(gpu, new Float32Array(c).fill(1.1), [c], dtype);
  const bt = Tensor.from(gpu, new Float32Array(c).fill(0.1), [c], dtype);
  const def = pickVariant(gpu, "group_norm", GROUP_NORM_VARIANTS).name;
  const out: BenchRow[] = [];
  for (const v of GROUP_NORM_VARIANTS) {
    const t = await withVariant(
      gpu,
      "group_norm",
      v.name,
      () =>
        timeOp(gpu, () => groupNorm(x, wt, bt, { groups: GROUPS, silu: true }), {
          repeats: v.name === def ? 5 : 3,
          inner: v.name === def ? 8 : 1,
          useTimestamps: false, // lavapipe's timestamps can close before compute work ends
        }),
    );
    const name = `B${b}_C${c}_H${h}_W${w}_G${GROUPS}`;
    log(`  ${v.name} ${name} ${dtype}: ${t.ms.toFixed(2)} ms`);
    out.push({
      kernel: "group_norm",
      case: name,
      dtype,
      variant: v.name,
      silu: true,
      ms: round(t.ms),
      timing: t.timing,
      adapter: gpu.description,
      baseline: v.name !== def,
      gbps: round((3 * n * x.elementBytes) / t.ms / 1e6, 2),
      compile_ms: round(t.compileMs, 1),
    });
  }
  for (const z of [x, wt, bt]) z.dispose();
  return out;
}

/** The group_norm bench case. */
export const groupNormBench: BenchCase = {
  kernel: "group_norm",
  async run(gpu, log) {
    const out: BenchRow[] = [];
    for (const shape of SHAPES) {
      for (const dtype of ["f32", "f16"] as const) out.push(...await rows(gpu, shape, dtype, log));
    }
    return out;
  },
};
