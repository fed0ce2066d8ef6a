// PixArtTransformer2DModel configuration, read from the checkpoint's `transformer/config.json`
// (SPEC §2.1). Defaults follow diffusers' constructor; derived values are computed here once.

/** The transformer's configuration with defaults filled in. */
export interface PixArtConfig {
  numAttentionHeads: number;
  attentionHeadDim: number;
  /** numAttentionHeads · attentionHeadDim. */
  innerDim: number;
  numLayers: number;
  inChannels: number;
  outChannels: number;
  patchSize: number;
  /** Latent side the model was trained at. */
  sampleSize: number;
  crossAttentionDim: number;
  captionChannels: number;
  normEps: number;
  /** Position-embedding interpolation scale (absent: max(sampleSize / 64, 1)). */
  interpolationScale: number;
  /** Resolution and aspect micro-conditions (absent: sampleSize == 128). */
  useAdditionalConditions: boolean;
}

function num(json: Record<string, unknown>, key: string, fallback?: number): number {
  const v = json[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new TypeError(
      `Cannot read transformer config: "${key}" must be a number, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** Parses `transformer/config.json`; throws a TypeError naming a bad or unsupported key. */
export function parsePixArtConfig(json: Record<string, unknown>): PixArtConfig {
  const norm = json.norm_type ?? "ada_norm_single";
  if (norm !== "ada_norm_single") {
    throw new TypeError(
      `Cannot load transformer: norm_type "${norm}" is not supported (need "ada_norm_single")`,
    );
  }
  const act = json.activation_fn ?? "gelu-approximate";
  if (act !== "gelu-approximate") {
    throw new TypeError(`Cannot load transformer: activation_fn "${act}" is not supported`);
  }
  const heads = num(json, "num_attention_heads", 16);
  const headDim = num(json, "attention_head_dim", 72);
  const sampleSize = num(json, "sample_size", 128);
  const inChannels = num(json, "in_channels", 4);
  const config: PixArtConfig = {
    numAttentionHeads: heads,
    attentionHeadDim: headDim,
    innerDim: heads * headDim,
    numLayers: num(json, "num_layers", 28),
    inChannels,
    outChannels: json.out_channels == null ? inChannels : num(json, "out_channels"),
    patchSize: num(json, "patch_size", 2),
    sampleSize,
    crossAttentionDim: num(json, "cross_attention_dim", heads * headDim),
    captionChannels: num(json, "caption_channels", 4096),
    normEps: num(json, "norm_eps", 1e-6),
    interpolationScale: json.interpolation_scale == null
      ? Math.max(Math.floor(sampleSize / 64), 1)
      : num(json, "interpolation_scale"),
    useAdditionalConditions: json.use_additional_conditions == null
      ? sampleSize === 128
      : Boolean(json.use_additional_conditions),
  };
  if (config.crossAttentionDim !== config.innerDim) {
    throw new TypeError(
      `Cannot load transformer: cross_attention_dim ${config.crossAttentionDim} must equal ` +
        `heads × head dim ${config.innerDim}`,
    );
  }
  return config;
}
