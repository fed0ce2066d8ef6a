// adaln_single: timestep embedding (+ resolution and aspect micro-conditions for 1024-MS) and the
// 6·C modulation (diffusers models/normalization.py AdaLayerNormSingle with
// PixArtAlphaCombinedTimestepSizeEmbeddings; SPEC §2.2 step 2).

import { Tensor } from "../../tensor/tensor.ts";
import type { Weights } from "../../tensor/weights.ts";
import type { Gpu } from "../../tensor/device.ts";
import { add } from "../../kernels/binary.ts";
import { silu } from "../../kernels/unary.ts";
import { concat } from "../../kernels/concat.ts";
import { Linear } from "../linear.ts";
import { timestepSinusoid } from "./embeddings.ts";
import type { PixArtConfig } from "./config.ts";

/** A Linear(256 → d), SiLU, Linear(d → d) embedder (diffusers TimestepEmbedding). */
class Mlp {
  constructor(readonly linear1: Linear, readonly linear2: Linear) {}
  static async load(w: Weights, out: number): Promise<Mlp> {
    return new Mlp(
      await Linear.load(w.sub("linear_1"), 256, out),
      await Linear.load(w.sub("linear_2"), out, out),
    );
  }
  forward(x: Tensor): Tensor {
    return this.linear2.forward(this.linear1.forward(x, { activation: "silu" }));
  }
  dispose(): void {
    this.linear1.dispose();
    this.linear2.dispose();
  }
}

/** Micro-conditions of the 1024-MS model: image size in pixels after binning. */
export interface MicroConditions {
  height: number;
  width: number;
}

/** The adaln_single module. */
export class AdaLayerNormSingle {
  constructor(
    readonly timestepEmbedder: Mlp,
    readonly resolutionEmbedder: Mlp | undefined,
    readonly aspectRatioEmbedder: Mlp | undefined,
    readonly linear: Linear,
  ) {}

  /** Loads `adaln_single.*` (pass `w.sub("adaln_single")`). */
  static async load(w: Weights, config: PixArtConfig): Promise<AdaLayerNormSingle> {
    const c = config.innerDim, emb = w.sub("emb");
    const size = Math.floor(c / 3);
    const extra = config.useAdditionalConditions;
    return new AdaLayerNormSingle(
      await Mlp.load(emb.sub("timestep_embedder"), c),
      extra ? await Mlp.load(emb.sub("resolution_embedder"), size) : undefined,
      extra ? await Mlp.load(emb.sub("aspect_ratio_embedder"), size) : undefined,
      await Linear.load(w.sub("linear"), c, 6 * c),
    );
  }

  /** Returns t6 [B, 6C] and the embedded timestep e_t [B, C] for timesteps (one per row). */
  forward(
    gpu: Gpu,
    timesteps: readonly number[],
    micro?: MicroConditions,
  ): { t6: Tensor; embedded: Tensor } {
    const b = timesteps.length;
    let e = this.timestepEmbedder.forward(Tensor.from(gpu, timestepSinusoid(timesteps), [b, 256]));
    if (this.resolutionEmbedder && this.aspectRatioEmbedder) {
      if (!micro) {
        throw new TypeError(
          "Cannot run the transformer: this model needs the image size (micro-conditions)",
        );
      }
      const sizes = Array.from({ length: b }, () => [micro.height, micro.width]).flat();
      const res = this.resolutionEmbedder.forward(
        Tensor.from(gpu, timestepSinusoid(sizes), [2 * b, 256]),
      );
      const ar = this.aspectRatioEmbedder.forward(
        Tensor.from(gpu, timestepSinusoid(new Array(b).fill(micro.height / micro.width)), [b, 256]),
      );
      e = add(e, concat([res.reshape([b, -1]), ar], 1));
    }
    return { t6: this.linear.forward(silu(e)), embedded: e };
  }

  /** Frees the weights. */
  dispose(): void {
    this.timestepEmbedder.dispose();
    this.resolutionEmbedder?.dispose();
    this.aspectRatioEmbedder?.dispose();
    this.linear.dispose();
  }
}
