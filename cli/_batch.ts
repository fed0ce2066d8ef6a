// --batch FILE.jsonl: one edit per line, a JSON object whose keys are the edit flags without dashes
// ({"image": "cat.png", "source": "a cat", "target": "a dog", "out": "dog.png", "steps": 20}).
// Edit flags on the command line are defaults for every line.

import { resolve } from "node:path";
import { EDIT_FLAGS, type EditSpec, editSpec, type FlagName, type FlagValues } from "./_flags.ts";
import { UsageError } from "./_errors.ts";
import { osReason } from "./_output.ts";

/** One edit of a batch file. */
export interface BatchEdit {
  /** Its line number in the file (1-based). */
  line: number;
  /** The validated edit. */
  spec: EditSpec;
}

function valueOf(key: FlagName, v: unknown, where: string): string | boolean {
  const switches: FlagName[] = [
    "no-control",
    "no-union",
    "no-guidance-correction",
    "no-keep-background",
  ];
  if (switches.includes(key)) {
    if (typeof v !== "boolean") {
      throw new UsageError(
        `Invalid "${key}" ${where}: expected true or false, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  }
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  const pair = Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number");
  if (pair && key === "blocks") return `${v[0]}..${v[1]}`;
  if (pair && key === "size") return `${v[0]}x${v[1]}`;
  throw new UsageError(
    `Invalid "${key}" ${where}: expected a string or number, got ${JSON.stringify(v)}`,
  );
}

/**
 * Parses the text of a batch file.
 *
 * @param text the file's contents
 * @param file the file's name, for messages
 * @param defaults edit flags given on the command line, overridden by each line's keys
 * @returns the edits, in file order
 * @throws {UsageError} for a line that is not a JSON object, an unknown key or an invalid value
 */
export function parseBatch(text: string, file: string, defaults: FlagValues = {}): BatchEdit[] {
  const edits: BatchEdit[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1, source = lines[i].trim();
    if (source === "") continue;
    const where = `on line ${line} of "${file}"`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(source);
    } catch (e) {
      throw new UsageError(
        `Invalid batch file "${file}": line ${line} is not JSON (${(e as Error).message})`,
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new UsageError(`Invalid batch file "${file}": line ${line} is not a JSON object`);
    }
    const values: FlagValues = { ...defaults };
    for (const [key, v] of Object.entries(parsed)) {
      if (!EDIT_FLAGS.includes(key as FlagName)) {
        const hint = key === "model"
          ? "one model serves the whole batch: give --model on the command line"
          : `a line may use ${EDIT_FLAGS.map((f) => `"${f}"`).join(", ")}`;
        throw new UsageError(`Unknown key "${key}" ${where}: ${hint}`);
      }
      (values as Record<string, unknown>)[key] = valueOf(key as FlagName, v, where);
    }
    edits.push({ line, spec: editSpec(values, { label: (f) => `"${f}" ${where}` }) });
  }
  if (edits.length === 0) throw new UsageError(`Batch file "${file}" holds no edits`);
  return edits;
}

/**
 * Reads and parses a batch file.
 * @param path the file, as given (messages show it so)
 * @param options `defaults`: edit flags from the command line; `cwd`: where relative paths start
 * @returns the edits
 * @throws {Error} `Cannot read batch file ...` when the file cannot be read (exit 1)
 * @throws {UsageError} for bad contents (exit 2)
 */
export async function readBatch(
  path: string,
  options: { defaults?: FlagValues; cwd?: string } = {},
): Promise<BatchEdit[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(resolve(options.cwd ?? Deno.cwd(), path));
  } catch (e) {
    throw new Error(`Cannot read batch file "${path}": ${osReason(e)}`, { cause: e });
  }
  return parseBatch(text, path, options.defaults);
}
