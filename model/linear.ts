// torch.nn.Linear as checkpoints store it: `weight` [out, in], optional `bias` [out].

import type { Tensor } from "../tensor/tensor.ts";
import type { Weights } from "../tensor/weights.ts";
import { keep } from "../tensor/scope.ts";
import { linear, type LinearOptions, type PackedWeight, packWeight } from "../kernels/matmul.ts";

/** A loaded Linear layer; `forward` fuses an activation and a residual add when asked. */
export class Linear {
  #packed: PackedWeight | undefined;

  constructor(readonly weight: Tensor, readonly bias: Tensor | undefined) {}

  /** Loads `<w.prefix>weight` [outF, inF] and, with `bias`, `<w.prefix>bias` [outF]. */
  static async load(w: Weights, inF: number, outF: number, bias = true): Promise<Linear> {
    const weight = await w.get("weight", [outF, inF]);
    return new Linear(weight, bias ? await w.get("bias", [outF]) : undefined);
  }

  /** x [..., in] → [..., out]. */
  forward(x: Tensor, options: Omit<LinearOptions, "bias"> = {}): Tensor {
    // Packed on first use and kept: on CPU adapters an unpacked weight is repacked into textures
    // by every call (a quarter of a small DiT's forward); elsewhere packing only wraps the tensor.
    this.#packed ??= keep(packWeight(this.weight));
    return linear(x, this.#packed, { ...options, bias: this.bias });
  }

  /** Frees the weights. */
  dispose(): void {
    this.#packed?.dispose();
    this.#packed = undefined;
    this.weight.dispose();
    this.bias?.dispose();
  }
}
