// The editor's flags: parsing (node:util parseArgs) with friendly usage errors, and validation of
// every value with an error that names the flag, the value and the accepted range.

import { parseArgs } from "node:util";
import type { EditOptions } from "../pipeline/edit_options.ts";
import { defaultImagePath, DEMO_OUT, DEMO_SOURCE, DEMO_STEPS, DEMO_TARGET } from "./_defaults.ts";
import { UsageError } from "./_errors.ts";

/** Every flag, as parseArgs options. */
export const FLAGS = {
  image: { type: "string", short: "i" },
  source: { type: "string" },
  target: { type: "string" },
  out: { type: "string", short: "o" },
  model: { type: "string" },
  steps: { type: "string" },
  guidance: { type: "string" },
  threshold: { type: "string" },
  blocks: { type: "string" },
  "merge-ratio": { type: "string" },
  "cross-replace": { type: "string" },
  "local-blend": { type: "string" },
  "no-control": { type: "boolean" },
  "no-union": { type: "boolean" },
  "no-guidance-correction": { type: "boolean" },
  "no-keep-background": { type: "boolean" },
  "background-threshold": { type: "string" },
  inversion: { type: "string" },
  seed: { type: "string" },
  size: { type: "string" },
  grid: { type: "string" },
  "attention-maps": { type: "string" },
  "max-pixels": { type: "string" },
  "prompt-cache": { type: "string" },
  "no-prompt-cache": { type: "boolean" },
  batch: { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const;

/** A flag's name without the dashes. */
export type FlagName = keyof typeof FLAGS;

/** Parsed flags: strings for value flags, booleans for switches. */
export type FlagValues = {
  [K in FlagName]?: (typeof FLAGS)[K]["type"] extends "boolean" ? boolean : string;
};

/** Flags that describe one edit: the keys a line of a --batch file may use. */
export const EDIT_FLAGS: readonly FlagName[] = [
  "image",
  "source",
  "target",
  "out",
  "steps",
  "guidance",
  "threshold",
  "blocks",
  "merge-ratio",
  "cross-replace",
  "local-blend",
  "no-control",
  "no-union",
  "no-guidance-correction",
  "no-keep-background",
  "background-threshold",
  "inversion",
  "seed",
  "size",
  "grid",
  "attention-maps",
];

/** Denoising steps when --steps is not given (EditOptions' documented default). */
export const DEFAULT_STEPS = 30;

/** The pipeline options a CLI edit sets; unset ones take the pipeline's defaults. */
export type EditSettings = Omit<
  EditOptions,
  "image" | "sourcePrompt" | "targetPrompt" | "onProgress" | "onWarning" | "attentionMaps"
>;

/** One edit, validated: paths as given (relative to the working folder), prompts and options. */
export interface EditSpec {
  /** The input image file. */
  image: string;
  /** The source and target prompts, non-empty. */
  source: string;
  target: string;
  /** The edited image's file (.png, .jpg or .jpeg). */
  out: string;
  /** The grid file (input | reconstruction | edit | keep-background mask when used), if asked for. */
  grid?: string;
  /** The folder for attention heat maps, if asked for. */
  attentionMaps?: string;
  /** Options for `edit()`. */
  settings: EditSettings;
}

/** The flag a parseArgs message names, as the user wrote it (`'-o, --out <value>'` → "--out"). */
function flagIn(message: string, args: string[]): string {
  const names = (/'(-[^']*?)(?: <value>)?'/.exec(message)?.[1] ?? "?").split(", ");
  return names.find((n) => args.some((a) => a === n || a.startsWith(`${n}=`))) ??
    names[names.length - 1];
}

/**
 * Parses command-line arguments; unknown flags, missing values and stray arguments are usage
 * errors worded for people.
 *
 * @param args `Deno.args`
 * @returns the flag values
 * @throws {UsageError} for anything parseArgs refuses
 */
export function parseFlags(args: string[]): FlagValues {
  try {
    const { values } = parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false });
    return { ...values } as FlagValues; // a plain object (parseArgs' has a null prototype)
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    const message = e instanceof Error ? e.message : String(e);
    const flag = flagIn(message, args);
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(`Unknown flag "${flag}" (see --help for the flags)`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const arg = /argument '(.*)'\. /s.exec(message)?.[1] ?? "?";
      throw new UsageError(
        `Unexpected argument "${arg}": every value follows its flag, e.g. --image ${arg}`,
      );
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      if (/does not take an argument/.test(message)) {
        throw new UsageError(`Flag "${flag}" takes no value`);
      }
      if (/ambiguous/.test(message)) {
        const next = args[args.indexOf(flag) + 1] ?? "";
        throw new UsageError(
          `Flag "${flag}" needs a value, got the flag-like "${next}" (write ${flag}=${next} ` +
            `for a value starting with "-")`,
        );
      }
      throw new UsageError(`Flag "${flag}" needs a value`);
    }
    throw new UsageError(message.replace(/\s*\n\s*/g, " "));
  }
}

// --- value validation ---------------------------------------------------------------------------

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

function invalid(label: string, value: string, expected: string): UsageError {
  return new UsageError(`Invalid ${label} "${value}": expected ${expected}`);
}

function number(label: string, value: string, expected: string, ok: (x: number) => boolean) {
  const x = NUMBER.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(x) || !ok(x)) throw invalid(label, value, expected);
  return x;
}

function integer(label: string, value: string, lo: number, hi: number, expected?: string) {
  const text = expected ?? `an integer from ${lo} to ${hi}`;
  return number(label, value, text, (x) => Number.isInteger(x) && x >= lo && x <= hi);
}

function prompt(label: string, value: string): string {
  if (value.trim() === "") throw invalid(label, value, "a non-empty prompt");
  return value;
}

function imageFile(label: string, value: string): string {
  if (!/\.(png|jpe?g)$/i.test(value) || /[\\/]$/.test(value)) {
    throw invalid(label, value, "a file name ending in .png, .jpg or .jpeg");
  }
  return value;
}

function path(label: string, value: string): string {
  if (value === "") throw invalid(label, value, "a path");
  return value;
}

/** The words of a prompt, without punctuation. */
export function promptWords(text: string): string[] {
  return text.split(/[^\p{L}\p{N}'-]+/u).filter((w) => w !== "");
}

/** How flags are named in messages: `--steps` on the command line, a key on a batch line. */
export type Labeler = (flag: FlagName) => string;

const cliLabel: Labeler = (flag) => `--${flag}`;

/**
 * Validates the flags of one edit and turns them into an {@linkcode EditSpec}.
 *
 * @param values the edit's flags (command line, or a batch line merged over the command line)
 * @param options `demo`: fill in the default image, prompts and output; `label`: flag names in
 * messages
 * @returns the validated edit
 * @throws {UsageError} for a missing or invalid value, naming the flag, the value and the range
 */
export function editSpec(
  values: FlagValues,
  options: { demo?: boolean; label?: Labeler } = {},
): EditSpec {
  const label = options.label ?? cliLabel;
  const demo = options.demo ?? false;
  const image = values.image ?? (demo ? defaultImagePath() : undefined);
  const source = values.source ?? (demo ? DEMO_SOURCE : undefined);
  const target = values.target ?? (demo ? DEMO_TARGET : undefined);
  const out = values.out ?? (demo ? DEMO_OUT : undefined);
  for (const [flag, v] of [["image", image], ["source", source], ["target", target]] as const) {
    if (v === undefined) {
      throw new UsageError(
        `Missing ${label(flag)}: an edit needs an image, source and target prompts and an ` +
          `output file${options.label ? "" : " (see --help)"}`,
      );
    }
  }
  if (out === undefined) {
    throw new UsageError(
      `Missing ${label("out")}: name the edited image's file, e.g. out/edit.png`,
    );
  }
  const settings: EditSettings = {};
  const v = values;
  if (v.steps !== undefined) settings.steps = integer(label("steps"), v.steps, 1, 1000);
  else if (demo) settings.steps = DEMO_STEPS;
  if (v.guidance !== undefined) {
    settings.guidance = number(label("guidance"), v.guidance, "a finite number ≥ 0", (x) => x >= 0);
  }
  if (v.threshold !== undefined) {
    const steps = settings.steps ?? DEFAULT_STEPS;
    const of = v.steps === undefined
      ? ` (the ${demo ? "demo's" : "default"} ${label("steps")})`
      : ` (${label("steps")})`;
    settings.threshold = integer(
      label("threshold"),
      v.threshold,
      0,
      steps,
      `an integer from 0 to ${steps}${of}`,
    );
  }
  if (v.blocks !== undefined) {
    const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(v.blocks);
    const a = m ? Number(m[1]) : NaN, b = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || !(a <= b) || !Number.isSafeInteger(b)) {
      throw invalid(
        label("blocks"),
        v.blocks,
        `"A..B", block indices with 0 ≤ A ≤ B, e.g. "14..27"`,
      );
    }
    settings.blocks = [a, b];
  }
  if (v["merge-ratio"] !== undefined) {
    const text = "a number from 0 to 0.75";
    settings.mergeRatio = number(
      label("merge-ratio"),
      v["merge-ratio"],
      text,
      (x) => x >= 0 && x <= 0.75,
    );
  }
  if (v["cross-replace"] !== undefined) {
    const text = "a fraction from 0 to 1";
    settings.crossReplace = number(
      label("cross-replace"),
      v["cross-replace"],
      text,
      (x) => x >= 0 && x <= 1,
    );
  }
  if (v["local-blend"] !== undefined) {
    // Matched without regard to case, passed on as the target prompt spells it.
    const wanted = v["local-blend"].trim().toLowerCase();
    const word = promptWords(target!).find((w) => w.toLowerCase() === wanted);
    if (word === undefined) {
      throw invalid(
        label("local-blend"),
        v["local-blend"],
        `a word of the target prompt "${target}"`,
      );
    }
    settings.localBlend = word;
  }
  if (v["no-control"]) settings.control = false;
  if (v["no-union"]) settings.union = false;
  if (v["no-guidance-correction"]) settings.guidanceCorrection = false;
  if (v["no-keep-background"]) {
    if (v["background-threshold"] !== undefined) {
      throw invalid(
        label("background-threshold"),
        v["background-threshold"],
        "no value with --no-keep-background",
      );
    }
    settings.keepBackground = false;
  }
  if (v["background-threshold"] !== undefined) {
    settings.backgroundThreshold = number(
      label("background-threshold"),
      v["background-threshold"],
      "a fraction from 0 to 1",
      (x) => x >= 0 && x <= 1,
    );
  }
  if (v.inversion !== undefined) {
    if (v.inversion !== "dpm++" && v.inversion !== "ddim") {
      throw invalid(label("inversion"), v.inversion, `"dpm++" or "ddim"`);
    }
    settings.inversion = v.inversion;
  }
  if (v.seed !== undefined) {
    settings.seed = integer(label("seed"), v.seed, 0, Number.MAX_SAFE_INTEGER);
  }
  if (v.size !== undefined) {
    const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(v.size);
    const w = m ? Number(m[1]) : 0, h = m ? Number(m[2]) : 0;
    if (!m || w < 1 || h < 1 || !Number.isSafeInteger(w * h)) {
      throw invalid(label("size"), v.size, `"WxH" with positive integers, e.g. "512x512"`);
    }
    settings.size = { width: w, height: h };
  }
  const spec: EditSpec = {
    image: path(label("image"), image!),
    source: prompt(label("source"), source!),
    target: prompt(label("target"), target!),
    out: imageFile(label("out"), out),
    settings,
  };
  if (v.grid !== undefined) spec.grid = imageFile(label("grid"), v.grid);
  if (v["attention-maps"] !== undefined) {
    spec.attentionMaps = path(label("attention-maps"), v["attention-maps"]);
  }
  return spec;
}

/**
 * Validates --prompt-cache and --no-prompt-cache.
 * @param values the command line's flags
 * @param fallback the folder used when neither flag is given (undefined: no cache)
 * @returns the cache folder as given, or false for no cache
 * @throws {UsageError} when both flags are given or the folder is empty
 */
export function promptCacheOf(values: FlagValues, fallback: string | undefined): string | false {
  const dir = values["prompt-cache"];
  if (values["no-prompt-cache"]) {
    if (dir !== undefined) {
      throw new UsageError(`Flags "--prompt-cache" and "--no-prompt-cache" exclude each other`);
    }
    return false;
  }
  if (dir === undefined) return fallback ?? false;
  return path("--prompt-cache", dir);
}

/**
 * Validates --max-pixels.
 * @param value the flag's value, or undefined
 * @returns the limit, or undefined for decodeImage's default
 */
export function maxPixelsOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return integer("--max-pixels", value, 1, Number.MAX_SAFE_INTEGER, "a positive integer");
}
