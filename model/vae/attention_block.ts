// The VAE mid-block attention (diffusers Attention with group_norm, one head over all channels,
// residual connection; SPEC §5.1). Legacy key names (query/key/value/proj_attn) are accepted.

import type { Tensor } from "../../tensor/tensor.ts";
import type { Weights } from "../../tensor/weights.ts";
import { permute } from "../../kernels/permute.ts";
import { flashAttention } from "../../kernels/flash_attention.ts";
import { Linear } from "../linear.ts";
import { GroupNormParams } from "./resnet_block.ts";

const LEGACY: Record<string, string> = {
  to_q: "query",
  to_k: "key",
  to_v: "value",
  "to_out.0": "proj_attn",
};

/** mid_block.attentions.0 */
export class VaeAttention {
  constructor(
    readonly groupNorm: GroupNormParams,
    readonly toQ: Linear,
    readonly toK: Linear,
    readonly toV: Linear,
    readonly toOut: Linear,
  ) {}

  /** Loads `mid_block.attentions.0` over `channels`. */
  static async load(w: Weights, channels: number, groups: number): Promise<VaeAttention> {
    const lin = (name: string) =>
      Linear.load(w.sub(w.has(`${name}.weight`) ? name : LEGACY[name]), channels, channels);
    return new VaeAttention(
      await GroupNormParams.load(w.sub("group_norm"), channels, groups),
      await lin("to_q"),
      await lin("to_k"),
      await lin("to_v"),
      await lin("to_out.0"),
    );
  }

  /** x [B, C, H, W] → x + Attention(GN(x)) over the H·W positions. */
  forward(x: Tensor): Tensor {
    const [b, c, h, w] = x.shape;
    const tokens = permute(this.groupNorm.forward(x).reshape([b, c, h * w]), [0, 2, 1]); // [B, HW, C]
    const q = this.toQ.forward(tokens), k = this.toK.forward(tokens), v = this.toV.forward(tokens);
    const o = flashAttention(q, k, v, { heads: 1 }); // [B, HW, C]
    const residual = permute(x.reshape([b, c, h * w]), [0, 2, 1]);
    const y = this.toOut.forward(o, { residual }); // [B, HW, C]
    return permute(y, [0, 2, 1]).reshape([b, c, h, w]);
  }

  dispose(): void {
    this.groupNorm.dispose();
    for (const l of [this.toQ, this.toK, this.toV, this.toOut]) l.dispose();
  }
}
