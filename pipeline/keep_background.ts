// Background preservation in pixel space (EditOptions.keepBackground): the edited image is blended
// back into the untouched input with a soft mask made from the cross-attention maps of the edited
// words, so everything the edit did not touch keeps the input's exact pixels, at the input's own
// resolution. Blended Latent Diffusion (Avrahami et al., 2023) blends its result into the input in
// pixel space in the same way; the mask is Prompt-to-Prompt's LocalBlend word maps, with two
// changes of ours (BENCHMARKS.md): each map is normalised by its range instead of its max (maps can
// have a high floor, often 70% of the max on the bundled model, and the range puts every floor at
// 0, so one band suits them all), and a changed word's map is combined with the other words of its
// phrase by geometric mean (a map follows the word, not the object: "star" lights every star).

import type { RgbaImage } from "../image/rgba_image.ts";
import type { LocalBlendWord } from "../kernels/local_blend.ts";
import { promptWords, wordTokenRanges, wordTokenSpan } from "./p2p.ts";

/** The soft band of {@link editMask}: 0 at or below `low`, 1 at or above `high`, linear between. */
export interface MaskBand {
  low: number;
  high: number;
}

/**
 * The soft edit mask at image resolution. Each word map (a row of `maps`, on the `h`×`w` token
 * grid) is normalised to [0, 1] by its own min and max and resampled bilinearly (pixel centres,
 * edges clamped) to `width`×`height`. Each phrase's map is the geometric mean of its words' maps,
 * mapped through the band; the mask is the max over phrases. A map with no range (all equal)
 * locates nothing and leaves its phrase; with no phrase left the mask is all 1 (the edit is kept
 * everywhere).
 *
 * @param maps `rows` word maps, row-major `[rows, h·w]`
 * @param phrases rows of `maps` per phrase (default: each row a phrase of its own)
 */
export function editMask(
  maps: Float32Array,
  rows: number,
  grid: { h: number; w: number },
  size: { width: number; height: number },
  band: MaskBand,
  phrases: readonly (readonly number[])[] = Array.from({ length: rows }, (_, r) => [r]),
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
  for (const r of phrases.flat()) {
    if (!(Number.isInteger(r) && r >= 0 && r < rows)) {
      throw new RangeError(`Cannot make an edit mask: phrase row ${r} is not one of ${rows} maps`);
    }
  }
  const resampled = new Map<number, Float32Array | null>();
  const wordMap = (r: number) => {
    if (!resampled.has(r)) {
      resampled.set(r, resample(maps.subarray(r * n, (r + 1) * n), grid, size));
    }
    return resampled.get(r)!;
  };
  const mask = new Float32Array(width * height);
  let used = 0;
  for (const phrase of phrases) {
    const words = phrase.map(wordMap).filter((m) => m !== null);
    if (words.length === 0) continue;
    used++;
    for (let i = 0; i < mask.length; i++) {
      let product = 1;
      for (const m of words) product *= m[i];
      const v = words.length === 1 ? product : Math.pow(product, 1 / words.length);
      const m = clamp((v - band.low) / (band.high - band.low), 0, 1);
      if (m > mask[i]) mask[i] = m;
    }
  }
  if (used === 0) mask.fill(1);
  return mask;
}

/** A map on the token grid normalised by its range and resized bilinearly; null when flat. */
function resample(
  map: Float32Array,
  grid: { h: number; w: number },
  size: { width: number; height: number },
): Float32Array | null {
  const { h, w } = grid, { width, height } = size;
  let min = Infinity, max = -Infinity;
  for (const v of map) (min = Math.min(min, v), max = Math.max(max, v));
  if (!(max > min)) return null;
  const at = (y: number, x: number) => (map[y * w + x] - min) / (max - min);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const fy = clamp((y + 0.5) * h / height - 0.5, 0, h - 1), y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1), ay = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = clamp((x + 0.5) * w / width - 0.5, 0, w - 1), x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1), ax = fx - x0;
      out[y * width + x] = (1 - ay) * ((1 - ax) * at(y0, x0) + ax * at(y0, x1)) +
        ay * ((1 - ax) * at(y1, x0) + ax * at(y1, x1));
    }
  }
  return out;
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

/** The words whose maps make the edit mask, and how they group into phrases. */
export interface EditPhrases {
  /** Each word as (batch row, token range); every word once. */
  words: LocalBlendWord[];
  /** The phrases, as indices into `words`; no two alike. */
  phrases: number[][];
}

/**
 * The phrases that locate an edit. The changed words are, with as many words in both prompts (a
 * replace edit, as the cross-attention mapper has it when every word fits the tokens), each word
 * that differs, in the source row and in the target row; otherwise the target words the source
 * lacks (target row) and the source words the target lacks (source row). Each changed word brings
 * its phrase ({@link phraseAround}) in the same prompt and row: a word map follows the word, not
 * the object ("star" lights both stars of "a red star and a green star"), and its geometric mean
 * with the maps of "red" keeps the red one. A changed word past the encoded tokens is left out, as
 * are the phrase's other words past them.
 *
 * @param pieces the prompts' token pieces (`tokenizer.idToPiece` of the encoded ids)
 */
export function editPhrases(
  prompts: { source: string; target: string },
  pieces: { source: readonly string[]; target: readonly string[] },
  rows: { source: number; target: number },
): EditPhrases {
  const sw = promptWords(prompts.source), tw = promptWords(prompts.target);
  const index = (n: number) => Array.from({ length: n }, (_, i) => i);
  const swapped = index(sw.length).filter((i) => sw[i] !== tw[i]);
  const [changedSource, changedTarget] = sw.length === tw.length ? [swapped, swapped] : [
    index(sw.length).filter((i) => !tw.includes(sw[i])),
    index(tw.length).filter((i) => !sw.includes(tw[i])),
  ];
  const out: EditPhrases = { words: [], phrases: [] };
  const wordAt = new Map<string, number>(), phraseKeys = new Set<string>();
  const add = (row: number, words: string[], tokens: readonly string[], changed: number[]) => {
    const ranges = wordTokenRanges(tokens);
    for (const i of changed) {
      if (i >= ranges.length) continue;
      const phrase = phraseAround(words, i).filter((j) => j < ranges.length);
      const key = `${row}:${phrase.join(",")}`;
      if (phraseKeys.has(key)) continue;
      phraseKeys.add(key);
      out.phrases.push(phrase.map((j) => {
        const k = `${row}:${j}`;
        if (!wordAt.has(k)) {
          const [start, end] = wordTokenSpan(ranges[j]);
          wordAt.set(k, out.words.push({ row, start, end }) - 1);
        }
        return wordAt.get(k)!;
      }));
    }
  };
  add(rows.source, sw, pieces.source, changedSource);
  add(rows.target, tw, pieces.target, changedTarget);
  return out;
}

/** English words that join phrases rather than belong to them (T5 and its prompts are English). */
const LINK_WORDS = new Set(
  ("a an the and or but nor with without of on in at by to from for into onto over under above " +
    "below near beside behind between next against along across through while as is are was " +
    "were be it its this that these those there their his her my your our").split(" "),
);

/**
 * The indices of the phrase around word `i` of `words` (of {@link promptWords}): the run of words
 * between link words ("a", "and", "on", ...), ending after a word that ends in punctuation. A link
 * word is a phrase of its own.
 */
export function phraseAround(words: readonly string[], i: number): number[] {
  const bare = (w: string) => w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
  const isLink = (j: number) => LINK_WORDS.has(bare(words[j]));
  const endsClause = (j: number) => /[,.;:!?]$/.test(words[j]);
  if (isLink(i)) return [i];
  let first = i, last = i;
  while (first > 0 && !isLink(first - 1) && !endsClause(first - 1)) first--;
  while (last + 1 < words.length && !isLink(last + 1) && !endsClause(last)) last++;
  return Array.from({ length: last - first + 1 }, (_, k) => first + k);
}
