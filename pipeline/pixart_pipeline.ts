// A loaded PixArt-α pipeline folder (diffusers PixArtAlphaPipeline layout: model_index.json,
// transformer/, vae/, text_encoder/, tokenizer/, scheduler/) and prompt encoding (SPEC §2.6, §4):
// lowercase and strip, T5 tokenizer with 120 tokens, the T5 encoder with its mask. T5 loads on the
// first prompt that needs it, so with an on-disk prompt cache (pipeline/prompt_cache.ts) a run
// whose prompts are all cached never uploads T5's weights.

import { openModelFolder } from "../io/model_folder.ts";
import { getGpu, type Gpu } from "../tensor/device.ts";
import { Tensor } from "../tensor/tensor.ts";
import { Weights } from "../tensor/weights.ts";
import { keep } from "../tensor/scope.ts";
import { DEFAULT_MAX_LENGTH, loadT5Tokenizer, type T5Tokenizer } from "../model/t5/tokenizer.ts";
import { parseT5Config, type T5Config } from "../model/t5/config.ts";
import { T5Encoder } from "../model/t5/encoder.ts";
import { parsePixArtConfig } from "../model/pixart/config.ts";
import { PixArtTransformer } from "../model/pixart/transformer.ts";
import { parseVaeConfig } from "../model/vae/config.ts";
import { AutoencoderKL } from "../model/vae/autoencoder_kl.ts";
import { ShardedSafetensors } from "../io/sharded.ts";
import type { TensorReader } from "../io/tensor_reader.ts";
import type { ProgressEvent } from "./edit_options.ts";
import { PromptCache, textEncoderIdentity } from "./prompt_cache.ts";

/** Options of {@link loadPipeline}. */
export interface LoadPipelineOptions {
  /** The device (default: the shared one from `getGpu()`). */
  gpu?: Gpu;
  /** Weight storage: "f16" where the adapter has it (default) or "f32". */
  dtype?: "f16" | "f32";
  /** Stream T5 blocks from disk at each prompt instead of keeping them (large encoders). */
  streamTextEncoder?: boolean;
  /**
   * A folder for encoded prompts, keyed by the prompt and the text encoder checkpoint, so a
   * prompt encoded before skips T5 (and T5 is never loaded when every prompt is cached); false
   * or absent: no cache, nothing written to disk. The CLI enables it by default.
   */
  promptCache?: string | false;
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

/** How a pipeline's prompts were encoded so far (for tests and reports). */
export interface PromptStats {
  /** Times T5's weights were loaded (0 until a prompt misses the cache). */
  textEncoderLoads: number;
  /** Prompts run through T5. */
  textEncoderRuns: number;
  /** Prompts read from the prompt cache. */
  cacheHits: number;
  /** Entries written to the prompt cache. */
  cacheWrites: number;
}

/** How the pipeline's text encoder is loaded on first use, and its prompt cache. */
export interface TextEncoderSource {
  /** The parsed `text_encoder/config.json`. */
  config: T5Config;
  /** Loads the encoder (called at most once). */
  load: () => Promise<T5Encoder>;
  /** The prompt cache folder and a way to compute the checkpoint identity, if caching. */
  cache?: { dir: string; identity: () => Promise<string> };
}

/** Every component of a PixArt-α pipeline, on the GPU (T5 once a prompt needs it). */
export class PixArtPipeline {
  /** Counters of prompt encoding. */
  readonly promptStats: PromptStats = {
    textEncoderLoads: 0,
    textEncoderRuns: 0,
    cacheHits: 0,
    cacheWrites: 0,
  };
  #source: TextEncoderSource;
  #encoder: Promise<T5Encoder> | undefined;
  #loaded: T5Encoder | undefined;
  #disposed = false;
  #cache: Promise<PromptCache | undefined> | undefined;

  constructor(
    readonly gpu: Gpu,
    readonly path: string,
    readonly tokenizer: T5Tokenizer,
    textEncoder: TextEncoderSource,
    readonly transformer: PixArtTransformer,
    readonly vae: AutoencoderKL,
    readonly schedulerConfig: Record<string, unknown>,
  ) {
    this.#source = textEncoder;
  }

  /** Pixels per latent cell times the patch size: image sides must be multiples of this. */
  get sizeMultiple(): number {
    return this.vae.config.scale * this.transformer.config.patchSize;
  }

  /** The model's native image side in pixels. */
  get nativeSide(): number {
    return this.transformer.config.sampleSize * this.vae.config.scale;
  }

  /** The text encoder's configuration (known without loading it). */
  get textEncoderConfig(): T5Config {
    return this.#source.config;
  }

  /** The T5 encoder, loaded on the first call. */
  textEncoder(): Promise<T5Encoder> {
    if (!this.#encoder) {
      this.promptStats.textEncoderLoads++;
      this.#encoder = this.#source.load().then((encoder) => {
        if (this.#disposed) {
          encoder.dispose();
          throw new ReferenceError("Cannot use the text encoder: the pipeline was disposed");
        }
        return this.#loaded = encoder;
      });
      this.#encoder.catch(() => (this.#encoder = undefined)); // a later call may retry
    }
    return this.#encoder;
  }

  /** The prompt cache, or undefined when off or when its identity cannot be computed. */
  #promptCache(warn: (message: string) => void): Promise<PromptCache | undefined> {
    const spec = this.#source.cache;
    if (!spec) return Promise.resolve(undefined);
    this.#cache ??= spec.identity().then(
      (id) => new PromptCache(spec.dir, id),
      (e) => {
        warn(`Prompt cache off: cannot identify the text encoder: ${(e as Error).message}`);
        return undefined;
      },
    );
    return this.#cache;
  }

  /**
   * Encodes a prompt (lowercased and stripped, as the pipeline does without clean_caption). With a
   * prompt cache, a cached prompt is only tokenized (truncation is still reported) and read back;
   * otherwise T5 runs and the result is cached.
   */
  async encodePrompt(prompt: string, warn?: (message: string) => void): Promise<EncodedPrompt> {
    const say = warn ?? ((m: string) => console.warn(m));
    const text = prompt.toLowerCase().trim();
    const tokens = this.tokenizer.tokenize(text, { warn });
    const mask = Float32Array.from(tokens.attentionMask);
    const ids = tokens.inputIds, L = ids.length;
    const cache = await this.#promptCache(say);
    const dModel = this.#source.config.dModel;
    const hit = await cache?.read(text, { ids, mask, dModel }, say);
    let embeds: Tensor;
    if (hit) {
      this.promptStats.cacheHits++;
      embeds = keep(Tensor.from(this.gpu, hit.embeds, [1, L, dModel]));
    } else {
      const encoder = await this.textEncoder();
      this.promptStats.textEncoderRuns++;
      embeds = keep(await encoder.encode(this.gpu, ids, mask, 1));
      if (cache) {
        const values = await embeds.toArray() as Float32Array;
        if (await cache.write(text, { embeds: values, mask, ids }, say)) {
          this.promptStats.cacheWrites++;
        }
      }
    }
    return { embeds, mask: keep(Tensor.from(this.gpu, mask, [1, L])), ids };
  }

  /** Frees every weight (T5's if it has loaded, or once a load in flight ends). */
  dispose(): void {
    this.#disposed = true;
    this.#loaded?.dispose();
    this.#loaded = undefined;
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
  // T5 itself loads when a prompt first needs it; its config and file headers are read now
  const te = await folder.component("text_encoder");
  const teConfig = parseT5Config(te.config);
  const teReader = await folder.openWeights("text_encoder");
  const dtype = options.dtype ?? (gpu.f16 ? "f16" : "f32");
  const cacheDir = options.promptCache;
  const textEncoder: TextEncoderSource = {
    config: teConfig,
    load: () =>
      T5Encoder.load(new Weights(gpu, teReader, wopts), teConfig, {
        stream: options.streamTextEncoder,
      }),
    cache: cacheDir
      ? {
        dir: cacheDir,
        identity: () =>
          textEncoderIdentity({
            weightFiles: weightFiles(teReader),
            configFile: te.configPath,
            tokenizerFile: `${path}/tokenizer/spiece.model`,
            maxLength: DEFAULT_MAX_LENGTH,
            dtype,
          }),
      }
      : undefined,
  };
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

/** The files a text encoder reader reads: one safetensors file, or a shard index and its shards. */
function weightFiles(reader: TensorReader): string[] {
  return reader instanceof ShardedSafetensors
    ? [reader.path, ...reader.shardPaths()]
    : [reader.path];
}
