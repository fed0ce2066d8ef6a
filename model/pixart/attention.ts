// attn1 (self) and attn2 (cross) of a PixArt BasicTransformerBlock: to_q, to_k, to_v, to_out.0,
// all [C, C] with bias (diffusers models/attention_processor.py Attention + AttnProcessor2_0).
// Hooks let the editing pipeline swap queries, share keys/values across batch rows and edit
// cross-attention probabilities (SPEC §8) without the model knowing about editing.

import { Tensor } from "../../tensor/tensor.ts";
import type { Weights } from "../../tensor/weights.ts";
import { gatherRows } from "../../kernels/gather_rows.ts";
import { flashAttention } from "../../kernels/flash_attention.ts";
import { attendProbs, attentionProbs } from "../../kernels/cross_attention.ts";
import { Linear } from "../linear.ts";

/** What the editing pipeline may change inside one attention call. */
export interface SelfAttentionControl {
  /** Per batch row, the row whose queries to use instead (MasaCtrl/DiT4Edit query switch). */
  qBatch?: readonly number[];
  /** Per batch row, the row whose keys and values to attend to (mutual self-attention). */
  kvBatch?: readonly number[];
  /**
   * With kvBatch: attend to the kvBatch row's keys and values followed by the row's own, [K_kv; K]
   * (MasaCtrl's MutualSelfAttentionControlUnion), rather than to the kvBatch row's alone.
   */
  union?: boolean;
}

/** One diffusers Attention module with its four projections. */
export class Attention {
  constructor(
    readonly toQ: Linear,
    readonly toK: Linear,
    readonly toV: Linear,
    readonly toOut: Linear,
    readonly heads: number,
  ) {}

  /** Loads `to_q`, `to_k`, `to_v`, `to_out.0` under `w` (e.g. `transformer_blocks.3.attn1`). */
  static async load(w: Weights, dim: number, heads: number): Promise<Attention> {
    return new Attention(
      await Linear.load(w.sub("to_q"), dim, dim),
      await Linear.load(w.sub("to_k"), dim, dim),
      await Linear.load(w.sub("to_v"), dim, dim),
      await Linear.load(w.sub("to_out.0"), dim, dim),
      heads,
    );
  }

  /** Self-attention over tokens x [B, N, C]; `residual` is added in to_out's epilogue. */
  self(x: Tensor, control: SelfAttentionControl = {}, residual?: Tensor): Tensor {
    let q = this.toQ.forward(x); // [B, N, C], token-major: the kernel reads heads by stride
    const k = this.toK.forward(x), v = this.toV.forward(x);
    if (control.qBatch) {
      q = gatherRows(q, Tensor.from(x.gpu, new Int32Array(control.qBatch), [q.shape[0]]));
    }
    const o = flashAttention(q, k, v, {
      heads: this.heads,
      kvBatch: control.kvBatch,
      union: control.union && control.kvBatch !== undefined,
    });
    return this.toOut.forward(o, { residual });
  }

  /**
   * Cross-attention of x [B, N, C] to the projected caption [B, L, C] with a key mask [B, L]
   * (1 keep, 0 masked). `editProbs` may replace the probabilities [B, H, N, L] (Prompt-to-Prompt).
   */
  cross(
    x: Tensor,
    context: Tensor,
    keyMask: Tensor,
    residual?: Tensor,
    editProbs?: (probs: Tensor) => Tensor,
  ): Tensor {
    const heads = this.heads;
    const q = this.toQ.forward(x), k = this.toK.forward(context), v = this.toV.forward(context);
    let probs = attentionProbs(q, k, { heads, keyMask }); // [B, H, N, L]
    if (editProbs) probs = editProbs(probs);
    return this.toOut.forward(attendProbs(probs, v, { heads }), { residual }); // [B, N, C]
  }

  /** Frees the weights. */
  dispose(): void {
    for (const l of [this.toQ, this.toK, this.toV, this.toOut]) l.dispose();
  }
}
