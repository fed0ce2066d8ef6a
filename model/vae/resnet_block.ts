// ResnetBlock2D as the VAE uses it (diffusers models/resnet.py; SPEC §5.1): GN → SiLU → conv3×3 →
// GN → SiLU → conv3×3, plus the input (through conv_shortcut 1×1 when channels change).

import type { Tensor } from "../../tensor/tensor.ts";
import type { Weights } from "../../tensor/weights.ts";
import { groupNorm } from "../../kernels/group_norm.ts";
import { Conv2d } from "./conv2d.ts";

/** A GroupNorm's affine parameters. */
export class GroupNormParams {
  constructor(readonly weight: Tensor, readonly bias: Tensor, readonly groups: number) {}
  static async load(w: Weights, channels: number, groups: number): Promise<GroupNormParams> {
    return new GroupNormParams(
      await w.get("weight", [channels], "f32"),
      await w.get("bias", [channels], "f32"),
      groups,
    );
  }
  /** x [B, C, H, W], eps 1e-6, optional fused SiLU. */
  forward(x: Tensor, silu = false): Tensor {
    return groupNorm(x, this.weight, this.bias, { groups: this.groups, eps: 1e-6, silu });
  }
  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** One resnet of a VAE block. */
export class ResnetBlock2D {
  constructor(
    readonly norm1: GroupNormParams,
    readonly conv1: Conv2d,
    readonly norm2: GroupNormParams,
    readonly conv2: Conv2d,
    readonly shortcut: Conv2d | undefined,
  ) {}

  /** Loads `…resnets.{j}` with `cin` → `cout` channels. */
  static async load(w: Weights, cin: number, cout: number, groups: number): Promise<ResnetBlock2D> {
    return new ResnetBlock2D(
      await GroupNormParams.load(w.sub("norm1"), cin, groups),
      await Conv2d.load(w.sub("conv1"), cin, cout, 3),
      await GroupNormParams.load(w.sub("norm2"), cout, groups),
      await Conv2d.load(w.sub("conv2"), cout, cout, 3),
      cin !== cout ? await Conv2d.load(w.sub("conv_shortcut"), cin, cout, 1) : undefined,
    );
  }

  /** x [B, cin, H, W] → [B, cout, H, W]. */
  forward(x: Tensor): Tensor {
    const h = this.conv1.forward(this.norm1.forward(x, true));
    return this.conv2.forward(
      this.norm2.forward(h, true),
      this.shortcut ? this.shortcut.forward(x) : x,
    );
  }

  dispose(): void {
    this.norm1.dispose();
    this.conv1.dispose();
    this.norm2.dispose();
    this.conv2.dispose();
    this.shortcut?.dispose();
  }
}
