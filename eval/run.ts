// The edit benchmark (issue 7), `deno task eval`: edits held-out scenes of
// tests/fixtures/scenes/eval with the bundled scenes model through our own runtime, scores each
// edit with the checker (eval/edit_metrics.ts), appends one JSON line per edit to a resumable
// results file, and prints a Markdown table per configuration.
//
//   deno task eval                         # default configuration, 120 scenes
//   deno task eval --ablations             # + each ablation on the first 30 scenes
//   deno task eval --config ddim,control-off   # only these configurations
//   deno task eval --summary               # only print the table of what the file holds
//   deno task eval --grid docs/edit_examples.png   # + an example grid of the first 8 scenes
//
// Flags: --model DIR (default models/pixart-scenes-64), --count N (120), --ablation-count N (30),
// --out FILE (eval/results/edits.jsonl), --config A,B (only these configurations), --steps N
// (the editor's default, 30, unless given; recorded per line, and a results file holds one value).
// Two processes may append to one results file when they run different configurations.

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { edit, loadPipeline, type PixArtPipeline } from "../pipeline/edit.ts";
import type { EditOptions } from "../pipeline/edit_options.ts";
import type { RgbaImage } from "../image/rgba_image.ts";
import { sideBySide } from "../image/grid.ts";
import { encodePng } from "../image/encode_png.ts";
import { type EditScene, readEditSet } from "./edit_set.ts";
import { scoreEdit } from "./edit_metrics.ts";
import { type EditRow, summarize, summaryTable } from "./summary.ts";

/** The bundled scenes model. */
export const SCENES_MODEL = fileURLToPath(new URL("../models/pixart-scenes-64", import.meta.url));

/**
 * The configurations: the default (Union self-attention, the guidance correction and keeping the
 * background on), then one factor changed at a time. "local-blend" limits the edit to where the
 * edited object's target shape word attends (the CLI's --local-blend WORD).
 */
export const CONFIGS: Record<
  string,
  (scene: EditScene, steps: number) => Partial<EditOptions>
> = {
  default: () => ({}),
  ddim: () => ({ inversion: "ddim" }),
  "control-off": () => ({ control: false }),
  "threshold-0": () => ({ threshold: 0 }),
  "threshold-half": (_, steps) => ({ threshold: Math.ceil(steps / 2) }),
  "merge-0.5": () => ({ mergeRatio: 0.5 }),
  "no-union": () => ({ union: false }),
  "no-correction": () => ({ guidanceCorrection: false }),
  "no-keep-background": () => ({ keepBackground: false }),
  "local-blend": (scene) => ({ localBlend: scene.edit.targetWords.at(-1) }),
};

function readRows(path: string): EditRow[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  // one row per configuration and scene: the first, should two processes have raced on one
  const seen = new Set<string>(), rows: EditRow[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const row: EditRow = JSON.parse(line), key = `${row.config}/${row.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push(row);
  }
  return rows;
}

async function runConfig(
  pipe: PixArtPipeline,
  name: string,
  count: number,
  steps: number | undefined,
  out: string,
  done: Set<string>,
): Promise<void> {
  const scenes = await readEditSet(undefined, count);
  const options = CONFIGS[name];
  let i = 0;
  for (const scene of scenes) {
    i++;
    if (done.has(`${name}/${scene.id}`)) continue;
    const t0 = performance.now();
    const result = await edit(pipe, {
      image: scene.image,
      sourcePrompt: scene.caption,
      targetPrompt: scene.edit.targetCaption,
      steps,
      ...options(scene, steps ?? 30),
      onWarning: (m) => console.error(`${scene.id}: ${m}`),
    });
    const seconds = (performance.now() - t0) / 1000;
    const score = scoreEdit(scene, result.edited, result.reconstruction);
    const row: EditRow = {
      config: name,
      id: scene.id,
      kind: scene.edit.kind,
      ...score,
      seconds,
      used: result.used,
    };
    Deno.writeTextFileSync(out, JSON.stringify(row) + "\n", { append: true });
    console.error(
      `${name} ${i}/${scenes.length} ${scene.id} ${scene.edit.kind} ${
        score.success ? "ok" : "miss"
      } (found ${score.found.colour} ${score.found.shape}, want ${scene.edit.target.colour} ${scene.edit.target.shape}) bg ${
        score.backgroundPsnr.toFixed(1)
      } dB, ${seconds.toFixed(1)} s`,
    );
  }
}

/** Input | reconstruction | edited | ideal, one row per scene. */
async function exampleGrid(
  pipe: PixArtPipeline,
  count: number,
  steps: number | undefined,
): Promise<RgbaImage> {
  const rows: RgbaImage[] = [];
  for (const scene of await readEditSet(undefined, count)) {
    const r = await edit(pipe, {
      image: scene.image,
      sourcePrompt: scene.caption,
      targetPrompt: scene.edit.targetCaption,
      steps,
    });
    rows.push(
      sideBySide([scene.image, r.reconstruction, r.edited, scene.edit.targetImage], {
        height: 128,
      }),
    );
  }
  const width = Math.max(...rows.map((r) => r.width)), gap = 4;
  const height = rows.reduce((s, r) => s + r.height, 0) + gap * (rows.length - 1);
  const data = new Uint8Array(width * height * 4).fill(255);
  let y0 = 0;
  for (const r of rows) {
    for (let y = 0; y < r.height; y++) {
      data.set(r.data.subarray(y * r.width * 4, (y + 1) * r.width * 4), ((y0 + y) * width) * 4);
    }
    y0 += r.height + gap;
  }
  return { width, height, data };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", default: SCENES_MODEL },
      count: { type: "string", default: "120" },
      steps: { type: "string" },
      "ablation-count": { type: "string", default: "30" },
      out: { type: "string", default: "eval/results/edits.jsonl" },
      config: { type: "string" },
      ablations: { type: "boolean", default: false },
      summary: { type: "boolean", default: false },
      grid: { type: "string" },
    },
  });
  const out = values.out!;
  const count = Number(values.count), ablationCount = Number(values["ablation-count"]);
  for (const [flag, v] of [["count", count], ["ablation-count", ablationCount]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Cannot run eval: --${flag} must be a positive integer, got "${v}"`);
    }
  }
  const steps = values.steps === undefined ? undefined : Number(values.steps);
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1)) {
    throw new RangeError(`Cannot run eval: --steps must be a positive integer, got "${steps}"`);
  }
  const chosen = values.config?.split(",").map((c) => c.trim());
  for (const c of chosen ?? []) {
    if (!(c in CONFIGS)) {
      throw new RangeError(
        `Cannot run eval: unknown --config "${c}" (one of ${Object.keys(CONFIGS).join(", ")})`,
      );
    }
  }
  const earlier = readRows(out);
  const stepsUsed = new Set(earlier.map((r) => r.used.steps));
  if (!values.summary && stepsUsed.size > 0 && !stepsUsed.has(steps ?? 30)) {
    throw new RangeError(
      `Cannot run eval: ${out} holds edits at ${[...stepsUsed].join(", ")} steps, not ${
        steps ?? 30
      }; use another --out`,
    );
  }
  if (!values.summary) {
    Deno.mkdirSync(out.replace(/[^/]*$/, "") || ".", { recursive: true });
    const pipe = await loadPipeline(values.model!);
    const done = new Set(earlier.map((r) => `${r.config}/${r.id}`));
    const names = chosen ??
      ["default", ...(values.ablations ? Object.keys(CONFIGS).filter((c) => c !== "default") : [])];
    const plan = names.map((c) => [c, c === "default" ? count : ablationCount] as const);
    for (const [name, n] of plan) await runConfig(pipe, name, n, steps, out, done);
    if (values.grid) {
      const grid = await exampleGrid(pipe, 8, steps);
      const tmp = `${values.grid}.tmp`;
      Deno.writeFileSync(tmp, encodePng(grid));
      Deno.renameSync(tmp, values.grid);
      console.error(`wrote ${values.grid} (rows: input | reconstruction | edited | ideal)`);
    }
  }
  console.log(summaryTable(summarize(readRows(out), ablationCount)));
}
