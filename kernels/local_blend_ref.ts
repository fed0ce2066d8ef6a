// CPU reference for kernels/local_blend.ts, written as P2P's LocalBlend reads: word maps summed
// over heads and tokens, max_pool2d 3×3 (padding 1), nearest interpolate, divide by the max,
// `> threshold`, OR over rows. Sums round to f32 in the kernel's order, and the threshold test is
// `pooled > f32(threshold·max)`, so masks match the kernel exactly.

import type { LocalBlendWord } from "./local_blend.ts";

const f32 = Math.fround;

/** `acc[r, i] + Σ_h Σ_{t ∈ word r} probs[row_r, h, i, t]` for probs `[B, H, N, L]`. */
export function localBlendWordMapsRef(
  probs: ArrayLike<number>,
  dims: { heads: number; n: number; keys: number },
  acc: ArrayLike<number>,
  words: readonly LocalBlendWord[],
): Float32Array {
  const { heads, n, keys } = dims;
  const out = new Float32Array(words.length * n);
  words.forEach((w, r) => {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let h = 0; h < heads; h++) {
        const base = ((w.row * heads + h) * n + i) * keys;
        for (let t = w.start; t < w.end; t++) s = f32(s + probs[base + t]);
      }
      out[r * n + i] = f32(acc[r * n + i] + s);
    }
  });
  return out;
}

/** The mask `[h·patch, w·patch]` (0 or 1) of maps `[rows, h·w]`. */
export function localBlendMaskRef(
  maps: ArrayLike<number>,
  rows: number,
  grid: { h: number; w: number; patch: number },
  threshold: number,
): Float32Array {
  const { h, w, patch } = grid, n = h * w;
  const hl = h * patch, wl = w * patch;
  const out = new Float32Array(hl * wl);
  for (let r = 0; r < rows; r++) {
    const map = Array.from({ length: n }, (_, i) => maps[r * n + i]);
    const max = Math.max(...map);
    if (!(max > 0)) continue;
    const pooled = map.map((_, i) => {
      const y = Math.floor(i / w), x = i % w;
      let m = -Infinity;
      for (let yy = y - 1; yy <= y + 1; yy++) {
        for (let xx = x - 1; xx <= x + 1; xx++) {
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) m = Math.max(m, map[yy * w + xx]);
        }
      }
      return m;
    });
    const cut = f32(f32(threshold) * max);
    for (let j = 0; j < hl * wl; j++) {
      const y = Math.floor(Math.floor(j / wl) / patch), x = Math.floor((j % wl) / patch);
      if (pooled[y * w + x] > cut) out[j] = 1;
    }
  }
  return out;
}
