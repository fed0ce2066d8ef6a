// Prompt-to-Prompt LocalBlend (SPEC §8.4; prompt-to-prompt's `LocalBlend`) for the edit loop:
// the edit is kept where the chosen word attends and the source branch's latents are kept
// elsewhere. Per step, every controlled block adds its cross-attention to running word maps (the
// target cond row for the target word, the source row for the corresponding source word), summed
// over heads, blocks and all steps so far, as P2P's attention store accumulates them (the target
// row as Prompt-to-Prompt's cross-attention edit left it, which is what P2P stores). After each
// step k ≥ start the maps become a mask on the GPU (max-pool 3×3, nearest ×patch, > threshold of
// the max, OR of both rows) and x_tgt ← mask·x_tgt + (1 − mask)·x_src. No readback mid-step.

import type { Tensor } from "../tensor/tensor.ts";
import type { Gpu } from "../tensor/device.ts";
import { add, mul } from "../kernels/binary.ts";
import { scale } from "../kernels/unary.ts";
import { localBlendMask, type LocalBlendWord } from "../kernels/local_blend.ts";
import { promptWords, wordTokenRanges, wordTokenSpan } from "./p2p.ts";
import { WordMaps } from "./word_maps.ts";

/** Words as `--local-blend` names them: runs of letters, digits, apostrophes and hyphens. */
export function blendWords(text: string): string[] {
  return text.split(/[^\p{L}\p{N}'-]+/u).filter((w) => w !== "");
}

/** The caption tokens `[start, end)` a local blend reads in each prompt. */
export interface LocalBlendTokens {
  target: [number, number];
  /** Absent when the source prompt has no corresponding word (the target mask alone is used). */
  source?: [number, number];
}

/**
 * Finds the blend word's tokens. The target word is the first whitespace-separated word of the
 * target prompt that contains `word` (case-insensitive; all of that word's tokens are used). The
 * source word is the one at the same index when both prompts have as many words (the swapped word
 * of a replace edit), otherwise the first source word containing `word`, otherwise none.
 *
 * @param prompts the source and target prompt texts
 * @param pieces their token pieces (`tokenizer.idToPiece` of the encoded ids)
 * @param word the blend word, one of `blendWords(targetPrompt)`
 */
export function localBlendTokens(
  prompts: { source: string; target: string },
  pieces: { source: readonly string[]; target: readonly string[] },
  word: string,
): LocalBlendTokens {
  const wanted = word.toLowerCase();
  const has = (w: string) => blendWords(w).includes(wanted);
  const tw = promptWords(prompts.target), sw = promptWords(prompts.source);
  const ti = tw.findIndex(has);
  const tr = wordTokenRanges(pieces.target), sr = wordTokenRanges(pieces.source);
  if (ti < 0) {
    throw new RangeError(
      `Cannot local-blend "${word}": it is not a word of the target prompt "${prompts.target}"`,
    );
  }
  if (ti >= tr.length) {
    throw new RangeError(
      `Cannot local-blend "${word}": it is word ${ti + 1} of the target prompt, but only ` +
        `${tr.length} words fit in its tokens`,
    );
  }
  const si = sw.length === tw.length ? ti : sw.findIndex(has);
  const tokens: LocalBlendTokens = { target: wordTokenSpan(tr[ti]) };
  if (si >= 0 && si < sr.length) tokens.source = wordTokenSpan(sr[si]);
  return tokens;
}

/** Options of {@link LocalBlend}. */
export interface LocalBlendOptions {
  tokens: LocalBlendTokens;
  /** Batch rows of the source row and the target cond row in the transformer call. */
  rows: { source: number; target: number };
  /** Token grid and patch size: latents are `[1, C, h·patch, w·patch]`. */
  grid: { h: number; w: number; patch: number };
  /** Keep latents where the map exceeds this fraction of its max (P2P: 0.3). */
  threshold: number;
  /** First step (0 = noisiest) after which latents are blended. */
  start: number;
  /** Inclusive block range whose cross-attention feeds the maps. */
  blocks: [number, number];
}

/** Running word maps of one edit and the blend they drive; dispose it after the edit. */
export class LocalBlend {
  readonly #options: LocalBlendOptions;
  readonly #maps: WordMaps;

  /** @param gpu the device; @param options tokens, rows, grid, threshold, start, blocks */
  constructor(gpu: Gpu, options: LocalBlendOptions) {
    this.#options = options;
    const { tokens, rows, grid } = options;
    const words: LocalBlendWord[] = [
      { row: rows.target, start: tokens.target[0], end: tokens.target[1] },
    ];
    if (tokens.source) {
      words.push({ row: rows.source, start: tokens.source[0], end: tokens.source[1] });
    }
    this.#maps = new WordMaps(gpu, words, grid.h * grid.w, options.blocks);
  }

  /** The running word maps `[rows, h·w]` (target first, then source when there is one). */
  get maps(): Tensor {
    return this.#maps.first;
  }

  /** Adds one block's cross-attention probabilities `[B, H, h·w, L]` (blocks outside are skipped). */
  add(block: number, probs: Tensor): void {
    this.#maps.add(block, probs);
  }

  /** The mask `[1, 1, h·patch, w·patch]` (0 or 1) of the maps so far. */
  mask(dtype: Tensor["dtype"] = "f32"): Tensor {
    const { grid, threshold } = this.#options;
    return localBlendMask(this.#maps.first, { ...grid, threshold, dtype });
  }

  /**
   * The target latents after step k: `xt` before the start step, otherwise
   * mask·xt + (1 − mask)·xs, which is exactly xt inside the mask and exactly xs outside.
   */
  apply(k: number, xs: Tensor, xt: Tensor): Tensor {
    if (k < this.#options.start) return xt;
    const m = this.mask(xt.dtype);
    return add(mul(m, xt), mul(scale(m, -1, 1), xs));
  }

  /** Frees the maps. */
  dispose(): void {
    this.#maps.dispose();
  }
}
