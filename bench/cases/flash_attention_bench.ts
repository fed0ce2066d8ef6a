// flash_attention: PixArt self-attention, H 16, D 72, token-major [B, S, 1152] in and out, at
// S = 1024 (512² image) and 4096 (1024²); gflops = 4·B·H·Sq·Sk·D / time; ms covers the whole call
// (Q/K/V staging copies included). Same-run baseline: the materialised path (scores, softmax,
// probs·V in row chunks). Also cross_attention: attentionProbs + attendProbs over 120 caption keys
// for 3 rows at 1024².

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import type { DType } from "../../tensor/dtype.ts";
import { FLASH_ATTENTION_VARIANTS, flashAttention } from "../../kernels/flash_attention.ts";
import { attendProbs, attentionByProbs, attentionProbs } from "../../kernels/cross_attention.ts";
import { operand } from "../../kernels/_attention.ts";
import { pickVariant } from "../../kernels/_variant.ts";
import { type BenchRow, round, timeOp } from "../_timing.ts";
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

function row(
  gpu: Gpu,
  kernel: string,
  name: string,
  dtype: DType,
  t: { ms: number; timing: BenchRow["timing"]; compileMs: number },
  flop: number,
  extra: Record<string, unknown>,
): BenchRow {
  return {
    kernel,
    case: name,
    dtype,
    ms: round(t.ms),
    timing: t.timing,
    adapter: gpu.description,
    baseline: false,
    gflops: round(flop / t.ms / 1e6, 2),
    compile_ms: round(t.compileMs, 1),
    peak_bytes: gpu.memory().peakBytes,
    ...extra,
  };
}

async function flashRows(gpu: Gpu, log: (m: string) => void): Promise<BenchRow[]> {
  const out: BenchRow[] = [];
  const def = pickVariant(gpu, "flash_attention", FLASH_ATTENTION_VARIANTS).name;
  for (
    const [s, dtype, repeats] of [[1024, "f32", 3], [1024, "f16", 3], [4096, "f32", 1]] as const
  ) {
    const [q, k, v] = inputs(gpu, 1, s, dtype);
    const flop = 4 * H * s * s * D;
    gpu.resetPeak();
    const t = await timeOp(gpu, () => flashAttention(q, k, v, { heads: H }), { repeats });
    log(
      `  flash_attention S=${s} ${dtype} ${def}: ${t.ms.toFixed(1)} ms (compile ${
        t.compileMs.toFixed(0)
      } ms)`,
    );
    out.push(row(gpu, "flash_attention", `B1_H16_S${s}_D72`, dtype, t, flop, { variant: def }));
    if (s === 1024 && dtype === "f32") {
      const [qo, ko, vo] = [q, k, v].map((x) => operand("bench", "x", x, H));
      const kvmap = [0];
      const m = await timeOp(
        gpu,
        () => attentionByProbs("bench", qo, ko, vo, { scale: 1 / Math.sqrt(D), kvmap }),
        { repeats: 2 },
      );
      log(`  materialised S=${s}: ${m.ms.toFixed(1)} ms`);
      out.push({
        ...row(gpu, "flash_attention", `B1_H16_S${s}_D72`, dtype, m, flop, {
          variant: "materialised",
        }),
        baseline: true,
      });
    }
    for (const x of [q, k, v]) x.dispose();
  }
  return out;
}

async function crossRows(gpu: Gpu, log: (m: string) => void): Promise<BenchRow[]> {
  const b = 3, n = 4096, l = 120;
  const [q] = inputs(gpu, b, n, "f32");
  const ctx = inputs(gpu, b, l, "f32");
  const mask = Tensor.from(gpu, new Float32Array(b * l).map((_, i) => (i % l < 40 ? 1 : 0)), [
    b,
    l,
  ]);
  gpu.resetPeak();
  const t = await timeOp(gpu, () => {
    const p = attentionProbs(q, ctx[0], { heads: H, keyMask: mask });
    return attendProbs(p, ctx[1], { heads: H });
  }, { repeats: 3 });
  log(`  cross_attention B3 N4096 L120: ${t.ms.toFixed(1)} ms`);
  for (const x of [q, ...ctx, mask]) x.dispose();
  return [
    row(gpu, "cross_attention", `B3_H16_N4096_L120_D72`, "f32", t, 4 * b * H * n * l * D, {}),
  ];
}

/** The flash_attention bench case (with the cross_attention row). */
export const flashAttentionBench: BenchCase = {
  kernel: "flash_attention",
  async run(gpu, log) {
    return [...await flashRows(gpu, log), ...await crossRows(gpu, log)];
  },
};
