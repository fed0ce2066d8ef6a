// Merge speedup on the full-size width (issue 5): a random-weight transformer with
// PixArt-XL-2's blocks (16 heads × 72 = 1152 hidden, caption_channels 4096, patch 2) but only
// 2 of its 28 blocks, timing one edit denoising step (batch 3: source, target uncond, target cond,
// attention control on both blocks, merging in both) at 64x64 latents (512x512 images, 32x32 = 1024
// tokens, sample_size 64 as PixArt-XL-2-512x512) and 128x128 latents (1024x1024 images, 4096
// tokens, sample_size 128 as PixArt-XL-2-1024-MS but without its micro-conditions), merge ratio 0, 0.5 and 0.75. Timing "wall": whole calls.
// Rows: ms per step, per_block_ms = ms / 2 (embeddings and the final layer included), speedup over
// ratio 0 in the same run (cpu_speedup: the same from process CPU time), peak_bytes (weights
// included, weights_bytes of them).

import { type BenchRow, round } from "../_timing.ts";
import type { BenchCase } from "../run.ts";
import { randomPixArt, transformerRows, XL_512 } from "./pixart_model_bench.ts";

const BLOCKS = 2;

/** Edit-step rows of the 2-block XL-width transformer at 1024 and 4096 tokens. */
export const pixartMergeBench: BenchCase = {
  kernel: "pixart_xl_blocks",
  group: "model",
  async run(gpu, log) {
    const rows: BenchRow[] = [];
    for (const [side, sampleSize, repeats] of [[64, 64, 2], [128, 128, 1]]) {
      const t0 = performance.now();
      const model = await randomPixArt(gpu, {
        ...XL_512,
        num_layers: BLOCKS,
        sample_size: sampleSize,
        use_additional_conditions: false,
      });
      log(`pixart_xl_${BLOCKS}blocks: weights ready in ${round(performance.now() - t0)} ms`);
      try {
        const got = await transformerRows(gpu, model, `pixart_xl_${BLOCKS}blocks`, side, log, {
          forward: false,
          ratios: [0, 0.5, 0.75],
          controlBlocks: [0, BLOCKS - 1],
          repeats,
        });
        for (const row of got) {
          rows.push({ ...row, sample_size: sampleSize, micro_conditions: false, repeats });
        }
      } finally {
        model.dispose();
      }
    }
    return rows;
  },
};
