// The options and results of the editing API (DiT4Edit, SPEC §8–§10), shared by pipeline/edit.ts
// and the CLI. Defaults and ranges are documented here and checked by `resolveEditOptions`.

import type { RgbaImage } from "../image/rgba_image.ts";

/** Progress of a long stage, reported through `onProgress`. */
export interface ProgressEvent {
  /** "load", "encode-prompt", "vae-encode", "invert", "edit", "vae-decode". */
  stage: string;
  /** Units done so far (steps, or bytes for "load"). */
  done: number;
  /** Units in the stage. */
  total: number;
  /** "steps" or "bytes". */
  unit: "steps" | "bytes";
}

/** Options of `edit()`; only image, sourcePrompt and targetPrompt are required. */
export interface EditOptions {
  /** The input image (RGBA8, as `decodeImage` returns). */
  image: RgbaImage;
  /** What the image shows, e.g. "a cat sitting on a bench". */
  sourcePrompt: string;
  /** What it should show, e.g. "a dog sitting on a bench". */
  targetPrompt: string;
  /** Denoising steps for inversion and editing (default 30; SPEC §10). */
  steps?: number;
  /** Classifier-free guidance of the target branch (default 4.5). */
  guidance?: number;
  /**
   * Subtract from the target's guided ε the guidance term the source branch would get,
   * (w − 1)·(ε(x_src, c_src) − ε(x_src, ∅)) (default true). The inverted noise was made without
   * guidance, so guidance alone drifts the whole image (colours, brightness) even where the prompts
   * agree; with the correction, identical prompts give back the source branch exactly. Costs one
   * more batch row per step.
   */
  guidanceCorrection?: boolean;
  /** "dpm++" (default: DPM-Solver++(2M) inversion with backward-Euler correction) or "ddim". */
  inversion?: "dpm++" | "ddim";
  /** Steps during which the source queries replace the target's (default ⌈0.2·steps⌉). */
  threshold?: number;
  /** Inclusive block range with attention control (default the deeper half). */
  blocks?: [number, number];
  /** Prompt-to-Prompt cross-attention replacement for this fraction of steps (default 0.8). */
  crossReplace?: number;
  /**
   * A word of the target prompt whose cross-attention mask limits the edit (Prompt-to-Prompt
   * LocalBlend); off by default. Its maps (summed over heads, the controlled blocks and all steps
   * so far) in the target, OR'ed with the corresponding source word's (the word at the same index
   * when the prompts have as many words, else the same word if the source has it), max-pooled 3×3
   * and thresholded at `localBlendThreshold` of their max, select the target latents; the source
   * branch's latents are kept elsewhere, after each step k ≥ ⌈0.2·steps⌉ (k = 0 the noisiest).
   */
  localBlend?: string;
  /** Fraction of the map's max above which the local blend keeps the edit, 0..1 (default 0.3). */
  localBlendThreshold?: number;
  /**
   * Blend the edited image back into the input in pixel space, at the input's own size, with a soft
   * mask from the cross-attention of the words that differ between the prompts (default true):
   * outside the edit the output keeps the input's exact pixels. Each changed word brings its phrase
   * (the words between "a", "and", "on" and the like: "red star" in "a red star and a green star").
   * Each word map (the source row's for source words, the target row's for target words, summed over
   * heads, all blocks and all steps) is normalised by its range and resized bilinearly; a phrase's
   * map is the geometric mean of its words' maps, so it lights the red star and not the green one;
   * it is mapped to 0 below `backgroundThreshold` − 0.1 and 1 above `backgroundThreshold` + 0.1,
   * and the mask is the max over phrases. Turn it off for global edits (style, lighting), which
   * should change everything. With identical prompts there are no such words and nothing is
   * blended.
   */
  keepBackground?: boolean;
  /** The centre of the keep-background mask's soft band, 0..1 (default 0.5). */
  backgroundThreshold?: number;
  /**
   * Mutual self-attention over the source's and the target's own keys and values, [K_src; K_tgt]
   * (MasaCtrl's Union variant), instead of the source's alone (default true: on the bundled
   * scenes model, 46.7% edit success against 10.0% without it; BENCHMARKS.md).
   */
  union?: boolean;
  /**
   * false turns all attention control off (with `guidanceCorrection: false` too, the target
   * branch is plain generation from the inverted noise).
   */
  control?: boolean;
  /** Fraction of tokens merged before self-attention, 0..0.75 (default 0.5 at ≥ 1024 tokens, else 0). */
  mergeRatio?: number;
  /** Seed for anything random (merge destinations). */
  seed?: number;
  /** Processing size in pixels (default: the model's native area at the input's aspect ratio). */
  size?: { width: number; height: number };
  /** Also return cross-attention heat maps per target word. */
  attentionMaps?: boolean;
  /** Called as stages progress. */
  onProgress?: (event: ProgressEvent) => void;
  /** Called with warnings (e.g. a truncated prompt). Default: console.warn. */
  onWarning?: (message: string) => void;
}

/** What `edit()` returns. */
export interface EditResult {
  /** The edited image, at the input's size. */
  edited: RgbaImage;
  /** The source branch's reconstruction, at the input's size. */
  reconstruction: RgbaImage;
  /** The keep-background mask (grey RGBA at the input's size, white = edited), when one was used. */
  editMask?: RgbaImage;
  /** Target word → heat map (grey RGBA at the input's size), when asked for. */
  attentionMaps?: Map<string, RgbaImage>;
  /** Seconds per stage. */
  timings: Record<string, number>;
  /** The options actually used, defaults filled in. */
  used: Record<string, unknown>;
}
