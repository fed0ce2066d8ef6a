// CPU reference for kernels/flash_attention.ts: the plain two-step definition in f64 (scores,
// softmax, weighted sum), on head-major arrays.

import {
  attendProbsRef,
  type AttentionDims,
  attentionProbsRef,
  type AttentionRefOptions,
} from "./cross_attention_ref.ts";

export type { AttentionDims, AttentionRefOptions };

/** softmax(Q Kᵀ · scale + bias) V on head-major `[B, H, S, D]` arrays → `[B, H, Sq, D]`. */
export function flashAttentionRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: AttentionDims,
  options: AttentionRefOptions = {},
): Float64Array {
  return attendProbsRef(attentionProbsRef(q, k, dims, options), v, dims, options.kvBatch);
}
