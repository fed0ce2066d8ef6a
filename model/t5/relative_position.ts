// T5's bidirectional relative-position buckets and the [H, L, L] bias table built from
// `relative_attention_bias.weight` [buckets, H] on the host (transformers modeling_t5.py
// T5Attention._relative_position_bucket; SPEC §3.1). The log branch is rounded to f32 at each
// step as torch computes it, so bucket edges fall exactly where PyTorch puts them.

const f = Math.fround;

/** Bucket of `rel = key − query` for an encoder (bidirectional) with `numBuckets` buckets. */
export function relativePositionBucket(
  rel: number,
  numBuckets: number,
  maxDistance: number,
): number {
  const half = numBuckets / 2;
  let bucket = rel > 0 ? half : 0;
  const n = Math.abs(rel);
  const maxExact = half / 2;
  if (n < maxExact) return bucket + n;
  const scaled = f(
    f(f(Math.log(f(n / maxExact))) / f(Math.log(maxDistance / maxExact))) * (half - maxExact),
  );
  bucket += Math.min(maxExact + Math.trunc(scaled), half - 1);
  return bucket;
}

/** The bias [H, L, L] with bias[h, i, j] = table[bucket(j − i), h], table [numBuckets, H]. */
export function relativePositionBias(
  table: Float32Array,
  heads: number,
  length: number,
  numBuckets: number,
  maxDistance: number,
): Float32Array {
  const out = new Float32Array(heads * length * length);
  for (let i = 0; i < length; i++) {
    for (let j = 0; j < length; j++) {
      const b = relativePositionBucket(j - i, numBuckets, maxDistance);
      for (let h = 0; h < heads; h++) out[(h * length + i) * length + j] = table[b * heads + h];
    }
  }
  return out;
}
