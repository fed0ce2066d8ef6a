// AutoencoderKL configuration from `vae/config.json` (diffusers autoencoder_kl.py; SPEC §5).

/** The VAE's configuration. */
export interface VaeConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  latentChannels: number;
  normNumGroups: number;
  scalingFactor: number;
  shiftFactor: number;
  useQuantConv: boolean;
  usePostQuantConv: boolean;
  midBlockAddAttention: boolean;
  /** 2^(len(blockOutChannels) − 1): pixels per latent cell. */
  scale: number;
}

/** Parses `vae/config.json`; only the SD-style encoder/decoder blocks are supported. */
export function parseVaeConfig(json: Record<string, unknown>): VaeConfig {
  const channels = (json.block_out_channels ?? [64]) as number[];
  if (
    !Array.isArray(channels) || channels.length === 0 || channels.some((c) => !Number.isInteger(c))
  ) {
    throw new TypeError(
      `Cannot read vae config: block_out_channels ${
        JSON.stringify(channels)
      } is not a list of integers`,
    );
  }
  for (
    const [key, want] of [["down_block_types", "DownEncoderBlock2D"], [
      "up_block_types",
      "UpDecoderBlock2D",
    ]]
  ) {
    const types = json[key] as string[] | undefined;
    if (types && types.some((t) => t !== want)) {
      throw new TypeError(
        `Cannot load vae: ${key} ${JSON.stringify(types)} is not supported (need ${want})`,
      );
    }
  }
  const act = json.act_fn ?? "silu";
  if (act !== "silu") throw new TypeError(`Cannot load vae: act_fn "${act}" is not supported`);
  const n = (k: string, d: number) => (typeof json[k] === "number" ? json[k] as number : d);
  return {
    inChannels: n("in_channels", 3),
    outChannels: n("out_channels", 3),
    blockOutChannels: channels,
    layersPerBlock: n("layers_per_block", 1),
    latentChannels: n("latent_channels", 4),
    normNumGroups: n("norm_num_groups", 32),
    scalingFactor: n("scaling_factor", 0.18215),
    shiftFactor: n("shift_factor", 0),
    useQuantConv: json.use_quant_conv !== false,
    usePostQuantConv: json.use_post_quant_conv !== false,
    midBlockAddAttention: json.mid_block_add_attention !== false,
    scale: 2 ** (channels.length - 1),
  };
}
