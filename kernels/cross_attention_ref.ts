// CPU reference for kernels/cross_attention.ts, on head-major arrays in f64.

/** Sizes of a head-major attention problem: q `[B, H, Sq, D]`, k and v `[Bk, H, Sk, D]`. */
export interface AttentionDims {
  batch: number;
  heads: number;
  sq: number;
  sk: number;
  dim: number;
  /** K/V batch entries (default `batch`). */
  kvCount?: number;
}

/** Options shared by the attention references (see `attentionProbs`). */
export interface AttentionRefOptions {
  scale?: number;
  /** `[H, Sq, Sk]`, or `[B, H, Sq, Sk]` when `biasPerBatch`. */
  bias?: ArrayLike<number>;
  biasPerBatch?: boolean;
  /** `[Bk, Sk]`; 0 masks a key. */
  keyMask?: ArrayLike<number>;
  kvBatch?: readonly number[];
}

/** softmax(Q Kᵀ · scale + bias) per head, `[B, H, Sq, Sk]`; masked keys 0, all-masked rows 0. */
export function attentionProbsRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  dims: AttentionDims,
  options: AttentionRefOptions = {},
): Float64Array {
  const { batch, heads, sq, sk, dim } = dims;
  const scale = options.scale ?? 1 / Math.sqrt(dim);
  const out = new Float64Array(batch * heads * sq * sk);
  const s = new Float64Array(sk);
  for (let b = 0; b < batch; b++) {
    const kb = options.kvBatch?.[b] ?? b;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < sq; i++) {
        let max = -Infinity;
        for (let j = 0; j < sk; j++) {
          if (options.keyMask && options.keyMask[kb * sk + j] === 0) {
            s[j] = -Infinity;
            continue;
          }
          let acc = 0;
          for (let d = 0; d < dim; d++) {
            acc += q[((b * heads + h) * sq + i) * dim + d] *
              k[((kb * heads + h) * sk + j) * dim + d];
          }
          acc *= scale;
          if (options.bias) {
            const bb = options.biasPerBatch ? b : 0;
            acc += options.bias[((bb * heads + h) * sq + i) * sk + j];
          }
          s[j] = acc;
          max = Math.max(max, acc);
        }
        const row = ((b * heads + h) * sq + i) * sk;
        if (max === -Infinity) continue; // every key masked: zeros
        let sum = 0;
        for (let j = 0; j < sk; j++) sum += s[j] === -Infinity ? 0 : Math.exp(s[j] - max);
        for (let j = 0; j < sk; j++) {
          out[row + j] = s[j] === -Infinity ? 0 : Math.exp(s[j] - max) / sum;
        }
      }
    }
  }
  return out;
}

/** probs `[B, H, Sq, Sk]` · V `[Bk, H, Sk, D]` → `[B, H, Sq, D]`. */
export function attendProbsRef(
  probs: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: AttentionDims,
  kvBatch?: readonly number[],
): Float64Array {
  const { batch, heads, sq, sk, dim } = dims;
  const out = new Float64Array(batch * heads * sq * dim);
  for (let b = 0; b < batch; b++) {
    const kb = kvBatch?.[b] ?? b;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < sq; i++) {
        const row = ((b * heads + h) * sq + i) * sk, o = ((b * heads + h) * sq + i) * dim;
        for (let j = 0; j < sk; j++) {
          const w = probs[row + j];
          if (w === 0) continue;
          const vr = ((kb * heads + h) * sk + j) * dim;
          for (let d = 0; d < dim; d++) out[o + d] += w * v[vr + d];
        }
      }
    }
  }
  return out;
}
