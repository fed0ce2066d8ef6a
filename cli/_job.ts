// One edit of the CLI: read the input, call the pipeline, write the edited image, the grid and the
// attention heat maps (each atomically, each checked against the inputs), and build the summary
// that --json prints.

import { join, resolve } from "node:path";
import { decodeImage } from "../image/decode_image.ts";
import { sideBySide } from "../image/grid.ts";
import { heatmapFromGrey, overlayHeatmap } from "../image/heatmap.ts";
import { ImageDecodeError } from "../image/image_decode_error.ts";
import type { RgbaImage } from "../image/rgba_image.ts";
import type { EditBackend, LoadedModel } from "./_backend.ts";
import type { EditSpec } from "./_flags.ts";
import { checkOutput, encoderFor, type Guarded, osReason, writeFileAtomic } from "./_output.ts";
import type { ProgressView } from "./_progress.ts";

/**
 * Reads and decodes an input image.
 * @param path as given by the user
 * @param cwd the folder relative paths start from
 * @param maxPixels decodeImage's size limit, or undefined for its default
 * @throws {Error} `Cannot read image "path": reason` for a missing, unreadable, unsupported,
 * corrupt or too large file
 */
export async function readInputImage(
  path: string,
  cwd: string,
  maxPixels?: number,
): Promise<RgbaImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(resolve(cwd, path));
  } catch (e) {
    throw new Error(`Cannot read image "${path}": ${osReason(e)}`, { cause: e });
  }
  try {
    return decodeImage(bytes, { maxPixels });
  } catch (e) {
    if (!(e instanceof ImageDecodeError)) throw e;
    const reason = e.message.replace(/^Cannot decode image: /, "").replace(
      /^Cannot decode/,
      "cannot decode",
    ).replace("(maxPixels)", "(raise it with --max-pixels)");
    throw new Error(`Cannot read image "${path}": ${reason}`, { cause: e });
  }
}

/** A file name for a word's heat map: letters, digits, "-" and "_" kept, the rest "_". */
export function heatmapFileName(word: string, taken: Set<string>): string {
  const base = word.normalize("NFC").replace(/[^\p{L}\p{N}_-]+/gu, "_").replace(/^_+|_+$/g, "") ||
    "word";
  let name = `${base}.png`;
  for (let i = 2; taken.has(name.toLowerCase()); i++) name = `${base}-${i}.png`;
  taken.add(name.toLowerCase());
  return name;
}

/** What a finished edit reports (one --json line). */
export interface EditSummary {
  ok: true;
  /** The batch file's line, in batch mode. */
  line?: number;
  adapter: string;
  model: string;
  input: { path: string; width: number; height: number };
  prompts: { source: string; target: string };
  /** The options the pipeline used, defaults filled in. */
  options: Record<string, unknown>;
  /** Seconds: load (the model, shared by a batch), read, the pipeline's stages, write, and total
   * (this edit from reading to writing, without the load). */
  timings: Record<string, number>;
  outputs: { edited: string; grid?: string; attentionMaps?: Record<string, string> };
  warnings: string[];
}

/** What an edit needs beyond its spec. */
export interface JobContext {
  backend: EditBackend;
  model: LoadedModel;
  modelPath: string;
  adapter: string;
  loadSeconds: number;
  progress: ProgressView;
  guarded: readonly Guarded[];
  cwd: string;
  maxPixels?: number;
  /** Called with each warning as it happens. */
  warn: (message: string) => void;
  now: () => number;
}

const round3 = (s: number) => Math.round(s * 1000) / 1000;

/**
 * Runs one edit and writes its outputs.
 * @param ctx the loaded model and the CLI's state
 * @param spec the validated edit
 * @param line the batch line, if any
 * @param image the decoded input, if already read
 * @returns the summary
 */
export async function runJob(
  ctx: JobContext,
  spec: EditSpec,
  line?: number,
  image?: RgbaImage,
): Promise<EditSummary> {
  const t0 = ctx.now();
  const input = image ?? await readInputImage(spec.image, ctx.cwd, ctx.maxPixels);
  const tRead = ctx.now();
  const warnings: string[] = [];
  const result = await ctx.backend.edit(ctx.model, {
    image: input,
    sourcePrompt: spec.source,
    targetPrompt: spec.target,
    ...spec.settings,
    attentionMaps: spec.attentionMaps !== undefined,
    onProgress: (e) => ctx.progress.update(e),
    onWarning: (m) => {
      warnings.push(m);
      ctx.warn(m);
    },
  });
  ctx.progress.end();
  const tEdit = ctx.now();

  const files: { label: string; path: string; image: RgbaImage }[] = [
    { label: `--out "${spec.out}"`, path: spec.out, image: result.edited },
  ];
  const outputs: EditSummary["outputs"] = { edited: spec.out };
  if (spec.grid !== undefined) {
    const mask = result.editMask ? [result.editMask] : [];
    const grid = sideBySide([input, result.reconstruction, result.edited, ...mask]);
    files.push({ label: `--grid "${spec.grid}"`, path: spec.grid, image: grid });
    outputs.grid = spec.grid;
  }
  if (spec.attentionMaps !== undefined) {
    const maps: Record<string, string> = {};
    const taken = new Set<string>();
    if (!result.attentionMaps || result.attentionMaps.size === 0) {
      const m = "The pipeline returned no attention maps; nothing was written to --attention-maps";
      warnings.push(m);
      ctx.warn(m);
    }
    for (const [word, grey] of result.attentionMaps ?? []) {
      const path = join(spec.attentionMaps, heatmapFileName(word, taken));
      const shown = overlayHeatmap(result.edited, heatmapFromGrey(grey));
      files.push({ label: `--attention-maps file "${path}"`, path, image: shown });
      maps[word] = path;
    }
    outputs.attentionMaps = maps;
  }
  // Check every file before writing any, so a refusal leaves nothing half done.
  for (const f of files) await checkOutput(f.label, f.path, ctx.guarded, ctx.cwd);
  for (const f of files) {
    await writeFileAtomic(resolve(ctx.cwd, f.path), () => encoderFor(f.path)(f.image));
  }
  const tWrite = ctx.now();

  const timings: Record<string, number> = { load: round3(ctx.loadSeconds) };
  timings.read = round3((tRead - t0) / 1000);
  for (const [k, v] of Object.entries(result.timings)) timings[k] = round3(v);
  timings.write = round3((tWrite - tEdit) / 1000);
  timings.total = round3((tWrite - t0) / 1000);
  return {
    ok: true,
    ...(line !== undefined ? { line } : {}),
    adapter: ctx.adapter,
    model: ctx.modelPath,
    input: { path: spec.image, width: input.width, height: input.height },
    prompts: { source: spec.source, target: spec.target },
    options: result.used,
    timings,
    outputs,
    warnings,
  };
}
