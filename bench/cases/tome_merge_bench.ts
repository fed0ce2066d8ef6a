// tome_merge: ToMe patch merging at PixArt-1024 size, 64x64 = 4096 tokens of C = 1152, r = 50% and
// 75% of the tokens removed (SPEC §9). Rows: plan + merge + unmerge on one row (the op as a block
// calls it), its plan and apply parts, and one plan shared by three rows (the edit pipeline's
// source/uncond/target batch, §9.2). GFLOP/s counts the plan's score matrix, 2·ns·nd·C.
// lavapipe's timestamp queries do not bracket its compute work reliably, so rows use wall time of
// whole submits ("batched", ~11 ms of sync included per submit).

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { tomePlan } from "../../kernels/tome_plan.ts";
import { tomeMerge, tomeUnmerge } from "../../kernels/tome_merge.ts";
import { type BenchRow, round, timeOp } from "../_timing.ts";
import type { BenchCase } from "../run.ts";

const H = 64, W = 64, N = H * W, C = 1152;

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

async function rows(gpu: Gpu, ratio: number, log: (m: string) => void): Promise<BenchRow[]> {
  const x = Tensor.from(gpu, random(N * C, 1), [1, N, C]);
  const y3 = Tensor.from(gpu, random(3 * N * C, 2), [3, N, C]);
  const options = { h: H, w: W, ratio, seed: 1 };
  const opt = { repeats: 3, inner: 1, useTimestamps: false };
  const all = await timeOp(gpu, () => {
    const plan = tomePlan(x, options);
    return tomeUnmerge(tomeMerge(x, plan), plan);
  }, opt);
  const plan = tomePlan(x, options);
  const planOnly = await timeOp(gpu, () => tomePlan(x, options), opt);
  const apply = await timeOp(gpu, () => tomeUnmerge(tomeMerge(x, plan), plan), opt);
  const shared = await timeOp(gpu, () => {
    const p = tomePlan(x, options);
    return tomeUnmerge(tomeMerge(y3, p), p);
  }, opt);
  const flop = 2 * plan.numSrc * plan.numDst * C;
  const pct = Math.round(ratio * 100);
  const base = {
    dtype: "f32",
    timing: "batched" as const,
    adapter: gpu.description,
    baseline: false,
  };
  const extra = { r: plan.r, kept: plan.kept };
  log(
    `  r${pct}: plan+merge+unmerge ${all.ms.toFixed(1)} ms (plan ${planOnly.ms.toFixed(1)}, ` +
      `merge+unmerge ${apply.ms.toFixed(1)}); 3 rows sharing one plan ${shared.ms.toFixed(1)} ms`,
  );
  plan.dispose();
  x.dispose();
  y3.dispose();
  return [
    {
      kernel: "tome_merge",
      case: `B1_N${N}_C${C}_r${pct}`,
      ...base,
      ms: round(all.ms),
      gflops: round(flop / all.ms / 1e6, 2),
      compile_ms: round(all.compileMs, 1),
      plan_ms: round(planOnly.ms),
      apply_ms: round(apply.ms),
      ...extra,
    },
    {
      kernel: "tome_merge",
      case: `B3_N${N}_C${C}_r${pct}_shared_plan`,
      ...base,
      ms: round(shared.ms),
      gflops: round(flop / shared.ms / 1e6, 2),
      ...extra,
    },
  ];
}

/** The tome_merge bench case. */
export const tomeMergeBench: BenchCase = {
  kernel: "tome_merge",
  async run(gpu, log) {
    return [...await rows(gpu, 0.5, log), ...await rows(gpu, 0.75, log)];
  },
};
