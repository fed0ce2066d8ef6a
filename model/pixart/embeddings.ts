// Host-side tables of the PixArt transformer: the 2-D sin-cos position embedding (SPEC §2.3) and
// the 256-channel timestep sinusoid (SPEC §2.2), rounded as diffusers computes them (f32 positions
// and products, then f64 sin/cos), because WGSL sin/cos lose accuracy at ~2000 rad.
// Reference: diffusers models/embeddings.py get_2d_sincos_pos_embed, get_timestep_embedding.

const f = Math.fround;

/**
 * Sin-cos position table for an h×w token grid: [h·w, dim] row-major, token n = i·w + j. The first
 * half encodes the column x_j, the second the row y_i, each as [sin | cos] over dim/4 frequencies.
 */
export function sincosPosEmbed(
  dim: number,
  h: number,
  w: number,
  baseSize: number,
  interpolationScale: number,
): Float32Array {
  if (dim % 4 !== 0) {
    throw new RangeError(`Cannot build a sin-cos table of width ${dim}: not a multiple of 4`);
  }
  const q = dim / 4;
  const omega = new Float64Array(q);
  for (let k = 0; k < q; k++) omega[k] = 1 / 10000 ** (k / q);
  const out = new Float32Array(h * w * dim);
  for (let i = 0; i < h; i++) {
    const y = f(f(i / f(h / baseSize)) / interpolationScale);
    for (let j = 0; j < w; j++) {
      const x = f(f(j / f(w / baseSize)) / interpolationScale);
      const row = (i * w + j) * dim;
      for (let k = 0; k < q; k++) {
        out[row + k] = Math.sin(x * omega[k]);
        out[row + q + k] = Math.cos(x * omega[k]);
        out[row + 2 * q + k] = Math.sin(y * omega[k]);
        out[row + 3 * q + k] = Math.cos(y * omega[k]);
      }
    }
  }
  return out;
}

/**
 * Timestep sinusoids [values.length, 256]: cos first then sin (flip_sin_to_cos, shift 0), with the
 * frequencies and products rounded to f32 as torch forms them.
 */
export function timestepSinusoid(values: readonly number[], channels = 256): Float32Array {
  const half = channels / 2;
  const out = new Float32Array(values.length * channels);
  for (let b = 0; b < values.length; b++) {
    const t = f(values[b]);
    for (let k = 0; k < half; k++) {
      const freq = f(Math.exp(f(f(f(-Math.log(10000)) * k) / half)));
      const arg = f(t * freq);
      out[b * channels + k] = Math.cos(arg);
      out[b * channels + half + k] = Math.sin(arg);
    }
  }
  return out;
}
