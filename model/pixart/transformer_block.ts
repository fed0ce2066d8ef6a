// transformer_blocks.{l}: diffusers BasicTransformerBlock with norm_type "ada_norm_single"
// (SPEC §2.4): modulated self-attention with a gate, ungated cross-attention on the unnormalised
// tokens, modulated feed-forward with a gate. norm1/norm2 have no weights (no affine).

import type { Tensor } from "../../tensor/tensor.ts";
import type { Weights } from "../../tensor/weights.ts";
import { add, mul } from "../../kernels/binary.ts";
import { permute } from "../../kernels/permute.ts";
import { layerNorm } from "../../kernels/layer_norm.ts";
import { tomePlan } from "../../kernels/tome_plan.ts";
import { tomeMerge, tomeUnmerge } from "../../kernels/tome_merge.ts";
import { Attention, type SelfAttentionControl } from "./attention.ts";
import { FeedForward } from "./feed_forward.ts";
import type { PixArtConfig } from "./config.ts";

/** Per-block hooks of the editing pipeline (SPEC §8); all optional. */
export interface BlockControl {
  /** Query/key/value batch mapping for attn1. */
  self?: SelfAttentionControl;
  /** Replaces attn2's probabilities [B, H, N, L]. */
  crossProbs?: (probs: Tensor) => Tensor;
  /**
   * ToMe patch merging around attn1 (SPEC §9.2): one plan from batch row 0's block input serves
   * every row, so source and target tokens keep corresponding.
   */
  merge?: { h: number; w: number; ratio: number; seed?: number };
}

/** One PixArt transformer block. */
export class TransformerBlock {
  constructor(
    readonly scaleShiftTable: Tensor, // [6, C]
    readonly attn1: Attention,
    readonly attn2: Attention,
    readonly ff: FeedForward,
    readonly eps: number,
  ) {}

  /** Loads `transformer_blocks.{l}` (pass `w.sub("transformer_blocks.l")`). */
  static async load(w: Weights, config: PixArtConfig): Promise<TransformerBlock> {
    const c = config.innerDim, heads = config.numAttentionHeads;
    return new TransformerBlock(
      await w.get("scale_shift_table", [6, c], "f32"),
      await Attention.load(w.sub("attn1"), c, heads),
      await Attention.load(w.sub("attn2"), c, heads),
      await FeedForward.load(w.sub("ff"), c),
      config.normEps,
    );
  }

  /**
   * x [B, N, C], t6 [B, 6C] from adaln_single, caption [B, L, C] (projected), captionMask [B, L].
   */
  forward(
    x: Tensor,
    t6: Tensor,
    caption: Tensor,
    captionMask: Tensor,
    control: BlockControl = {},
  ): Tensor {
    const [b, , c] = x.shape;
    // (shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp), each [B, 1, C]
    const mod = permute(add(t6.reshape([b, 6, c]), this.scaleShiftTable), [1, 0, 2]); // [6, B, C]
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = [0, 1, 2, 3, 4, 5].map((k) =>
      mod.slice(k, k + 1).reshape([b, 1, c])
    );
    const a = layerNorm(x, { eps: this.eps, shift: shiftMsa, scale: scaleMsa });
    let attn: Tensor;
    if (control.merge && control.merge.ratio > 0) {
      const plan = tomePlan(x.slice(0, 1), control.merge);
      attn = tomeUnmerge(this.attn1.self(tomeMerge(a, plan), control.self), plan);
    } else attn = this.attn1.self(a, control.self);
    x = add(x, mul(gateMsa, attn));
    x = this.attn2.cross(x, caption, captionMask, x, control.crossProbs);
    const f = layerNorm(x, { eps: this.eps, shift: shiftMlp, scale: scaleMlp });
    return add(x, mul(gateMlp, this.ff.forward(f)));
  }

  /** Frees the weights. */
  dispose(): void {
    this.scaleShiftTable.dispose();
    this.attn1.dispose();
    this.attn2.dispose();
    this.ff.dispose();
  }
}
