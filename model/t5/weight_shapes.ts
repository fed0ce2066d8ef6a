// Every key of a T5EncoderModel checkpoint with its shape (SPEC §3.2), derived from the config: used
// to make random-weight encoders (T5-XXL width without a 9.5 GB file) for benchmarks and tests.

import type { T5Config } from "./config.ts";

/** Checkpoint keys → shapes ([out, in] for Linear weights) for a config. */
export function t5WeightShapes(config: T5Config): Map<string, number[]> {
  const d = config.dModel, inner = config.numHeads * config.dKv, ff = config.dFf;
  const s = new Map<string, number[]>();
  s.set("shared.weight", [config.vocabSize, d]);
  for (let b = 0; b < config.numLayers; b++) {
    const p = `encoder.block.${b}.layer`;
    for (const x of ["q", "k", "v"]) s.set(`${p}.0.SelfAttention.${x}.weight`, [inner, d]);
    s.set(`${p}.0.SelfAttention.o.weight`, [d, inner]);
    if (b === 0) {
      s.set(`${p}.0.SelfAttention.relative_attention_bias.weight`, [
        config.relativeAttentionNumBuckets,
        config.numHeads,
      ]);
    }
    s.set(`${p}.0.layer_norm.weight`, [d]);
    s.set(`${p}.1.DenseReluDense.wi_0.weight`, [ff, d]);
    s.set(`${p}.1.DenseReluDense.wi_1.weight`, [ff, d]);
    s.set(`${p}.1.DenseReluDense.wo.weight`, [d, ff]);
    s.set(`${p}.1.layer_norm.weight`, [d]);
  }
  s.set("encoder.final_layer_norm.weight", [d]);
  return s;
}
