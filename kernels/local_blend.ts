// Prompt-to-Prompt LocalBlend masks (SPEC §8.4) in two small launches; CPU twin local_blend_ref.ts.
// `localBlendWordMaps` adds one block's cross-attention to running word maps: per chosen
// (batch row, word) the probabilities summed over heads and the word's tokens, one thread per
// image token. `localBlendMask` turns the maps into a latent mask in one workgroup: max-pool 3×3
// on the token grid, nearest upsample ×patch, keep where pooled > threshold·max of its row, OR
// over rows. Sums stand in for P2P's means: the max normalisation cancels any positive factor.

import { Tensor } from "../tensor/tensor.ts";
import type { DType } from "../tensor/dtype.ts";
import { isFloat } from "../tensor/dtype.ts";
import { grid1d, LINEAR_ID, MAIN_1D, WG_1D, withTypes } from "./_wgsl.ts";

/** Most (row, word) maps one call handles (uniform slots). */
export const LOCAL_BLEND_MAX_WORDS = 4;

const WORD_MAPS_WGSL = /* wgsl */ `
struct Word { row: u32, start: u32, end: u32, p0: u32 }
struct Params { n: u32, heads: u32, keys: u32, words: u32, w: array<Word, 4> }
@group(0) @binding(0) var<storage, read> probs: array<T>;
@group(0) @binding(1) var<storage, read> acc: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
override WG: u32 = 256;
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= p.words * p.n) { return; }
  let word = p.w[i / p.n];
  let token = i % p.n;
  var s = 0.0;
  for (var h = 0u; h < p.heads; h++) {
    let base = ((word.row * p.heads + h) * p.n + token) * p.keys;
    for (var t = word.start; t < word.end; t++) { s += f32(probs[base + t]); }
  }
  y[i] = acc[i] + s;
}`;

const MASK_WGSL = /* wgsl */ `
struct Params { rows: u32, h: u32, w: u32, cell: u32, threshold: f32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> maps: array<f32>;
@group(0) @binding(1) var<storage, read_write> mask: array<T>;
@group(0) @binding(2) var<uniform> p: Params;
var<workgroup> red: array<f32, 256>;
var<workgroup> cut: array<f32, 4>;
// max over the in-bounds 3×3 neighbourhood (max_pool2d with padding 1 pads with −∞)
fn pooled(r: u32, y: u32, x: u32) -> f32 {
  var m = 0.0;
  for (var yy = max(y, 1u) - 1u; yy <= min(y + 1u, p.h - 1u); yy++) {
    for (var xx = max(x, 1u) - 1u; xx <= min(x + 1u, p.w - 1u); xx++) {
      m = max(m, maps[(r * p.h + yy) * p.w + xx]);
    }
  }
  return m;
}
@compute @workgroup_size(256) fn main(@builtin(local_invocation_index) li: u32) {
  let n = p.h * p.w;
  // The max of the pooled map is the max of the map: no pooling needed for it.
  for (var r = 0u; r < p.rows; r++) {
    var m = 0.0;
    for (var i = li; i < n; i += 256u) { m = max(m, maps[r * n + i]); }
    red[li] = m;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
      if (li < s) { red[li] = max(red[li], red[li + s]); }
      workgroupBarrier();
    }
    // a row that is all zeros masks nothing
    if (li == 0u) { cut[r] = select(3.4e38, p.threshold * red[0], red[0] > 0.0); }
    workgroupBarrier();
  }
  let wl = p.w * p.cell;
  for (var j = li; j < n * p.cell * p.cell; j += 256u) {
    let y = (j / wl) / p.cell;
    let x = (j % wl) / p.cell;
    var on = false;
    for (var r = 0u; r < p.rows; r++) { on = on || pooled(r, y, x) > cut[r]; }
    mask[j] = T(select(0.0, 1.0, on));
  }
}`;

/** One word's tokens `[start, end)` in the caption of batch row `row`. */
export interface LocalBlendWord {
  row: number;
  start: number;
  end: number;
}

/**
 * Adds one block's word maps to running sums: `acc[r, i] + Σ_h Σ_{t ∈ word r} probs[row_r, h, i, t]`.
 *
 * @param probs cross-attention probabilities `[B, H, N, L]`, f32 or f16
 * @param acc running maps `[words.length, N]`, f32 (zeros to start)
 * @param words up to {@link LOCAL_BLEND_MAX_WORDS} (batch row, token range) pairs
 * @returns the new sums `[words.length, N]`, f32
 * @example
 * ```ts ignore
 * acc = localBlendWordMaps(probs, acc, [{ row: 0, start: 2, end: 3 }, { row: 2, start: 2, end: 4 }]);
 * ```
 */
export function localBlendWordMaps(
  probs: Tensor,
  acc: Tensor,
  words: readonly LocalBlendWord[],
): Tensor {
  const what = () => `probs ${probs} into maps ${acc}`;
  if (probs.shape.length !== 4 || !isFloat(probs.dtype)) {
    throw new TypeError(`Cannot sum word maps of ${what()}: probs must be [B, H, N, L] floats`);
  }
  const [b, heads, n, keys] = probs.shape;
  if (words.length < 1 || words.length > LOCAL_BLEND_MAX_WORDS) {
    throw new RangeError(
      `Cannot sum word maps of ${what()}: ${words.length} words, expected 1 to ` +
        `${LOCAL_BLEND_MAX_WORDS}`,
    );
  }
  if (
    acc.dtype !== "f32" || acc.shape.length !== 2 || acc.shape[0] !== words.length ||
    acc.shape[1] !== n
  ) {
    throw new TypeError(
      `Cannot sum word maps of ${what()}: maps must be f32 [${words.length}, ${n}]`,
    );
  }
  const params = new Uint32Array(4 + 4 * LOCAL_BLEND_MAX_WORDS);
  params.set([n, heads, keys, words.length]);
  words.forEach((w, k) => {
    const ok = [w.row, w.start, w.end].every(Number.isInteger) && w.row >= 0 && w.row < b &&
      w.start >= 0 && w.start <= w.end && w.end <= keys;
    if (!ok) {
      throw new RangeError(
        `Cannot sum word maps of ${what()}: word ${k} (row ${w.row}, tokens ${w.start}..${w.end}) ` +
          `is outside rows 0..${b - 1} and tokens 0..${keys}`,
      );
    }
    params.set([w.row, w.start, w.end, 0], 4 + 4 * k);
  });
  const gpu = probs.gpu;
  const out = Tensor.empty(gpu, acc.shape, "f32", "local_blend_maps");
  const program = {
    name: "local_blend_maps",
    wgsl: withTypes(gpu, WORD_MAPS_WGSL, { T: probs.dtype }),
    overrides: { WG: WG_1D },
  };
  gpu.dispatch(program, [probs, acc, out], grid1d(out.size), params);
  return out;
}

/** Options of {@link localBlendMask}. */
export interface LocalBlendMaskOptions {
  /** Token grid height and width (`maps` is `[rows, h·w]`). */
  h: number;
  w: number;
  /** Latent cells per token side (the transformer's patch size). */
  patch: number;
  /** Keep cells whose pooled value exceeds threshold × the row's max (P2P: 0.3). */
  threshold: number;
  /** Storage dtype of the mask (the latents'); default f32. */
  dtype?: DType;
}

/**
 * The LocalBlend mask: 1 where any row's 3×3-max-pooled map, nearest-upsampled ×patch, exceeds
 * `threshold` × that row's max; 0 elsewhere. A row that is all zeros masks nothing.
 *
 * @param maps word maps `[rows, h·w]` (rows ≤ 4), f32, non-negative
 * @param options grid, patch, threshold, dtype
 * @returns the mask `[1, 1, h·patch, w·patch]`, exactly 0 or 1
 * @example
 * ```ts ignore
 * const mask = localBlendMask(acc, { h: 32, w: 32, patch: 2, threshold: 0.3 }); // [1, 1, 64, 64]
 * ```
 */
export function localBlendMask(maps: Tensor, options: LocalBlendMaskOptions): Tensor {
  const { h, w, patch, threshold } = options;
  const dtype = options.dtype ?? "f32";
  const rows = maps.shape[0];
  if (
    maps.dtype !== "f32" || maps.shape.length !== 2 || rows < 1 ||
    rows > LOCAL_BLEND_MAX_WORDS || ![h, w, patch].every((v) => Number.isInteger(v) && v >= 1) ||
    maps.shape[1] !== h * w
  ) {
    throw new TypeError(
      `Cannot make a local-blend mask from maps ${maps} on a ${h}x${w} grid (patch ${patch}): ` +
        `expected f32 [1..${LOCAL_BLEND_MAX_WORDS}, ${h * w}]`,
    );
  }
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new RangeError(`Cannot make a local-blend mask: threshold ${threshold} is not in [0, 1]`);
  }
  if (!isFloat(dtype)) throw new TypeError(`Cannot make a local-blend mask of dtype ${dtype}`);
  const gpu = maps.gpu;
  const out = Tensor.empty(gpu, [1, 1, h * patch, w * patch], dtype, "local_blend_mask");
  const params = new ArrayBuffer(32);
  new Uint32Array(params, 0, 4).set([rows, h, w, patch]);
  new Float32Array(params, 16, 1)[0] = threshold;
  const program = { name: "local_blend_mask", wgsl: withTypes(gpu, MASK_WGSL, { T: dtype }) };
  gpu.dispatch(program, [maps, out], [1], new Uint8Array(params));
  return out;
}
