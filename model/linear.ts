// torch.nn.Linear as checkpoints store it: `weight` [out, in], optional `bias` [out].

import type { Tensor } from "../tensor/tensor.ts";
import type { Weights } from "../tensor/weights.ts";
import { linear, type LinearOptions } from "../kernels/matmul.ts";

/** A loaded Linear layer; `forward` fuses an activation and a residual add when asked. */
export class Linear {
  constructor(readonly weight: Tensor, readonly bias: Tensor | undefined) {}

  /** Loads `<w.prefix>weight` [outF, inF] and, with `bias`, `<w.prefix>bias` [outF]. */
  static async load(w: Weights, inF: number, outF: number, bias = true): Promise<Linear> {
    const weight = await w.get("weight", [outF, inF]);
    return new Linear(weight, bias ? await w.get("bias", [outF]) : undefined);
  }

  /** x [..., in] → [..., out]. */
  forward(x: Tensor, options: Omit<LinearOptions, "bias"> = {}): Tensor {
    return linear(x, this.weight, { ...options, bias: this.bias });
  }

  /** Frees the weights. */
  dispose(): void {
    this.weight.dispose();
    this.bias?.dispose();
  }
}
