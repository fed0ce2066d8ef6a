// AutoencoderKL (diffusers models/autoencoders/autoencoder_kl.py and vae.py Encoder/Decoder;
// SPEC §5): encode to the posterior mean (or a seeded sample), decode latents. NCHW throughout.
// Large inputs run in overlapping tiles (enable_tiling(); tiling.ts) under the tiling settings.

import type { Tensor } from "../../tensor/tensor.ts";
import { permute } from "../../kernels/permute.ts";
import { scope } from "../../tensor/scope.ts";
import type { Weights } from "../../tensor/weights.ts";
import { Conv2d } from "./conv2d.ts";
import { GroupNormParams, ResnetBlock2D } from "./resnet_block.ts";
import { VaeAttention } from "./attention_block.ts";
import type { VaeConfig } from "./config.ts";
import {
  decodeGeometry,
  encodeGeometry,
  resolveVaeTiling,
  runTiled,
  usesTiles,
  type VaeTiling,
  type VaeTilingOptions,
} from "./tiling.ts";

/** Options of {@link AutoencoderKL.load}. */
export interface AutoencoderKLOptions {
  /** Tiling settings (default: "auto" with 512-pixel tiles, overlap 0.25). */
  tiling?: VaeTilingOptions;
}

/** Per-call options of the encode and decode methods. */
export interface VaeCallOptions {
  /** Overrides the VAE's tiling settings for this call, field by field. */
  tiling?: VaeTilingOptions;
}

/** resnet, attention, resnet at the bottleneck. */
class MidBlock {
  constructor(
    readonly r0: ResnetBlock2D,
    readonly attn: VaeAttention | undefined,
    readonly r1: ResnetBlock2D,
  ) {}
  static async load(w: Weights, c: number, cfg: VaeConfig): Promise<MidBlock> {
    const g = cfg.normNumGroups;
    return new MidBlock(
      await ResnetBlock2D.load(w.sub("resnets.0"), c, c, g),
      cfg.midBlockAddAttention ? await VaeAttention.load(w.sub("attentions.0"), c, g) : undefined,
      await ResnetBlock2D.load(w.sub("resnets.1"), c, c, g),
    );
  }
  forward(x: Tensor): Tensor {
    const h = this.r0.forward(x);
    return this.r1.forward(this.attn ? this.attn.forward(h) : h);
  }
  dispose(): void {
    this.r0.dispose();
    this.attn?.dispose();
    this.r1.dispose();
  }
}

/** A down or up block: resnets then an optional resampling conv. */
class Stage {
  constructor(readonly resnets: ResnetBlock2D[], readonly resample: Conv2d | undefined) {}
  forward(x: Tensor): Tensor {
    for (const r of this.resnets) x = r.forward(x);
    return this.resample ? this.resample.forward(x) : x;
  }
  dispose(): void {
    for (const r of this.resnets) r.dispose();
    this.resample?.dispose();
  }
}

/** vae.encoder or vae.decoder: conv_in, stages, mid block, GN + SiLU, conv_out. */
class Coder {
  constructor(
    readonly convIn: Conv2d,
    readonly stages: Stage[],
    readonly mid: MidBlock,
    readonly normOut: GroupNormParams,
    readonly convOut: Conv2d,
    readonly midFirst: boolean,
  ) {}
  forward(x: Tensor): Tensor {
    let h = this.convIn.forward(x);
    if (this.midFirst) h = this.mid.forward(h);
    for (const s of this.stages) h = s.forward(h);
    if (!this.midFirst) h = this.mid.forward(h);
    return this.convOut.forward(this.normOut.forward(h, true));
  }
  dispose(): void {
    for (const m of [this.convIn, this.mid, this.normOut, this.convOut, ...this.stages]) {
      m.dispose();
    }
  }
}

async function loadEncoder(w: Weights, cfg: VaeConfig): Promise<Coder> {
  const ch = cfg.blockOutChannels, g = cfg.normNumGroups;
  const stages: Stage[] = [];
  for (let i = 0; i < ch.length; i++) {
    const resnets: ResnetBlock2D[] = [];
    for (let j = 0; j < cfg.layersPerBlock; j++) {
      resnets.push(
        await ResnetBlock2D.load(
          w.sub(`down_blocks.${i}.resnets.${j}`),
          j === 0 ? ch[Math.max(i - 1, 0)] : ch[i],
          ch[i],
          g,
        ),
      );
    }
    // Downsample2D in the VAE: zero pad right and bottom by 1, then 3×3 stride 2 without padding
    const down = i < ch.length - 1
      ? await Conv2d.load(w.sub(`down_blocks.${i}.downsamplers.0.conv`), ch[i], ch[i], 3, {
        stride: 2,
        padding: [0, 1, 0, 1],
      })
      : undefined;
    stages.push(new Stage(resnets, down));
  }
  const top = ch[ch.length - 1];
  return new Coder(
    await Conv2d.load(w.sub("conv_in"), cfg.inChannels, ch[0], 3),
    stages,
    await MidBlock.load(w.sub("mid_block"), top, cfg),
    await GroupNormParams.load(w.sub("conv_norm_out"), top, g),
    await Conv2d.load(w.sub("conv_out"), top, 2 * cfg.latentChannels, 3),
    false,
  );
}

async function loadDecoder(w: Weights, cfg: VaeConfig): Promise<Coder> {
  const ch = [...cfg.blockOutChannels].reverse(), g = cfg.normNumGroups;
  const stages: Stage[] = [];
  for (let i = 0; i < ch.length; i++) {
    const resnets: ResnetBlock2D[] = [];
    for (let j = 0; j < cfg.layersPerBlock + 1; j++) {
      resnets.push(
        await ResnetBlock2D.load(
          w.sub(`up_blocks.${i}.resnets.${j}`),
          j === 0 ? ch[Math.max(i - 1, 0)] : ch[i],
          ch[i],
          g,
        ),
      );
    }
    // Upsample2D: nearest 2x then 3×3 conv, fused in one kernel
    const up = i < ch.length - 1
      ? await Conv2d.load(w.sub(`up_blocks.${i}.upsamplers.0.conv`), ch[i], ch[i], 3, {
        upsample: true,
      })
      : undefined;
    stages.push(new Stage(resnets, up));
  }
  return new Coder(
    await Conv2d.load(w.sub("conv_in"), cfg.latentChannels, ch[0], 3),
    stages,
    await MidBlock.load(w.sub("mid_block"), ch[0], cfg),
    await GroupNormParams.load(w.sub("conv_norm_out"), ch[ch.length - 1], g),
    await Conv2d.load(w.sub("conv_out"), ch[ch.length - 1], cfg.outChannels, 3),
    true,
  );
}

/**
 * The VAE with weights on the GPU. Inputs larger than the tiling threshold are encoded and decoded
 * in overlapping tiles blended as diffusers' `enable_tiling()` does, so device memory stays bounded.
 *
 * @example
 * ```ts ignore
 * vae.setTiling({ mode: "auto", tileSampleMinSize: 512, tileOverlapFactor: 0.25 });
 * const image = vae.decode(latents); // 2048x2048 from [1, 4, 256, 256]: 36 tiles of 512
 * const exact = vae.decode(latents, { tiling: { mode: "never" } });
 * ```
 */
export class AutoencoderKL {
  #tiling: VaeTilingOptions = {};

  /** @internal use AutoencoderKL.load() */
  constructor(
    readonly config: VaeConfig,
    readonly encoder: Coder,
    readonly decoder: Coder,
    readonly quantConv: Conv2d | undefined,
    readonly postQuantConv: Conv2d | undefined,
  ) {}

  /** Loads a `vae/` checkpoint; every key must be used. */
  static async load(
    w: Weights,
    config: VaeConfig,
    options: AutoencoderKLOptions = {},
  ): Promise<AutoencoderKL> {
    const z = config.latentChannels;
    const vae = new AutoencoderKL(
      config,
      await loadEncoder(w.sub("encoder"), config),
      await loadDecoder(w.sub("decoder"), config),
      config.useQuantConv ? await Conv2d.load(w.sub("quant_conv"), 2 * z, 2 * z, 1) : undefined,
      config.usePostQuantConv ? await Conv2d.load(w.sub("post_quant_conv"), z, z, 1) : undefined,
    );
    w.assertAllUsed();
    if (options.tiling) vae.setTiling(options.tiling);
    return vae;
  }

  /** The tiling settings in force, defaults filled in. */
  get tiling(): VaeTiling {
    return resolveVaeTiling(this.#tiling, this.config.scale);
  }

  /**
   * Replaces the tiling settings (diffusers `enable_tiling()` with its tile attributes; mode
   * "never" is `disable_tiling()`). Throws RangeError for settings the VAE cannot tile with.
   *
   * @param options fields left out take their defaults
   */
  setTiling(options: VaeTilingOptions): void {
    resolveVaeTiling(options, this.config.scale);
    this.#tiling = { ...options };
  }

  #callTiling(options: VaeCallOptions): VaeTiling {
    if (!options.tiling) return this.tiling;
    return resolveVaeTiling({ ...this.#tiling, ...options.tiling }, this.config.scale);
  }

  /**
   * Posterior moments [B, 2·latent, H/s, W/s] (mean, then log-variance) of images in [−1, 1];
   * tiled when the tiling settings say so (the image sides must then be multiples of s).
   */
  moments(x: Tensor, options: VaeCallOptions = {}): Tensor {
    const t = this.#callTiling(options), s = this.config.scale;
    const [, , h, w] = x.shape;
    if (!usesTiles(t, h, w)) return this.#moments(x);
    if (h % s !== 0 || w % s !== 0) {
      throw new RangeError(
        `Cannot encode image ${h}x${w} in tiles: its sides must be multiples of the VAE scale ${s}`,
      );
    }
    const g = encodeGeometry(t.tileSampleMinSize, t.tileOverlapFactor, s);
    return scope(() => runTiled(x, g, (tile) => this.#moments(tile)));
  }

  #moments(x: Tensor): Tensor {
    return scope(() => {
      const h = this.encoder.forward(x);
      return this.quantConv ? this.quantConv.forward(h) : h;
    });
  }

  /**
   * Unscaled latents (the posterior mean) [B, latent, H/s, W/s]; callers multiply by
   * scalingFactor. Tiled as {@link AutoencoderKL.moments}.
   */
  encodeMean(x: Tensor, options: VaeCallOptions = {}): Tensor {
    return scope(() => {
      const m = this.moments(x, options);
      const [b, c2, h, w] = m.shape;
      // moments [B, 2C, H, W] → [2, B, C·H·W]; row 0 is the mean
      const halves = permute(m.reshape([b, 2, (c2 / 2) * h * w]), [1, 0, 2]);
      return halves.slice(0, 1).reshape([b, c2 / 2, h, w]);
    });
  }

  /**
   * Images [B, out, H·s, W·s] in about [−1, 1] from unscaled latents; tiled when the tiling
   * settings say so for an image of H·s × W·s pixels.
   */
  decode(z: Tensor, options: VaeCallOptions = {}): Tensor {
    const t = this.#callTiling(options), s = this.config.scale;
    const [, , h, w] = z.shape;
    if (!usesTiles(t, h * s, w * s)) return this.#decode(z);
    const g = decodeGeometry(t.tileSampleMinSize, t.tileOverlapFactor, s);
    return scope(() => runTiled(z, g, (tile) => this.#decode(tile)));
  }

  #decode(z: Tensor): Tensor {
    return scope(() =>
      this.decoder.forward(this.postQuantConv ? this.postQuantConv.forward(z) : z)
    );
  }

  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
    this.quantConv?.dispose();
    this.postQuantConv?.dispose();
  }
}
