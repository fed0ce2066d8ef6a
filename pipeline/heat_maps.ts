// Cross-attention heat maps per target word (SPEC §8.4): the target cond row's attention
// probabilities, summed over the controlled blocks of the later steps, averaged over heads and
// the word's tokens, normalised to [0, 1] and resized to the image.

import type { RgbaImage } from "../image/rgba_image.ts";
import { resizeImage } from "../image/resize.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { add } from "../kernels/binary.ts";
import { scale } from "../kernels/unary.ts";
import { keep } from "../tensor/scope.ts";
import { promptWords, wordTokenRanges } from "./p2p.ts";

/** Running sum of probabilities [1, H, N, L]. */
export class CrossAttentionStore {
  sum: Tensor | null = null;
  count = 0;

  /** Adds one block's probabilities (kept beyond the caller's scope). */
  add(probs: Tensor): void {
    const next = keep(this.sum ? add(this.sum, probs) : scale(probs, 1));
    this.sum?.dispose();
    this.sum = next;
    this.count++;
  }

  dispose(): void {
    this.sum?.dispose();
    this.sum = null;
  }
}

/** Values in [0, 1], row-major `[height, width]`, as an opaque grey RGBA image. */
export function greyImage(values: Float32Array, width: number, height: number): RgbaImage {
  const data = new Uint8Array(4 * values.length);
  values.forEach((x, i) => {
    const g = Math.round(x * 255);
    data.set([g, g, g, 255], 4 * i);
  });
  return { width, height, data };
}

/** Target word → grey heat map image at `width`×`height` (the red channel carries the value). */
export async function attentionHeatMaps(
  store: CrossAttentionStore,
  pieces: string[],
  prompt: string,
  grid: { h: number; w: number; width: number; height: number },
): Promise<Map<string, RgbaImage>> {
  const maps = new Map<string, RgbaImage>();
  if (!store.sum) return maps;
  const [, heads, n, l] = store.sum.shape;
  const p = await store.sum.toArray();
  store.dispose();
  const words = promptWords(prompt), ranges = wordTokenRanges(pieces);
  words.forEach((word, wi) => {
    const tokens = ranges[wi];
    if (!tokens) return;
    const v = new Float32Array(n);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < n; i++) for (const t of tokens) v[i] += p[(h * n + i) * l + t];
    }
    let max = 0;
    for (const x of v) max = Math.max(max, x);
    const grey = greyImage(v.map((x) => max > 0 ? x / max : 0), grid.w, grid.h);
    maps.set(word, resizeImage(grey, grid.width, grid.height));
  });
  return maps;
}
