// flash_attention: PixArt self-attention, H 16, D 72, token-major [B, S, 1152] in and out, at
// S = 1024 (512² image) and 4096 (1024²); gflops = 4·B·H·Sq·Sk·D / time; ms covers the whole
// call (Q/K/V staging copies included). Same-run baseline: the materialised path (scores, softmax,
// probs·V in row chunks). Also flash_attention_union: the edit's four rows with MasaCtrl's Union
// (kvBatch [0, 0, 0, 3]) at S = 1024, the kernel reading [K_src; K_own] in place against the
// same-run baseline that gathers and concatenates them and attends over 2·S keys in every row;
// gflops counts the keys each path reads (the kernel reads a row mapped onto itself once). Also
// cross_attention: attentionProbs + attendProbs over 120 caption keys for 3 rows at 1024². On a
// CPU adapter the rows add cpu_ms, the process CPU time per call (Linux /proc), which other
// processes sharing the cores do not inflate as they inflate `ms`.

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import type { DType } from "../../tensor/dtype.ts";
import { FLASH_ATTENTION_VARIANTS, flashAttention } from "../../kernels/flash_attention.ts";
import { attendProbs, attentionByProbs, attentionProbs } from "../../kernels/cross_attention.ts";
import { operand } from "../../kernels/_attention.ts";
import { concat } from "../../kernels/concat.ts";
import { gatherRows } from "../../kernels/gather_rows.ts";
import { pickVariant } from "../../kernels/_variant.ts";
import { type BenchRow, cpuTimeMs, median, round, timeOp } from "../_timing.ts";
import type { BenchCase } from "../run.ts";

const H = 16, D = 72;

function inputs(gpu: Gpu, b: number, s: number, dtype: DType): Tensor[] {
  const n = b * s * H * D;
  return [1, 2, 3].map((k) =>
    Tensor.from(
      gpu,
      new Float32Array(n).map((_, i) => Math.sin(i * 0.37 * k)),
      [b, s, H * D],
      dtype,
    )
  );
}

/** Median process CPU time of one call of `fn` (one submit and sync each). */
async function cpuPerCall(gpu: Gpu, fn: () => void, repeats: number): Promise<number> {
  const xs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    await gpu.sync();
    const c0 = cpuTimeMs();
    fn();
    await gpu.sync();
    xs.push(cpuTimeMs() - c0);
  }
  return median(xs);
}

/** The identifying fields of a row. */
interface RowBase {
  kernel: string;
  case: string;
  dtype: string;
  baseline: boolean;
  variant?: string;
}

/** Times `fn` (outputs disposed at once: recorded work keeps their buffers valid) and adds rows. */
async function measure(
  gpu: Gpu,
  fn: () => Tensor,
  repeats: number,
  base: RowBase,
  flop: number,
  log: (m: string) => void,
): Promise<BenchRow> {
  const call = () => fn().dispose();
  gpu.resetPeak();
  const t = await timeOp(gpu, call, { repeats });
  const peak = gpu.memory().peakBytes;
  const cpu = gpu.kind === "cpu" ? await cpuPerCall(gpu, call, repeats) : NaN;
  log(
    `  ${base.kernel} ${base.case} ${base.dtype} ${base.variant ?? ""}: ${t.ms.toFixed(1)} ms, ` +
      `cpu ${cpu} ms, compile ${t.compileMs.toFixed(0)} ms`,
  );
  return {
    ...base,
    ms: round(t.ms),
    timing: t.timing,
    adapter: gpu.description,
    gflops: round(flop / t.ms / 1e6, 2),
    compile_ms: round(t.compileMs, 1),
    peak_bytes: peak,
    ...(Number.isFinite(cpu) ? { cpu_ms: cpu } : {}),
  };
}

async function flashRows(gpu: Gpu, log: (m: string) => void): Promise<BenchRow[]> {
  const out: BenchRow[] = [];
  const def = pickVariant(gpu, "flash_attention", FLASH_ATTENTION_VARIANTS).name;
  const runs = [[1024, "f32", 3], [1024, "f16", 3], [4096, "f32", 2]] as const;
  for (const [s, dtype, repeats] of runs) {
    const [q, k, v] = inputs(gpu, 1, s, dtype);
    const flop = 4 * H * s * s * D;
    const base = { kernel: "flash_attention", case: `B1_H16_S${s}_D72`, dtype, baseline: false };
    const fn = () => flashAttention(q, k, v, { heads: H });
    out.push(await measure(gpu, fn, repeats, { ...base, variant: def }, flop, log));
    if (s === 1024 && dtype === "f32") {
      const [qo, ko, vo] = [q, k, v].map((x) => operand("bench", "x", x, H));
      const options = { scale: 1 / Math.sqrt(D), kvmap: [0] };
      const probs = () => attentionByProbs("bench", qo, ko, vo, options);
      const m = { ...base, baseline: true, variant: "materialised" };
      out.push(await measure(gpu, probs, 2, m, flop, log));
    }
    for (const x of [q, k, v]) x.dispose();
  }
  return out;
}

async function unionRows(gpu: Gpu, log: (m: string) => void): Promise<BenchRow[]> {
  const b = 4, s = 1024, kvBatch = [0, 0, 0, 3];
  const [q, k, v] = inputs(gpu, b, s, "f32");
  const rows = Tensor.from(gpu, new Int32Array(kvBatch), [b]);
  const perKey = 4 * H * s * D;
  const base = { kernel: "flash_attention_union", case: `B4_H16_S${s}_D72`, dtype: "f32" };
  const def = pickVariant(gpu, "flash_attention", FLASH_ATTENTION_VARIANTS).name;
  const union = () => flashAttention(q, k, v, { heads: H, kvBatch, union: true });
  const concatenated = () => {
    const kk = concat([gatherRows(k, rows), k], 1), vv = concat([gatherRows(v, rows), v], 1);
    const o = flashAttention(q, kk, vv, { heads: H });
    for (const x of [kk, vv]) x.dispose();
    return o;
  };
  const ownKeys = kvBatch.reduce((n, r, i) => n + (r === i ? s : 2 * s), 0);
  const out = [
    await measure(gpu, union, 2, { ...base, baseline: false, variant: def }, perKey * ownKeys, log),
    await measure(
      gpu,
      concatenated,
      2,
      { ...base, baseline: true, variant: "gather_concat" },
      perKey * b * 2 * s,
      log,
    ),
  ];
  for (const x of [q, k, v, rows]) x.dispose();
  return out;
}

async function crossRows(gpu: Gpu, log: (m: string) => void): Promise<BenchRow[]> {
  const b = 3, n = 4096, l = 120;
  const [q] = inputs(gpu, b, n, "f32");
  const ctx = inputs(gpu, b, l, "f32");
  const mask = Tensor.from(
    gpu,
    new Float32Array(b * l).map((_, i) => (i % l < 40 ? 1 : 0)),
    [b, l],
  );
  const fn = () => {
    const p = attentionProbs(q, ctx[0], { heads: H, keyMask: mask });
    const o = attendProbs(p, ctx[1], { heads: H });
    p.dispose();
    return o;
  };
  const base = {
    kernel: "cross_attention",
    case: "B3_H16_N4096_L120_D72",
    dtype: "f32",
    baseline: false,
  };
  const row = await measure(gpu, fn, 3, base, 4 * b * H * n * l * D, log);
  for (const x of [q, ...ctx, mask]) x.dispose();
  return [row];
}

/** The flash_attention bench case (with the cross_attention row). */
export const flashAttentionBench: BenchCase = {
  kernel: "flash_attention",
  async run(gpu, log) {
    return [
      ...await flashRows(gpu, log),
      ...await unionRows(gpu, log),
      ...await crossRows(gpu, log),
    ];
  },
};
