// The editor CLI without its process: flags → checks → load once → edits → outputs, with stdout,
// stderr and the pipeline passed in so tests can run it in-process with a fake pipeline.
// Everything that can be checked before the (slow) model load is checked first.

import { resolve } from "node:path";
import type { RgbaImage } from "../image/rgba_image.ts";
import type { EditBackend } from "./_backend.ts";
import { readBatch } from "./_batch.ts";
import { defaultModelPath, defaultPromptCacheDir } from "./_defaults.ts";
import { exitCodeOf, formatError, messageOf, UsageError } from "./_errors.ts";
import {
  EDIT_FLAGS,
  type EditSpec,
  editSpec,
  type FlagValues,
  maxPixelsOf,
  parseFlags,
  promptCacheOf,
} from "./_flags.ts";
import { HELP } from "./_help.ts";
import { type EditSummary, readInputImage, runJob } from "./_job.ts";
import { checkOutput, guard, type Guarded, osReason, realPathOf } from "./_output.ts";
import { formatDuration, ProgressView } from "./_progress.ts";

/** The process around the CLI. */
export interface CliIo {
  /** Writes to stdout (JSON summaries, help). */
  stdout: (text: string) => void;
  /** Writes to stderr (progress, warnings, errors). */
  stderr: (text: string) => void;
  /** stderr is a terminal: progress redraws in place. */
  stderrIsTerminal: boolean;
  /** The pipeline, loaded only once an edit is about to run. */
  backend: () => Promise<EditBackend>;
  /** Where relative paths start; default Deno.cwd(). */
  cwd?: string;
  /** Milliseconds clock; default performance.now. */
  now?: () => number;
}

interface Job {
  spec: EditSpec;
  /** The batch file's line. */
  line?: number;
  /** The decoded input (single edits are decoded before the model loads). */
  image?: RgbaImage;
}

/**
 * Runs the editor with command-line arguments.
 * @param args the arguments, e.g. `Deno.args`
 * @param io stdout, stderr and the pipeline
 * @returns the exit code: 0 success, 1 failure, 2 usage error
 */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  const json = args.includes("--json");
  const verbose = args.includes("--verbose") || args.includes("-v");
  try {
    const flags = parseFlags(args);
    if (flags.help) {
      io.stdout(HELP);
      return 0;
    }
    return await run(flags, io);
  } catch (e) {
    io.stderr(formatError(e, verbose));
    if (json) {
      io.stdout(`${JSON.stringify({ ok: false, error: messageOf(e), exitCode: exitCodeOf(e) })}\n`);
    }
    return exitCodeOf(e);
  }
}

/** Checks that `path` is a diffusers pipeline folder (exit 1 when not). */
async function checkModelFolder(path: string, cwd: string): Promise<void> {
  const abs = resolve(cwd, path);
  const stat = await Deno.stat(abs).catch((e) => e as Error);
  if (stat instanceof Error) {
    throw new Error(`Cannot open model folder "${path}": ${osReason(stat)}`);
  }
  if (!stat.isDirectory) throw new Error(`Cannot open model folder "${path}": it is not a folder`);
  const index = await Deno.stat(resolve(abs, "model_index.json")).catch(() => undefined);
  if (!index?.isFile) {
    throw new Error(
      `Cannot open model folder "${path}": it has no model_index.json (expected a diffusers ` +
        `pipeline folder such as a snapshot of PixArt-alpha/PixArt-XL-2-512x512)`,
    );
  }
}

function outputLabel(flag: string, value: string, line: number | undefined, batch?: string) {
  return line === undefined
    ? `--${flag} "${value}"`
    : `"${flag}" "${value}" on line ${line} of "${batch}"`;
}

/** Refuses outputs that name inputs or each other; every check runs before the model loads. */
async function checkOutputs(jobs: Job[], guarded: Guarded[], cwd: string, batch?: string) {
  const written = new Map<string, string>();
  const claim = (real: string, label: string) => {
    const other = written.get(real);
    if (other !== undefined) throw new UsageError(`${label} is also written as ${other}`);
    written.set(real, label);
  };
  for (const { spec, line } of jobs) {
    for (const [flag, value] of [["out", spec.out], ["grid", spec.grid]] as const) {
      if (value === undefined) continue;
      const label = outputLabel(flag, value, line, batch);
      claim(await checkOutput(label, value, guarded, cwd), label);
    }
    if (spec.attentionMaps !== undefined) {
      const label = outputLabel("attention-maps", spec.attentionMaps, line, batch);
      const real = await realPathOf(spec.attentionMaps, cwd);
      const stat = await Deno.stat(real).catch(() => undefined);
      if (stat && !stat.isDirectory) {
        throw new UsageError(`Cannot write ${label}: it is not a folder`);
      }
      // A file inside the folder stands for all of them: the guard refuses guarded folders.
      await checkOutput(label, resolve(real, "map.png"), guarded, cwd);
      claim(`${real}/`, label);
    }
  }
}

async function run(flags: FlagValues, io: CliIo): Promise<number> {
  const cwd = io.cwd ?? Deno.cwd();
  const now = io.now ?? (() => performance.now());
  const quiet = flags.quiet ?? false;
  const maxPixels = maxPixelsOf(flags["max-pixels"]);
  const promptCache = promptCacheOf(flags, defaultPromptCacheDir());
  const modelPath = flags.model ?? defaultModelPath();
  const batch = flags.batch;

  // 1. Flags and the batch file (usage errors first).
  let jobs: Job[];
  const guarded: Guarded[] = [];
  if (batch !== undefined) {
    const defaults: FlagValues = {};
    for (const f of EDIT_FLAGS) {
      if (flags[f] !== undefined) (defaults as Record<string, unknown>)[f] = flags[f];
    }
    jobs = await readBatch(batch, { defaults, cwd });
    guarded.push(await guard(batch, `the batch file "${batch}"`, false, cwd));
  } else {
    jobs = [{ spec: editSpec(flags, { demo: flags.image === undefined }) }];
  }

  // 2. Inputs: the model folder, then every image (decoded now for a single edit).
  await checkModelFolder(modelPath, cwd);
  guarded.push(await guard(modelPath, `the model folder "${modelPath}"`, true, cwd));
  for (const job of jobs) {
    const { image } = job.spec;
    if (batch === undefined) {
      job.image = await readInputImage(image, cwd, maxPixels);
    } else {
      const stat = await Deno.stat(resolve(cwd, image)).catch((e) => e as Error);
      if (stat instanceof Error || !stat.isFile) {
        const why = stat instanceof Error ? osReason(stat) : "it is not a file";
        throw new Error(`Cannot read image "${image}" (line ${job.line} of "${batch}"): ${why}`);
      }
    }
    guarded.push(await guard(image, `the input image "${image}"`, false, cwd));
  }

  // 3. Outputs: never an input, never two outputs in one file.
  await checkOutputs(jobs, guarded, cwd, batch);

  // 4. The pipeline: adapter, model, edits.
  const progress = new ProgressView({
    write: quiet ? () => {} : io.stderr,
    tty: io.stderrIsTerminal,
    now,
  });
  const warn = (m: string) => {
    progress.end();
    io.stderr(`warning: ${m}\n`);
  };
  const backend = await io.backend();
  const adapter = await backend.adapter();
  if (!quiet) progress.line(`adapter: ${adapter}`);
  const tLoad = now();
  const model = await backend.load(resolve(cwd, modelPath), (e) => progress.update(e), {
    promptCache: promptCache && resolve(cwd, promptCache),
  });
  progress.end();
  const loadSeconds = (now() - tLoad) / 1000;

  let failed = 0;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i];
    if (batch !== undefined) progress.prefix = `[${i + 1}/${jobs.length}] `;
    try {
      const summary = await runJob(
        {
          backend,
          model,
          modelPath,
          adapter,
          loadSeconds,
          progress,
          guarded,
          cwd,
          maxPixels,
          warn,
          now,
        },
        job.spec,
        job.line,
        job.image,
      );
      job.image = undefined;
      if (flags.json) io.stdout(`${JSON.stringify(summary)}\n`);
      if (!quiet) progress.line(`${progress.prefix}${describe(summary)}`);
    } catch (e) {
      if (batch === undefined) throw e;
      failed++;
      progress.end();
      const where = ` (line ${job.line} of "${batch}")`;
      io.stderr(formatError(e, flags.verbose ?? false).replace(/\n/, `${where}\n`));
      if (flags.json) {
        const error = messageOf(e) + where;
        io.stdout(`${JSON.stringify({ ok: false, line: job.line, error, exitCode: 1 })}\n`);
      }
    }
  }
  if (failed > 0) {
    io.stderr(`error: ${failed} of ${jobs.length} edits failed\n`);
    return 1;
  }
  return 0;
}

function describe(s: EditSummary): string {
  const files = [s.outputs.edited];
  if (s.outputs.grid) files.push(s.outputs.grid);
  const maps = Object.keys(s.outputs.attentionMaps ?? {}).length;
  if (maps > 0) files.push(`${maps} attention map${maps === 1 ? "" : "s"}`);
  return `wrote ${files.join(", ")} (${s.input.width}x${s.input.height}) in ${
    formatDuration(s.timings.total)
  }`;
}
