// One T5 encoder block: layer.0 (RMSNorm + self-attention, no 1/√d scaling, shared relative bias)
// and layer.1 (RMSNorm + gated-GELU DenseReluDense) (transformers modeling_t5.py T5Block).

import type { Tensor } from "../../tensor/tensor.ts";
import type { Weights } from "../../tensor/weights.ts";
import { mul } from "../../kernels/binary.ts";
import { rmsNorm } from "../../kernels/rms_norm.ts";
import { flashAttention } from "../../kernels/flash_attention.ts";
import { linear, type LinearOptions } from "../../kernels/matmul.ts";
import { Linear } from "../linear.ts";
import type { T5Config } from "./config.ts";

/** encoder.block.{b}: self-attention and feed-forward sublayers with their norms. */
export class T5Block {
  constructor(
    readonly ln0: Tensor,
    readonly q: Linear,
    readonly k: Linear,
    readonly v: Linear,
    readonly o: Linear,
    readonly ln1: Tensor,
    readonly wi0: Linear,
    readonly wi1: Linear,
    readonly wo: Linear,
    readonly config: T5Config,
  ) {}

  /** Loads `encoder.block.{b}` (pass `w.sub("encoder.block.b")`). */
  static async load(w: Weights, config: T5Config): Promise<T5Block> {
    const d = config.dModel, inner = config.numHeads * config.dKv, ff = config.dFf;
    const att = w.sub("layer.0.SelfAttention"), dense = w.sub("layer.1.DenseReluDense");
    return new T5Block(
      await w.get("layer.0.layer_norm.weight", [d], "f32"),
      await Linear.load(att.sub("q"), d, inner, false),
      await Linear.load(att.sub("k"), d, inner, false),
      await Linear.load(att.sub("v"), d, inner, false),
      await Linear.load(att.sub("o"), inner, d, false),
      await w.get("layer.1.layer_norm.weight", [d], "f32"),
      await Linear.load(dense.sub("wi_0"), d, ff, false),
      await Linear.load(dense.sub("wi_1"), d, ff, false),
      // transformers keeps wo in f32 (_keep_in_fp32_modules): T5 v1.1 overflows f16 there
      new Linear(await dense.sub("wo").get("weight", [d, ff], "f32"), undefined),
      config,
    );
  }

  /**
   * h [B, L, d] → [B, L, d]; `bias` [H, L, L] relative positions, `keyMask` [B, L] (1 keep).
   * Weights are not packed (T5 runs only a few prompts an edit): each is staged in the matmul's
   * shared scratch textures instead of textures of its own that Linear would keep, a second copy
   * of the weights on the device (T5-XXL: 9.5 GB in f16).
   */
  forward(h: Tensor, bias: Tensor, keyMask: Tensor): Tensor {
    const eps = this.config.layerNormEpsilon, heads = this.config.numHeads;
    const lin = (l: Linear, x: Tensor, o: Omit<LinearOptions, "bias"> = {}) =>
      linear(x, l.weight, { ...o, bias: l.bias });
    const a = rmsNorm(h, this.ln0, { eps });
    // token-major [B, L, H·D] in and out; no 1/√d scaling in T5
    const att = flashAttention(lin(this.q, a), lin(this.k, a), lin(this.v, a), {
      heads,
      scale: 1,
      bias,
      keyMask,
    });
    h = lin(this.o, att, { residual: h });
    const f = rmsNorm(h, this.ln1, { eps });
    const gated = mul(lin(this.wi0, f, { activation: "gelu_tanh" }), lin(this.wi1, f));
    return lin(this.wo, gated, { residual: h });
  }

  /** Frees the weights. */
  dispose(): void {
    for (const t of [this.ln0, this.ln1]) t.dispose();
    for (const l of [this.q, this.k, this.v, this.o, this.wi0, this.wi1, this.wo]) l.dispose();
  }
}
