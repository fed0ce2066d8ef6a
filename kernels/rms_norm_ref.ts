// CPU reference for kernels/rms_norm.ts (f64).

/** T5 RMSNorm over rows of length `cols`: `x / sqrt(mean(x²) + eps) · weight`. */
export function rmsNormRef(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  cols: number,
  eps = 1e-6,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += cols) {
    let q = 0;
    for (let c = 0; c < cols; c++) q += x[base + c] ** 2;
    const rstd = 1 / Math.sqrt(q / cols + eps);
    for (let c = 0; c < cols; c++) out[base + c] = x[base + c] * rstd * weight[c];
  }
  return out;
}
