// Every key of a PixArtTransformer2DModel checkpoint with its shape (SPEC §2.5), derived from the
// config: used to make random-weight models for benchmarks and to explain missing keys.

import type { PixArtConfig } from "./config.ts";

/** Checkpoint keys → shapes for a config. */
export function pixartWeightShapes(config: PixArtConfig): Map<string, number[]> {
  const c = config.innerDim, p = config.patchSize, s = new Map<string, number[]>();
  const linear = (name: string, inF: number, outF: number) => {
    s.set(`${name}.weight`, [outF, inF]);
    s.set(`${name}.bias`, [outF]);
  };
  s.set("pos_embed.proj.weight", [c, config.inChannels, p, p]);
  s.set("pos_embed.proj.bias", [c]);
  linear("caption_projection.linear_1", config.captionChannels, c);
  linear("caption_projection.linear_2", c, c);
  linear("adaln_single.emb.timestep_embedder.linear_1", 256, c);
  linear("adaln_single.emb.timestep_embedder.linear_2", c, c);
  if (config.useAdditionalConditions) {
    const size = Math.floor(c / 3);
    for (const e of ["resolution_embedder", "aspect_ratio_embedder"]) {
      linear(`adaln_single.emb.${e}.linear_1`, 256, size);
      linear(`adaln_single.emb.${e}.linear_2`, size, size);
    }
  }
  linear("adaln_single.linear", c, 6 * c);
  for (let l = 0; l < config.numLayers; l++) {
    const b = `transformer_blocks.${l}`;
    s.set(`${b}.scale_shift_table`, [6, c]);
    for (const a of ["attn1", "attn2"]) {
      for (const proj of ["to_q", "to_k", "to_v", "to_out.0"]) linear(`${b}.${a}.${proj}`, c, c);
    }
    linear(`${b}.ff.net.0.proj`, c, 4 * c);
    linear(`${b}.ff.net.2`, 4 * c, c);
  }
  s.set("scale_shift_table", [2, c]);
  linear("proj_out", c, p * p * config.outChannels);
  return s;
}
