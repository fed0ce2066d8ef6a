// DiT4Edit on PixArt-α (SPEC §10): encode the image with the VAE, invert it with DPM-Solver++(2M)
// and backward-Euler correction (or DDIM), then denoise a source branch and a target branch side by
// side under unified attention control, with optional ToMe patch merging and Prompt-to-Prompt
// local blending; the target's guidance is corrected by the source's (EditOptions.guidanceCorrection).
// Also `generate()`.

import type { RgbaImage } from "../image/rgba_image.ts";
import { resizeImage } from "../image/resize.ts";
import { Tensor } from "../tensor/tensor.ts";
import { keep, scope } from "../tensor/scope.ts";
import { scale } from "../kernels/unary.ts";
import { sub } from "../kernels/binary.ts";
import { DPMSolverMultistepScheduler } from "./dpm_solver.ts";
import { ddimInversion, dpmSolverInversion } from "./inversion.ts";
import type { EditOptions, EditResult, ProgressEvent } from "./edit_options.ts";
import { type EncodedPrompt, loadPipeline, type PixArtPipeline } from "./pixart_pipeline.ts";
import { epsRow, guide, transformerBatch } from "./guidance.ts";
import { controlAt, type ControlSettings, uploadMapper } from "./attention_control.ts";
import { promptWords, refinementMapper, replacementMapper, wordTokenRanges } from "./p2p.ts";
import { processingSize } from "./size_policy.ts";
import { imageToTensor, tensorToImage } from "./image_tensor.ts";
import { resolveEditOptions } from "./resolve_options.ts";
import { attentionHeatMaps, CrossAttentionStore, greyImage } from "./heat_maps.ts";
import { LocalBlend, localBlendTokens } from "./local_blend.ts";
import { WordMaps } from "./word_maps.ts";
import { blendImages, editMask, editPhrases } from "./keep_background.ts";

export { loadPipeline, type PixArtPipeline };

/** Options of {@link generate}. */
export interface GenerateOptions {
  prompt: string;
  /** Default 20 (PixArt's). */
  steps?: number;
  /** Default 4.5. */
  guidance?: number;
  /** Initial noise [1, C, H/s, W/s]; default seeded Gaussian noise at `width`×`height`. */
  latents?: Tensor;
  width?: number;
  height?: number;
  seed?: number;
  onProgress?: (event: ProgressEvent) => void;
  /** Called with warnings (e.g. a truncated prompt). Default: console.warn. */
  onWarning?: (message: string) => void;
}

/** Seeded standard-normal noise (mulberry32 + Box–Muller). */
export function gaussianNoise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())), a = 2 * Math.PI * u();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/** Text-to-latents with classifier-free guidance (PixArtAlphaPipeline with output_type "latent"). */
export async function generateLatents(
  pipe: PixArtPipeline,
  cond: EncodedPrompt,
  uncond: EncodedPrompt,
  noise: Tensor,
  options: { steps?: number; guidance?: number; onProgress?: (e: ProgressEvent) => void } = {},
): Promise<Tensor> {
  const steps = options.steps ?? 20, w = options.guidance ?? 4.5;
  const sched = DPMSolverMultistepScheduler.fromConfig(pipe.schedulerConfig, steps);
  const state = sched.createState();
  let x = noise;
  for (let k = 0; k < steps; k++) {
    const next = keep(scope(() => {
      const out = transformerBatch(pipe, [x, x], [uncond, cond], sched.timesteps[k]);
      return sched.step(state, guide(epsRow(out, 0), epsRow(out, 1), w), x);
    }));
    if (x !== noise) x.dispose();
    x = next;
    await pipe.gpu.sync();
    options.onProgress?.({ stage: "generate", done: k + 1, total: steps, unit: "steps" });
  }
  state.dispose();
  return x;
}

/** Generates an image from a prompt. */
export async function generate(pipe: PixArtPipeline, options: GenerateOptions): Promise<RgbaImage> {
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const cond = await pipe.encodePrompt(options.prompt, warn);
  const uncond = await pipe.encodePrompt("", warn);
  const s = pipe.vae.config.scale;
  const width = options.width ?? pipe.nativeSide, height = options.height ?? pipe.nativeSide;
  const c = pipe.vae.config.latentChannels, h = height / s, w = width / s;
  const noise = options.latents ??
    Tensor.from(pipe.gpu, gaussianNoise(c * h * w, options.seed ?? 0), [1, c, h, w]);
  const z = await generateLatents(pipe, cond, uncond, noise, options);
  const image = await tensorToImage(pipe.vae.decode(scale(z, 1 / pipe.vae.config.scalingFactor)));
  for (const p of [cond, uncond]) (p.embeds.dispose(), p.mask.dispose());
  return image;
}

/** The latents [1, C, h, w] of an image, scaled by the VAE's scaling factor. */
export function encodeImage(pipe: PixArtPipeline, image: RgbaImage): Tensor {
  return scope(() =>
    scale(pipe.vae.encodeMean(imageToTensor(pipe.gpu, image)), pipe.vae.config.scalingFactor)
  );
}

/** Decodes scaled latents to an RGBA image. */
export function decodeLatents(pipe: PixArtPipeline, z: Tensor): Promise<RgbaImage> {
  return scope(() => tensorToImage(pipe.vae.decode(scale(z, 1 / pipe.vae.config.scalingFactor))));
}

/** Inverts scaled latents z0 under a prompt: x_0 (noisiest) … x_N = z0 (SPEC §7). */
export async function invert(
  pipe: PixArtPipeline,
  z0: Tensor,
  prompt: EncodedPrompt,
  options: { steps: number; inversion: "dpm++" | "ddim"; onProgress?: (e: ProgressEvent) => void },
): Promise<Tensor[]> {
  const sched = DPMSolverMultistepScheduler.fromConfig(pipe.schedulerConfig, options.steps);
  let calls = 0;
  const total = options.inversion === "ddim" ? options.steps : options.steps * 4;
  const model = async (x: Tensor, t: number) => {
    const eps = epsRow(transformerBatch(pipe, [x], [prompt], t), 0);
    await pipe.gpu.sync(); // bounds memory and lets progress mean something
    options.onProgress?.({ stage: "invert", done: ++calls, total, unit: "steps" });
    return eps;
  };
  const result = options.inversion === "ddim"
    ? await ddimInversion(model, z0, sched)
    : await dpmSolverInversion(model, z0, sched);
  return result.latents;
}

/**
 * Edits an image (DiT4Edit): see {@link EditOptions} for the options and defaults.
 *
 * @example
 * ```ts ignore
 * const pipe = await loadPipeline("models/pixart-scenes-64");
 * const { edited } = await edit(pipe, { image, sourcePrompt: "a red star", targetPrompt: "a blue star" });
 * ```
 */
export async function edit(pipe: PixArtPipeline, options: EditOptions): Promise<EditResult> {
  const o = resolveEditOptions(pipe, options);
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (name: string) => {
    const t = performance.now();
    timings[name] = (t - t0) / 1000;
    t0 = t;
  };
  const progress = options.onProgress ?? (() => {});
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const size = processingSize(
    options.image.width,
    options.image.height,
    pipe.nativeSide,
    pipe.sizeMultiple,
    options.size,
  );
  const input = size.width === options.image.width && size.height === options.image.height
    ? options.image
    : resizeImage(options.image, size.width, size.height);

  const src = await pipe.encodePrompt(options.sourcePrompt, warn);
  const tgt = await pipe.encodePrompt(options.targetPrompt, warn);
  const nul = await pipe.encodePrompt("", warn);
  progress({ stage: "encode-prompt", done: 1, total: 1, unit: "steps" });
  lap("encodePrompt");
  const z0 = encodeImage(pipe, input);
  await pipe.gpu.sync();
  lap("vaeEncode");
  const latents = await invert(pipe, z0, src, {
    steps: o.steps,
    inversion: o.inversion,
    onProgress: progress,
  });
  lap("invert");

  const sched = DPMSolverMultistepScheduler.fromConfig(pipe.schedulerConfig, o.steps);
  const [stSrc, stTgt] = [sched.createState(), sched.createState()];
  const pieces = (p: EncodedPrompt) => Array.from(p.ids, (id) => pipe.tokenizer.idToPiece(id));
  const grid = { h: size.height / pipe.sizeMultiple, w: size.width / pipe.sizeMultiple };
  const settings: ControlSettings = {
    enabled: o.control,
    union: o.union,
    rows: o.guidanceCorrection ? 4 : 3,
    steps: o.steps,
    threshold: o.threshold,
    blocks: o.blocks,
    crossReplace: o.crossReplace,
    mapper: o.control
      ? crossMapper(options.sourcePrompt, options.targetPrompt, src, tgt, pieces)
      : undefined,
    merge: o.mergeRatio > 0
      ? {
        ...grid,
        ratio: o.mergeRatio,
        seed: o.seed,
      }
      : undefined,
  };
  const mapper = settings.mapper ? uploadMapper(pipe.gpu, settings.mapper) : undefined;
  const store = options.attentionMaps ? new CrossAttentionStore() : undefined;
  const blend = o.localBlend
    ? new LocalBlend(pipe.gpu, {
      tokens: localBlendTokens(
        { source: options.sourcePrompt, target: options.targetPrompt },
        { source: pieces(src), target: pieces(tgt) },
        o.localBlend.word,
      ),
      rows: { source: 0, target: 2 },
      grid: { ...grid, patch: pipe.transformer.config.patchSize },
      threshold: o.localBlend.threshold,
      start: o.localBlend.start,
      blocks: o.blocks,
    })
    : undefined;
  const phrases = o.keepBackground
    ? editPhrases(
      { source: options.sourcePrompt, target: options.targetPrompt },
      { source: pieces(src), target: pieces(tgt) },
      { source: 0, target: 2 },
    )
    : { words: [], phrases: [] };
  const allBlocks: [number, number] = [0, pipe.transformer.config.numLayers - 1];
  const editMaps = phrases.words.length > 0
    ? new WordMaps(pipe.gpu, phrases.words, grid.h * grid.w, allBlocks)
    : undefined;
  let xs = latents[0], xt = latents[0];
  for (let k = 0; k < o.steps; k++) {
    const heat = store && k >= Math.floor(o.steps / 2);
    const onProbs = heat || blend || editMaps
      ? (block: number, p: Tensor) => {
        if (heat && block >= o.blocks[0]) store.add(p.slice(2, 3));
        blend?.add(block, p);
        editMaps?.add(block, p);
      }
      : undefined;
    const [ns, nt] = scope(() => {
      const ctl = controlAt(settings, k, mapper, onProbs);
      const rows = [xs, xt, xt], prompts = [src, nul, tgt];
      if (o.guidanceCorrection) (rows.push(xs), prompts.push(nul));
      const out = transformerBatch(pipe, rows, prompts, sched.timesteps[k], ctl);
      const epsS = epsRow(out, 0);
      let epsT = guide(epsRow(out, 1), epsRow(out, 2), o.guidance);
      // the guidance correction: less the guidance term of the source branch (EditOptions)
      if (o.guidanceCorrection) epsT = sub(epsT, scale(sub(epsS, epsRow(out, 3)), o.guidance - 1));
      const s = sched.step(stSrc, epsS, xs), t = sched.step(stTgt, epsT, xt);
      return [keep(s), keep(blend ? blend.apply(k, s, t) : t)];
    });
    if (xs !== latents[0]) xs.dispose();
    if (xt !== latents[0]) xt.dispose();
    [xs, xt] = [ns, nt];
    await pipe.gpu.sync();
    progress({ stage: "edit", done: k + 1, total: o.steps, unit: "steps" });
  }
  lap("edit");
  const back = (img: RgbaImage) =>
    img.width === options.image.width && img.height === options.image.height
      ? img
      : resizeImage(img, options.image.width, options.image.height);
  let image = back(await decodeLatents(pipe, xt));
  const reconstruction = back(await decodeLatents(pipe, xs));
  lap("vaeDecode");
  let mask: Float32Array | undefined;
  if (editMaps && o.keepBackground) {
    const { width, height } = options.image;
    mask = editMask(
      await editMaps.read(),
      phrases.words.length,
      grid,
      { width, height },
      o.keepBackground,
      phrases.phrases,
    );
    image = blendImages(image, options.image, mask);
    lap("keepBackground");
  }
  const result: EditResult = { edited: image, reconstruction, timings, used: o.used };
  if (mask) result.editMask = greyImage(mask, options.image.width, options.image.height);
  if (store) {
    result.attentionMaps = await attentionHeatMaps(store, pieces(tgt), options.targetPrompt, {
      ...grid,
      width: options.image.width,
      height: options.image.height,
    });
  }
  for (const t of [...latents, xs, xt]) t.dispose();
  for (const p of [src, tgt, nul]) (p.embeds.dispose(), p.mask.dispose());
  if (mapper) (mapper.matrix.dispose(), mapper.beta.dispose());
  blend?.dispose();
  editMaps?.dispose();
  stSrc.dispose();
  stTgt.dispose();
  return result;
}

/** Replace when the prompts have the same word count, refine otherwise (SPEC §10). */
function crossMapper(
  srcText: string,
  tgtText: string,
  src: EncodedPrompt,
  tgt: EncodedPrompt,
  pieces: (p: EncodedPrompt) => string[],
) {
  const sw = promptWords(srcText), tw = promptWords(tgtText);
  const sr = wordTokenRanges(pieces(src)), tr = wordTokenRanges(pieces(tgt));
  const length = src.ids.length;
  if (sw.length === tw.length && sr.length === sw.length && tr.length === tw.length) {
    return replacementMapper(sw, tw, sr, tr, length);
  }
  const valid = (p: EncodedPrompt) => p.ids.slice(0, p.ids.indexOf(1) + 1);
  return refinementMapper(valid(src), valid(tgt), length);
}
