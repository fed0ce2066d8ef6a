// Strict matching of the tensors a model expects against a checkpoint's keys, as tinygrad's
// `load_state_dict(strict=True)` and candle's VarBuilder do: missing, unused and mis-shaped keys
// are all reported by name.

import type { TensorReader } from "./tensor_reader.ts";

/** Keys with shapes; a shape of `undefined` means "any shape". */
export type KeyShapes =
  | ReadonlyMap<string, readonly number[] | undefined>
  | Readonly<Record<string, readonly number[] | undefined>>;

/** A key whose shape differs between model and checkpoint. */
export interface ShapeMismatch {
  /** The key. */
  key: string;
  /** What the model expects. */
  expected: readonly number[];
  /** What the checkpoint holds. */
  actual: readonly number[];
}

/** The outcome of {@link matchKeys}. */
export interface KeyMatchReport {
  /** Expected keys the checkpoint lacks, sorted. */
  missing: string[];
  /** Checkpoint keys the model does not expect, sorted. */
  unused: string[];
  /** Keys present on both sides with different shapes, sorted by key. */
  shapeMismatches: ShapeMismatch[];
}

function toMap(shapes: KeyShapes): ReadonlyMap<string, readonly number[] | undefined> {
  return shapes instanceof Map ? shapes : new Map(Object.entries(shapes));
}

/**
 * Compares expected keys (and shapes) with a checkpoint.
 * @param expected keys the model will load, with shapes
 * @param checkpoint a tensor reader, or keys with shapes
 * @returns missing, unused and mis-shaped keys
 * @example matchKeys({ "proj.weight": [4, 8] }, reader).missing
 */
export function matchKeys(
  expected: KeyShapes,
  checkpoint: Pick<TensorReader, "keys" | "info"> | KeyShapes,
): KeyMatchReport {
  const want = toMap(expected);
  const have = "keys" in checkpoint && typeof checkpoint.keys === "function" &&
      "info" in checkpoint
    ? new Map(checkpoint.keys().map((k) => [k, (checkpoint as TensorReader).info(k).shape]))
    : toMap(checkpoint as KeyShapes);
  const missing = [...want.keys()].filter((k) => !have.has(k)).sort();
  const unused = [...have.keys()].filter((k) => !want.has(k)).sort();
  const shapeMismatches: ShapeMismatch[] = [];
  for (const [key, shape] of [...want].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const actual = have.get(key);
    if (!shape || !actual) continue;
    if (shape.length !== actual.length || shape.some((d, i) => d !== actual[i])) {
      shapeMismatches.push({ key, expected: [...shape], actual: [...actual] });
    }
  }
  return { missing, unused, shapeMismatches };
}

/**
 * Quotes up to `limit` names and counts the rest: `"a", "b" and 3 more`.
 * @param names the names
 * @param limit how many to show (default 10)
 * @returns the list as text
 * @example formatKeyList(["a", "b", "c"], 2) === '"a", "b" and 1 more'
 */
export function formatKeyList(names: readonly string[], limit = 10): string {
  const shown = names.slice(0, limit).map((n) => `"${n}"`).join(", ");
  return names.length > limit ? `${shown} and ${names.length - limit} more` : shown;
}

/** Options of {@link assertKeysMatch}. */
export interface AssertKeysOptions {
  /** Accept checkpoint keys the model does not use (default false: strict). */
  allowUnused?: boolean;
  /** How many names to list per category (default 10). */
  limit?: number;
}

/**
 * Throws an Error unless the checkpoint has exactly the expected keys and shapes.
 * @param expected keys the model will load, with shapes
 * @param checkpoint a tensor reader (its `path` is named in the message), or keys with shapes
 * @param options `allowUnused`, `limit`
 * @returns nothing; the error lists missing, unused and mis-shaped keys by name
 * @example assertKeysMatch(model.expectedKeys(), await openSafetensors(path))
 */
export function assertKeysMatch(
  expected: KeyShapes,
  checkpoint: Pick<TensorReader, "keys" | "info" | "path"> | KeyShapes,
  options: AssertKeysOptions = {},
): void {
  const { allowUnused = false, limit = 10 } = options;
  const r = matchKeys(expected, checkpoint);
  const problems: string[] = [];
  if (r.missing.length) {
    problems.push(`${r.missing.length} missing (${formatKeyList(r.missing, limit)})`);
  }
  if (r.unused.length && !allowUnused) {
    problems.push(`${r.unused.length} unused (${formatKeyList(r.unused, limit)})`);
  }
  if (r.shapeMismatches.length) {
    const shown = r.shapeMismatches.slice(0, limit).map((m) =>
      `"${m.key}" expected [${m.expected.join(", ")}], got [${m.actual.join(", ")}]`
    );
    const more = r.shapeMismatches.length - shown.length;
    problems.push(
      `${r.shapeMismatches.length} with the wrong shape (${shown.join("; ")}${
        more ? ` and ${more} more` : ""
      })`,
    );
  }
  if (!problems.length) return;
  const path = typeof (checkpoint as { path?: unknown }).path === "string"
    ? ` from "${(checkpoint as { path: string }).path}"`
    : "";
  throw new Error(`Cannot load weights${path}: keys ${problems.join(", ")}`);
}
