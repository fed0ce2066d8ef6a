// CPU reference for kernels/layer_norm.ts (f64, two-pass statistics).

/** Optional operands of `layerNormRef`; `shift`/`scale` hold `modRows` rows of `cols`. */
export interface LayerNormRefOptions {
  eps?: number;
  weight?: ArrayLike<number>;
  bias?: ArrayLike<number>;
  shift?: ArrayLike<number>;
  scale?: ArrayLike<number>;
  /** Rows of x that share one shift/scale row (N for x [B,N,C] and shift [B,1,C]). */
  tokens?: number;
}

/** LayerNorm over rows of length `cols`, then `·(1 + scale) + shift` (row r uses r / tokens). */
export function layerNormRef(
  x: ArrayLike<number>,
  cols: number,
  options: LayerNormRefOptions = {},
): Float64Array {
  const { eps = 1e-6, weight, bias, shift, scale } = options;
  const rows = x.length / cols, tokens = options.tokens ?? rows;
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols, m = Math.floor(r / tokens) * cols;
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[base + c];
    const mean = s / cols;
    let q = 0;
    for (let c = 0; c < cols; c++) q += (x[base + c] - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / cols + eps);
    for (let c = 0; c < cols; c++) {
      let h = (x[base + c] - mean) * rstd;
      if (weight) h *= weight[c];
      if (bias) h += bias[c];
      if (scale) h *= 1 + scale[m + c];
      if (shift) h += shift[m + c];
      out[base + c] = h;
    }
  }
  return out;
}
