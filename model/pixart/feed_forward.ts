// ff of a PixArt block: ff.net.0.proj (C → 4C, GELU-tanh) then ff.net.2 (4C → C)
// (diffusers models/attention.py FeedForward with activation_fn "gelu-approximate").

import type { Tensor } from "../../tensor/tensor.ts";
import type { Weights } from "../../tensor/weights.ts";
import { Linear } from "../linear.ts";

/** The block's feed-forward network. */
export class FeedForward {
  constructor(readonly proj: Linear, readonly out: Linear) {}

  /** Loads `net.0.proj` and `net.2` under `w` (e.g. `transformer_blocks.3.ff`). */
  static async load(w: Weights, dim: number, inner = 4 * dim): Promise<FeedForward> {
    return new FeedForward(
      await Linear.load(w.sub("net.0.proj"), dim, inner),
      await Linear.load(w.sub("net.2"), inner, dim),
    );
  }

  /** x [B, N, C] → [B, N, C]. */
  forward(x: Tensor): Tensor {
    return this.out.forward(this.proj.forward(x, { activation: "gelu_tanh" }));
  }

  /** Frees the weights. */
  dispose(): void {
    this.proj.dispose();
    this.out.dispose();
  }
}
