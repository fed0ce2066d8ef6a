// Timing helpers for bench cases: GPU timestamp queries where the adapter has them, else many
// launches in one submit divided by their count. Never one sync per launch (~11 ms on lavapipe).

import process from "node:process";
import type { Gpu } from "../tensor/device.ts";
import { scope } from "../tensor/scope.ts";

/** How a row's `ms` was measured. */
export type Timing = "timestamp" | "batched" | "wall";

/** One JSON row of `deno task bench --json`. */
export interface BenchRow {
  kernel: string;
  case: string;
  dtype: string;
  ms: number;
  timing: Timing;
  adapter: string;
  baseline: boolean;
  gflops?: number;
  gbps?: number;
  peak_bytes?: number;
  compile_ms?: number;
  [extra: string]: unknown;
}

/** Result of timing one op. */
export interface OpTiming {
  /** Median milliseconds per launch of `fn`. */
  ms: number;
  timing: Timing;
  /** The first call including pipeline compilation and one sync. */
  compileMs: number;
}

/** Process CPU milliseconds so far (user + system, every thread: lavapipe's workers included). */
export function cpuTimeMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Median of a list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times `fn` (which records GPU work and may return tensors; they are freed) as the median over
 * `repeats` of `inner` back-to-back launches. Uses timestamp queries when `useTimestamps` and the
 * device allows; otherwise wall time of one submit of `inner` launches.
 */
export async function timeOp(
  gpu: Gpu,
  fn: () => unknown,
  options: { repeats?: number; inner?: number; useTimestamps?: boolean } = {},
): Promise<OpTiming> {
  const repeats = options.repeats ?? 5, inner = options.inner ?? 1;
  let t0 = performance.now();
  scope(() => void fn()); // returned tensors are freed too
  await gpu.sync();
  const compileMs = performance.now() - t0;
  const samples: number[] = [];
  // lavapipe's timestamp queries can close before the compute work ends (a 7.5 s conv read as
  // 0.1 ms), so CPU adapters use wall time over one submit unless a case insists
  const useTimestamps = options.useTimestamps ?? gpu.kind === "gpu";
  if (gpu.timestamps && useTimestamps) {
    const querySet = gpu.device.createQuerySet({ type: "timestamp", count: 2 });
    const resolve = gpu.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    try {
      for (let r = 0; r < repeats; r++) {
        gpu.recorder.timestamp(querySet, 0);
        for (let i = 0; i < inner; i++) scope(() => void fn()); // returned tensors are freed too
        gpu.recorder.timestamp(querySet, 1);
        gpu.recorder.encoder().resolveQuerySet(querySet, 0, 2, resolve, 0);
        const ns = new BigUint64Array(await gpu.recorder.read(resolve, 0, 16));
        samples.push(Number(ns[1] - ns[0]) / 1e6 / inner);
      }
    } finally {
      querySet.destroy();
      resolve.destroy();
    }
    return { ms: median(samples), timing: "timestamp", compileMs };
  }
  for (let r = 0; r < repeats; r++) {
    await gpu.sync();
    t0 = performance.now();
    for (let i = 0; i < inner; i++) scope(() => void fn()); // returned tensors are freed too
    await gpu.sync();
    samples.push((performance.now() - t0) / inner);
  }
  return { ms: median(samples), timing: "batched", compileMs };
}

/** Rounds for JSON output. */
export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
