// Defaults and range checks of the edit options (SPEC §10); errors name the option, its value and
// its range.

import type { EditOptions } from "./edit_options.ts";
import type { PixArtPipeline } from "./pixart_pipeline.ts";
import { blendWords } from "./local_blend.ts";

/** Edit options with defaults filled in. */
export interface ResolvedEditOptions {
  steps: number;
  guidance: number;
  inversion: "dpm++" | "ddim";
  threshold: number;
  blocks: [number, number];
  crossReplace: number;
  control: boolean;
  union: boolean;
  guidanceCorrection: boolean;
  mergeRatio: number;
  seed: number;
  /** Keep the background (EditOptions.keepBackground): the band's centre and ends, or off. */
  keepBackground?: { threshold: number; low: number; high: number };
  /** Prompt-to-Prompt LocalBlend: the target word, threshold and first blended step. */
  localBlend?: { word: string; threshold: number; start: number };
  /** The same values as a plain record, for reports. */
  used: Record<string, unknown>;
}

function check(ok: boolean, name: string, value: unknown, range: string): void {
  if (!ok) {
    throw new RangeError(
      `Cannot edit: ${name} ${JSON.stringify(value)} is out of range (${range})`,
    );
  }
}

/** Fills in defaults and validates; throws RangeError/TypeError naming the option. */
export function resolveEditOptions(pipe: PixArtPipeline, o: EditOptions): ResolvedEditOptions {
  for (
    const [name, text] of [["sourcePrompt", o.sourcePrompt], [
      "targetPrompt",
      o.targetPrompt,
    ]] as const
  ) {
    if (typeof text !== "string" || text.trim() === "") {
      throw new TypeError(`Cannot edit: ${name} is empty`);
    }
  }
  const n = pipe.transformer.config.numLayers;
  const steps = o.steps ?? 30;
  check(
    Number.isInteger(steps) && steps >= 1 && steps <= 1000,
    "steps",
    steps,
    "an integer in [1, 1000]",
  );
  const guidance = o.guidance ?? 4.5;
  check(Number.isFinite(guidance) && guidance >= 0, "guidance", guidance, ">= 0");
  const inversion = o.inversion ?? "dpm++";
  check(inversion === "dpm++" || inversion === "ddim", "inversion", inversion, '"dpm++" or "ddim"');
  const threshold = o.threshold ?? Math.ceil(0.2 * steps);
  check(
    Number.isInteger(threshold) && threshold >= 0 && threshold <= steps,
    "threshold",
    threshold,
    `an integer in [0, ${steps}]`,
  );
  const blocks = o.blocks ?? [Math.floor(n / 2), n - 1];
  check(
    Array.isArray(blocks) && blocks.length === 2 && blocks.every(Number.isInteger) &&
      blocks[0] >= 0 &&
      blocks[0] <= blocks[1] && blocks[1] <= n - 1,
    "blocks",
    blocks,
    `first..last inside 0..${n - 1}`,
  );
  const crossReplace = o.crossReplace ?? 0.8;
  check(crossReplace >= 0 && crossReplace <= 1, "crossReplace", crossReplace, "[0, 1]");
  const tokens = (pipe.nativeSide / pipe.sizeMultiple) ** 2;
  const mergeRatio = o.mergeRatio ?? (tokens >= 1024 ? 0.5 : 0);
  check(mergeRatio >= 0 && mergeRatio <= 0.75, "mergeRatio", mergeRatio, "[0, 0.75]");
  const seed = o.seed ?? 0;
  check(Number.isInteger(seed) && seed >= 0, "seed", seed, "an integer >= 0");
  const localBlend = resolveLocalBlend(o, steps);
  const control = o.control ?? true;
  const union = o.union ?? true;
  check(typeof union === "boolean", "union", union, "true or false");
  const guidanceCorrection = o.guidanceCorrection ?? true;
  check(
    typeof guidanceCorrection === "boolean",
    "guidanceCorrection",
    guidanceCorrection,
    "true or false",
  );
  const keepBackground = resolveKeepBackground(o);
  const used: Record<string, unknown> = {
    steps,
    guidance,
    inversion,
    threshold,
    blocks,
    crossReplace,
    control,
    union,
    guidanceCorrection,
    mergeRatio,
    seed,
    keepBackground: keepBackground !== undefined,
  };
  if (keepBackground) used.backgroundThreshold = keepBackground.threshold;
  if (localBlend) {
    used.localBlend = localBlend.word;
    used.localBlendThreshold = localBlend.threshold;
    used.localBlendStart = localBlend.start;
  }
  return {
    steps,
    guidance,
    inversion,
    threshold,
    blocks: blocks as [number, number],
    crossReplace,
    control,
    union,
    guidanceCorrection,
    mergeRatio,
    seed,
    localBlend,
    keepBackground,
    used,
  };
}

/** localBlend must be a word of the target prompt; blending starts after step ⌈0.2·steps⌉. */
function resolveLocalBlend(o: EditOptions, steps: number): ResolvedEditOptions["localBlend"] {
  if (o.localBlend === undefined) {
    if (o.localBlendThreshold !== undefined) {
      throw new TypeError(
        `Cannot edit: localBlendThreshold ${o.localBlendThreshold} needs localBlend (a target word)`,
      );
    }
    return undefined;
  }
  const words = blendWords(o.targetPrompt);
  const word = typeof o.localBlend === "string" ? o.localBlend.trim() : o.localBlend;
  if (
    typeof word !== "string" ||
    !words.some((w) => w.toLowerCase() === word.toLowerCase())
  ) {
    throw new RangeError(
      `Cannot edit: localBlend ${JSON.stringify(o.localBlend)} is not a word of the target ` +
        `prompt (its words: ${words.map((w) => JSON.stringify(w)).join(", ")})`,
    );
  }
  const threshold = o.localBlendThreshold ?? 0.3;
  check(
    typeof threshold === "number" && threshold >= 0 && threshold <= 1,
    "localBlendThreshold",
    threshold,
    "[0, 1]",
  );
  return { word, threshold, start: Math.ceil(0.2 * steps) };
}

/** keepBackground (default on) and the centre of its band, ± 0.1. */
function resolveKeepBackground(o: EditOptions): ResolvedEditOptions["keepBackground"] {
  const on = o.keepBackground ?? true;
  check(typeof on === "boolean", "keepBackground", on, "true or false");
  if (!on) {
    if (o.backgroundThreshold !== undefined) {
      throw new TypeError(
        `Cannot edit: backgroundThreshold ${o.backgroundThreshold} needs keepBackground`,
      );
    }
    return undefined;
  }
  const t = o.backgroundThreshold ?? 0.5;
  check(typeof t === "number" && t >= 0 && t <= 1, "backgroundThreshold", t, "[0, 1]");
  return { threshold: t, low: t - 0.1, high: t + 0.1 };
}
