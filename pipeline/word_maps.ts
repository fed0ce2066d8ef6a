// Running cross-attention maps of chosen caption words (Prompt-to-Prompt's attention store, reduced
// to what a mask needs): per (batch row, word) the probabilities summed over heads, the word's
// tokens, the blocks in range and every step added so far, kept on the GPU as f32 `[words, h·w]`
// in chunks of at most LOCAL_BLEND_MAX_WORDS words (one kernel launch per chunk and block).

import { Tensor } from "../tensor/tensor.ts";
import type { Gpu } from "../tensor/device.ts";
import { keep } from "../tensor/scope.ts";
import {
  LOCAL_BLEND_MAX_WORDS,
  type LocalBlendWord,
  localBlendWordMaps,
} from "../kernels/local_blend.ts";

/** Word maps summed over heads, tokens, blocks and steps; dispose it after the edit. */
export class WordMaps {
  readonly words: readonly LocalBlendWord[];
  readonly #blocks: [number, number];
  #chunks: Tensor[];

  /**
   * @param words the (batch row, token range) pairs, at least one
   * @param tokens image tokens per map (h·w)
   * @param blocks inclusive block range whose cross-attention is added
   */
  constructor(
    gpu: Gpu,
    words: readonly LocalBlendWord[],
    tokens: number,
    blocks: [number, number],
  ) {
    if (words.length === 0) throw new RangeError("Cannot keep word maps of no words");
    this.words = words;
    this.#blocks = blocks;
    this.#chunks = [];
    for (let i = 0; i < words.length; i += LOCAL_BLEND_MAX_WORDS) {
      const rows = Math.min(LOCAL_BLEND_MAX_WORDS, words.length - i);
      this.#chunks.push(keep(Tensor.from(gpu, new Float32Array(rows * tokens), [rows, tokens])));
    }
  }

  /** The maps of the first chunk: `[min(words, LOCAL_BLEND_MAX_WORDS), h·w]`. */
  get first(): Tensor {
    return this.#chunks[0];
  }

  /** Adds one block's cross-attention probabilities `[B, H, h·w, L]` (blocks outside are skipped). */
  add(block: number, probs: Tensor): void {
    const [first, last] = this.#blocks;
    if (block < first || block > last) return;
    this.#chunks = this.#chunks.map((acc, c) => {
      const words = this.words.slice(c * LOCAL_BLEND_MAX_WORDS, (c + 1) * LOCAL_BLEND_MAX_WORDS);
      const next = keep(localBlendWordMaps(probs, acc, words));
      acc.dispose();
      return next;
    });
  }

  /** All maps, `[words, h·w]` row-major, read back to the CPU. */
  async read(): Promise<Float32Array> {
    const parts = await Promise.all(this.#chunks.map((t) => t.toArray()));
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) (out.set(p, at), at += p.length);
    return out;
  }

  /** Frees the maps. */
  dispose(): void {
    for (const t of this.#chunks) t.dispose();
  }
}
