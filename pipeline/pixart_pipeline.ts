// A loaded PixArt-α pipeline folder (diffusers PixArtAlphaPipeline layout: model_index.json,
// transformer/, vae/, text_encoder/, tokenizer/, scheduler/) and prompt encoding (SPEC §2.6, §4):
// lowercase and strip, T5 tokenizer with 120 tokens, the T5 encoder with its mask.

import { openModelFolder } from "../io/model_folder.ts";
import { getGpu, type Gpu } from "../tensor/device.ts";
import { Tensor } from "../tensor/tensor.ts";
import { Weights } from "../tensor/weights.ts";
import { keep } from "../tensor/scope.ts";
import { loadT5Tokenizer, type T5Tokenizer } from "../model/t5/tokenizer.ts";
import { parseT5Config } from "../model/t5/config.ts";
import { T5Encoder } from "../model/t5/encoder.ts";
import { parsePixArtConfig } from "../model/pixart/config.ts";
import { PixArtTransformer } from "../model/pixart/transformer.ts";
import { parseVaeConfig } from "../model/vae/config.ts";
import { AutoencoderKL } from "../model/vae/autoencoder_kl.ts";
import type { ProgressEvent } from "./edit_options.ts";

/** Options of {@link loadPipeline}. */
export interface LoadPipelineOptions {
  /** The device (default: the shared one from `getGpu()`). */
  gpu?: Gpu;
  /** Weight storage: "f16" where the adapter has it (default) or "f32". */
  dtype?: "f16" | "f32";
  /** Stream T5 blocks from disk at each prompt instead of keeping them (large encoders). */
  streamTextEncoder?: boolean;
  /** Called as components load. */
  onProgress?: (event: ProgressEvent) => void;
}

/** A prompt encoded for the transformer. */
export interface EncodedPrompt {
  /** T5 hidden states [1, L, d]. */
  embeds: Tensor;
  /** [1, L] f32, 1 for tokens and EOS. */
  mask: Tensor;
  /** The token ids (for Prompt-to-Prompt word alignment). */
  ids: Int32Array;
}

/** Every component of a PixArt-α pipeline, on the GPU. */
export class PixArtPipeline {
  constructor(
    readonly gpu: Gpu,
    readonly path: string,
    readonly tokenizer: T5Tokenizer,
    readonly textEncoder: T5Encoder,
    readonly transformer: PixArtTransformer,
    readonly vae: AutoencoderKL,
    readonly schedulerConfig: Record<string, unknown>,
  ) {}

  /** Pixels per latent cell times the patch size: image sides must be multiples of this. */
  get sizeMultiple(): number {
    return this.vae.config.scale * this.transformer.config.patchSize;
  }

  /** The model's native image side in pixels. */
  get nativeSide(): number {
    return this.transformer.config.sampleSize * this.vae.config.scale;
  }

  /** Encodes a prompt (lowercased and stripped, as the pipeline does without clean_caption). */
  async encodePrompt(prompt: string, warn?: (message: string) => void): Promise<EncodedPrompt> {
    const tokens = this.tokenizer.tokenize(prompt.toLowerCase().trim(), { warn });
    const mask = Float32Array.from(tokens.attentionMask);
    const embeds = keep(await this.textEncoder.encode(this.gpu, tokens.inputIds, mask, 1));
    return {
      embeds,
      mask: keep(Tensor.from(this.gpu, mask, [1, mask.length])),
      ids: tokens.inputIds,
    };
  }

  /** Frees every weight. */
  dispose(): void {
    this.textEncoder.dispose();
    this.transformer.dispose();
    this.vae.dispose();
  }
}

/** Loads a diffusers PixArt-α pipeline folder; missing files and keys are named in the error. */
export async function loadPipeline(
  path: string,
  options: LoadPipelineOptions = {},
): Promise<PixArtPipeline> {
  const gpu = options.gpu ?? await getGpu();
  const folder = await openModelFolder(path);
  const progress = options.onProgress ?? (() => {});
  const parts = ["tokenizer", "text_encoder", "transformer", "vae", "scheduler"];
  let done = 0;
  const step = () => progress({ stage: "load", done: ++done, total: parts.length, unit: "steps" });
  const wopts = { dtype: options.dtype };
  const tokenizer = await loadT5Tokenizer(`${path}/tokenizer`);
  step();
  const te = await folder.component("text_encoder");
  const textEncoder = await T5Encoder.load(
    new Weights(gpu, await folder.openWeights("text_encoder"), wopts),
    parseT5Config(te.config),
    { stream: options.streamTextEncoder },
  );
  step();
  const tr = await folder.component("transformer");
  const transformer = await PixArtTransformer.load(
    new Weights(gpu, await folder.openWeights("transformer"), wopts),
    parsePixArtConfig(tr.config),
  );
  step();
  const vc = await folder.component("vae");
  const vae = await AutoencoderKL.load(
    new Weights(gpu, await folder.openWeights("vae"), wopts),
    parseVaeConfig(vc.config),
  );
  step();
  const scheduler = await folder.component("scheduler");
  step();
  return new PixArtPipeline(gpu, path, tokenizer, textEncoder, transformer, vae, scheduler.config);
}
