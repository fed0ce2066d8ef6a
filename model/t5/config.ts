// T5EncoderModel configuration from `text_encoder/config.json` (transformers T5Config; SPEC §3).

/** The encoder's configuration. */
export interface T5Config {
  dModel: number;
  dKv: number;
  numHeads: number;
  dFf: number;
  numLayers: number;
  vocabSize: number;
  relativeAttentionNumBuckets: number;
  relativeAttentionMaxDistance: number;
  layerNormEpsilon: number;
}

function int(json: Record<string, unknown>, key: string, fallback: number): number {
  const v = json[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new TypeError(
      `Cannot read text encoder config: "${key}" must be a number, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** Parses `text_encoder/config.json`; only the gated-GELU (v1.1) encoder is supported. */
export function parseT5Config(json: Record<string, unknown>): T5Config {
  const ff = json.feed_forward_proj ?? "relu";
  if (ff !== "gated-gelu") {
    throw new TypeError(
      `Cannot load text encoder: feed_forward_proj "${ff}" is not supported (need "gated-gelu")`,
    );
  }
  return {
    dModel: int(json, "d_model", 512),
    dKv: int(json, "d_kv", 64),
    numHeads: int(json, "num_heads", 8),
    dFf: int(json, "d_ff", 2048),
    numLayers: int(json, "num_layers", 6),
    vocabSize: int(json, "vocab_size", 32128),
    relativeAttentionNumBuckets: int(json, "relative_attention_num_buckets", 32),
    relativeAttentionMaxDistance: int(json, "relative_attention_max_distance", 128),
    layerNormEpsilon: int(json, "layer_norm_epsilon", 1e-6),
  };
}
