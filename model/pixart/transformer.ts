// PixArtTransformer2DModel (diffusers models/transformers/pixart_transformer_2d.py; SPEC §2.2):
// patch embed + sin-cos positions, adaln_single, caption projection, N blocks, the final
// modulated LayerNorm, proj_out and unpatchify. Outputs 8 channels (ε and the learned variance).

import { Tensor } from "../../tensor/tensor.ts";
import { scope } from "../../tensor/scope.ts";
import type { Weights } from "../../tensor/weights.ts";
import { add } from "../../kernels/binary.ts";
import { permute } from "../../kernels/permute.ts";
import { layerNorm } from "../../kernels/layer_norm.ts";
import { linear, warmTextureMatmul } from "../../kernels/matmul.ts";
import { formatShape } from "../../tensor/shape.ts";
import { Linear } from "../linear.ts";
import { AdaLayerNormSingle, type MicroConditions } from "./adaln_single.ts";
import { type BlockControl, TransformerBlock } from "./transformer_block.ts";
import { sincosPosEmbed } from "./embeddings.ts";
import type { PixArtConfig } from "./config.ts";

/** Inputs of one transformer forward. */
export interface PixArtInputs {
  /** Noisy latents [B, Cin, H, W]; H and W multiples of the patch size. */
  latents: Tensor;
  /** One timestep per batch row (0..999). */
  timesteps: readonly number[];
  /** T5 hidden states [B, L, caption_channels]. */
  caption: Tensor;
  /** Caption attention mask [B, L]: 1 for tokens, 0 for padding (f32). */
  captionMask: Tensor;
  /** Image size in pixels, for models with micro-conditions. */
  micro?: MicroConditions;
  /** Editing hooks per block index. */
  control?: (block: number) => BlockControl | undefined;
  /** Called with intermediate results by name (parity tests); tensors die with the forward. */
  trace?: (name: string, t: Tensor) => void;
}

/** The transformer with its weights on the GPU. */
export class PixArtTransformer {
  constructor(
    readonly config: PixArtConfig,
    readonly patchWeight: Tensor, // [C, Cin·p·p]
    readonly patchBias: Tensor,
    readonly adaln: AdaLayerNormSingle,
    readonly captionLinear1: Linear,
    readonly captionLinear2: Linear,
    readonly blocks: TransformerBlock[],
    readonly scaleShiftTable: Tensor, // [2, C]
    readonly projOut: Linear,
  ) {}

  /** Loads a `transformer/` checkpoint; every key must be used. */
  static async load(w: Weights, config: PixArtConfig): Promise<PixArtTransformer> {
    const c = config.innerDim, p = config.patchSize, cin = config.inChannels;
    const patch = await w.get("pos_embed.proj.weight", [c, cin, p, p]);
    const blocks: TransformerBlock[] = [];
    for (let l = 0; l < config.numLayers; l++) {
      blocks.push(await TransformerBlock.load(w.sub(`transformer_blocks.${l}`), config));
    }
    const model = new PixArtTransformer(
      config,
      patch.reshape([c, cin * p * p]),
      await w.get("pos_embed.proj.bias", [c]),
      await AdaLayerNormSingle.load(w.sub("adaln_single"), config),
      await Linear.load(w.sub("caption_projection.linear_1"), config.captionChannels, c),
      await Linear.load(w.sub("caption_projection.linear_2"), c, c),
      blocks,
      await w.get("scale_shift_table", [2, c], "f32"),
      await Linear.load(w.sub("proj_out"), c, p * p * config.outChannels),
    );
    patch.dispose(); // the reshaped view keeps the storage
    w.assertAllUsed();
    await warmTextureMatmul(patch.gpu, patch.dtype);
    return model;
  }

  /** Runs the model: returns [B, Cout, H, W] (channels 0..3 ε, 4..7 variance). */
  forward(inputs: PixArtInputs): Tensor {
    const { latents, timesteps, caption, captionMask } = inputs;
    const cfg = this.config, p = cfg.patchSize, c = cfg.innerDim;
    if (latents.shape.length !== 4 || latents.shape[1] !== cfg.inChannels) {
      throw new TypeError(
        `Cannot run the transformer on latents ${
          formatShape(latents.shape)
        }: expected [B, ${cfg.inChannels}, H, W]`,
      );
    }
    const [b, cin, hh, ww] = latents.shape;
    if (hh % p || ww % p || timesteps.length !== b || caption.shape[0] !== b) {
      throw new TypeError(
        `Cannot run the transformer: latents ${
          formatShape(latents.shape)
        } need sides divisible by ${p}, ` +
          `${b} timesteps (got ${timesteps.length}) and ${b} captions (got ${caption.shape[0]})`,
      );
    }
    const h = hh / p, w = ww / p, n = h * w;
    return scope(() => {
      // patch embed: [B, Cin, h, p, w, p] → [B, h, w, Cin, p, p] → [B, N, Cin·p·p] → [B, N, C]
      const patches = permute(latents.reshape([b, cin, h, p, w, p]), [0, 2, 4, 1, 3, 5]).reshape([
        b,
        n,
        cin * p * p,
      ]);
      const pos = Tensor.from(
        latents.gpu,
        sincosPosEmbed(c, h, w, cfg.sampleSize / p, cfg.interpolationScale),
        [n, c],
      );
      let x = add(linear(patches, this.patchWeight, { bias: this.patchBias }), pos);
      const { t6, embedded } = this.adaln.forward(latents.gpu, timesteps, inputs.micro);
      const cap = this.captionLinear2.forward(
        this.captionLinear1.forward(caption, { activation: "gelu_tanh" }),
      );
      for (const [l, block] of this.blocks.entries()) {
        // a block's intermediates are freed once it is recorded (commands run in order, so later
        // ops of the same submit may reuse their buffers): memory stays at about one block's
        const next = scope(() => block.forward(x, t6, cap, captionMask, inputs.control?.(l)));
        x.dispose();
        x = next;
      }
      // final layer: (shift, scale) = table[2, C] + e_t[:, None]
      const mod = permute(add(embedded.reshape([b, 1, c]), this.scaleShiftTable), [1, 0, 2]); // [2, B, C]
      const shift = mod.slice(0, 1).reshape([b, 1, c]), scale = mod.slice(1, 2).reshape([b, 1, c]);
      const y = this.projOut.forward(layerNorm(x, { eps: cfg.normEps, shift, scale })); // [B, N, p·p·Cout]
      // unpatchify: [B, h, w, p, p, Cout] → [B, Cout, h, p, w, p]
      const out = permute(y.reshape([b, h, w, p, p, cfg.outChannels]), [0, 5, 1, 3, 2, 4]);
      return out.reshape([b, cfg.outChannels, hh, ww]);
    });
  }

  /** Frees every weight. */
  dispose(): void {
    for (const t of [this.patchWeight, this.patchBias, this.scaleShiftTable]) t.dispose();
    this.adaln.dispose();
    this.captionLinear1.dispose();
    this.captionLinear2.dispose();
    for (const b of this.blocks) b.dispose();
    this.projOut.dispose();
  }
}
