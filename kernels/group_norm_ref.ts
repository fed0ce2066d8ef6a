// CPU reference for kernels/group_norm.ts (f64, two-pass statistics).

/**
 * GroupNorm of NCHW `x` with `batch` images of `channels` planes of `hw` values: statistics per
 * (image, group of channels/groups planes), then `·weight[c] + bias[c]`, then SiLU if `silu`.
 */
export function groupNormRef(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  shape: { batch: number; channels: number; hw: number },
  options: { groups: number; eps?: number; silu?: boolean },
): Float64Array {
  const { batch, channels, hw } = shape;
  const { groups, eps = 1e-6, silu = false } = options;
  const cpg = channels / groups, len = cpg * hw;
  const out = new Float64Array(x.length);
  for (let g = 0; g < batch * groups; g++) {
    const base = g * len;
    let s = 0;
    for (let i = 0; i < len; i++) s += x[base + i];
    const mean = s / len;
    let q = 0;
    for (let i = 0; i < len; i++) q += (x[base + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / len + eps);
    for (let i = 0; i < len; i++) {
      const c = (g % groups) * cpg + Math.floor(i / hw);
      const v = (x[base + i] - mean) * rstd * weight[c] + bias[c];
      out[base + i] = silu ? v / (1 + Math.exp(-v)) : v;
    }
  }
  return out;
}
