// A torch.nn.Conv2d with its weight [Cout, Cin, k, k] and bias [Cout]; NCHW tensors.

import type { Tensor } from "../../tensor/tensor.ts";
import type { Weights } from "../../tensor/weights.ts";
import { conv2d } from "../../kernels/conv2d.ts";

/** Padding as [top, bottom, left, right] or one value for all sides. */
export type Padding = number | [number, number, number, number];

/** A loaded convolution. */
export class Conv2d {
  constructor(
    readonly weight: Tensor,
    readonly bias: Tensor,
    readonly stride: number,
    readonly padding: Padding,
    readonly upsample = false,
  ) {}

  /**
   * Loads `weight` [cout, cin, k, k] and `bias`; padding defaults to k/2 (same size); `upsample`
   * applies a nearest 2x upsample first (Upsample2D), fused into the convolution.
   */
  static async load(
    w: Weights,
    cin: number,
    cout: number,
    k: number,
    options: { stride?: number; padding?: Padding; upsample?: boolean } = {},
  ): Promise<Conv2d> {
    return new Conv2d(
      await w.get("weight", [cout, cin, k, k]),
      await w.get("bias", [cout]),
      options.stride ?? 1,
      options.padding ?? Math.floor(k / 2),
      options.upsample ?? false,
    );
  }

  /** x [B, Cin, H, W] → [B, Cout, H', W'], plus `residual` (same shape as the output) if given. */
  forward(x: Tensor, residual?: Tensor): Tensor {
    const { stride, padding, upsample } = this;
    return conv2d(x, this.weight, this.bias, { stride, padding, upsample, residual });
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}
