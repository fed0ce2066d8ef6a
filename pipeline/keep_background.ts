// Background preservation in pixel space (EditOptions.keepBackground): the edited image is blended
// back into the untouched input with a soft mask made from the cross-attention maps of the edited
// words, so everything the edit did not touch keeps the input's exact pixels, at the input's own
// resolution. Blended Latent Diffusion (Avrahami et al., 2023) blends its result into the input in
// pixel space in the same way; the mask is Prompt-to-Prompt's LocalBlend word maps, normalised by
// their range instead of their max (our choice: maps can have a high floor, often 70% of the max on
// the bundled model, and the range puts every map's floor at 0, so one band suits them all;
// BENCHMARKS.md).

import type { RgbaImage } from "../image/rgba_image.ts";
import type { LocalBlendWord } from "../kernels/local_blend.ts";
import { promptWords, wordTokenRanges, wordTokenSpan } from "./p2p.ts";

/** The soft band of {@link editMask}: 0 at or below `low`, 1 at or above `high`, linear between. */
export interface MaskBand {
  low: number;
  high: number;
}

/**
 * The soft edit mask at image resolution: each word map (a row of `maps`, on the `h`×`w` token
 * grid) is normalised to [0, 1] by its own min and max, resampled bilinearly (pixel centres,
 * edges clamped) to `width`×`height`, and mapped through the band; the mask is the max over maps.
 * A map with no range (all equal) locates nothing and is skipped; with none left the mask is all 1
 * (the edit is kept everywhere).
 *
 * @param maps `rows` word maps, row-major `[rows, h·w]`
 */
export function editMask(
  maps: Float32Array,
  rows: number,
  grid: { h: number; w: number },
  size: { width: number; height: number },
  band: MaskBand,
): Float32Array {
  const { h, w } = grid, { width, height } = size, n = h * w;
  if (maps.length !== rows * n) {
    throw new RangeError(
      `Cannot make an edit mask: ${maps.length} map values, expected ${rows}·${n}`,
    );
  }
  if (!(band.high > band.low)) {
    throw new RangeError(`Cannot make an edit mask: band ${band.low}..${band.high} is empty`);
  }
  const mask = new Float32Array(width * height);
  let used = 0;
  for (let r = 0; r < rows; r++) {
    const map = maps.subarray(r * n, (r + 1) * n);
    let min = Infinity, max = -Infinity;
    for (const v of map) (min = Math.min(min, v), max = Math.max(max, v));
    if (!(max > min)) continue;
    used++;
    const at = (y: number, x: number) => (map[y * w + x] - min) / (max - min);
    for (let y = 0; y < height; y++) {
      const fy = clamp((y + 0.5) * h / height - 0.5, 0, h - 1), y0 = Math.floor(fy);
      const y1 = Math.min(y0 + 1, h - 1), ay = fy - y0;
      for (let x = 0; x < width; x++) {
        const fx = clamp((x + 0.5) * w / width - 0.5, 0, w - 1), x0 = Math.floor(fx);
        const x1 = Math.min(x0 + 1, w - 1), ax = fx - x0;
        const v = (1 - ay) * ((1 - ax) * at(y0, x0) + ax * at(y0, x1)) +
          ay * ((1 - ax) * at(y1, x0) + ax * at(y1, x1));
        const m = clamp((v - band.low) / (band.high - band.low), 0, 1);
        if (m > mask[y * width + x]) mask[y * width + x] = m;
      }
    }
  }
  if (used === 0) mask.fill(1);
  return mask;
}

/** `mask·edited + (1 − mask)·input` per channel, rounded; both images of one size. */
export function blendImages(edited: RgbaImage, input: RgbaImage, mask: Float32Array): RgbaImage {
  const { width, height } = edited;
  if (input.width !== width || input.height !== height || mask.length !== width * height) {
    throw new RangeError(
      `Cannot blend: edited ${width}x${height}, input ${input.width}x${input.height}, mask of ` +
        `${mask.length} pixels`,
    );
  }
  const data = new Uint8Array(edited.data.length);
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i];
    for (let c = 4 * i; c < 4 * i + 4; c++) {
      data[c] = Math.round(m * edited.data[c] + (1 - m) * input.data[c]);
    }
  }
  return { width, height, data };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

/**
 * The words whose maps locate an edit, as (batch row, token range) pairs. With as many words in
 * both prompts (a replace edit, as the cross-attention mapper has it when every word fits the
 * tokens), each word that differs,
 * in the source row and in the target row; otherwise the target words the source lacks (target row)
 * and the source words the target lacks (source row). Words past the encoded tokens are left out.
 *
 * @param pieces the prompts' token pieces (`tokenizer.idToPiece` of the encoded ids)
 */
export function changedWords(
  prompts: { source: string; target: string },
  pieces: { source: readonly string[]; target: readonly string[] },
  rows: { source: number; target: number },
): LocalBlendWord[] {
  const sw = promptWords(prompts.source), tw = promptWords(prompts.target);
  const sr = wordTokenRanges(pieces.source), tr = wordTokenRanges(pieces.target);
  const word = (row: number, ranges: number[][], i: number): LocalBlendWord[] => {
    if (i >= ranges.length) return [];
    const [start, end] = wordTokenSpan(ranges[i]);
    return [{ row, start, end }];
  };
  if (sw.length === tw.length) {
    return sw.flatMap((w, i) =>
      w === tw[i] ? [] : [...word(rows.source, sr, i), ...word(rows.target, tr, i)]
    );
  }
  return [
    ...sw.flatMap((w, i) => tw.includes(w) ? [] : word(rows.source, sr, i)),
    ...tw.flatMap((w, i) => sw.includes(w) ? [] : word(rows.target, tr, i)),
  ];
}
