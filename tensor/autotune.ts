// Optional autotuning: time each variant of a kernel once on this adapter and remember the winner
// on disk (DIT4EDIT_CACHE_DIR or XDG cache). Off unless DIT4EDIT_AUTOTUNE=1; never in tests or CI.

import type { Gpu } from "./device.ts";
import { autotuneRequested, cacheDir } from "./env.ts";

type Choices = Record<string, Record<string, string>>; // adapter -> "kernel|shape" -> variant

const loaded = new WeakMap<Gpu, Record<string, string>>();

function file(dir = cacheDir()): string | undefined {
  return dir ? `${dir}/autotune.json` : undefined;
}

/** The cached choice for a kernel and shape class on this device, if autotuning is on. */
export function tunedChoice(gpu: Gpu, kernel: string, shapeKey: string): string | undefined {
  return loaded.get(gpu)?.[`${kernel}|${shapeKey}`];
}

/** Loads this adapter's cached choices when DIT4EDIT_AUTOTUNE=1 (or `force`). */
export async function loadAutotune(gpu: Gpu, options: { dir?: string; force?: boolean } = {}) {
  if (!options.force && !autotuneRequested()) return;
  const path = file(options.dir);
  if (!path) return;
  try {
    const all = JSON.parse(await Deno.readTextFile(path)) as Choices;
    loaded.set(gpu, all[gpu.description] ?? {});
  } catch {
    loaded.set(gpu, {}); // no cache yet, or unreadable: start empty
  }
}

/**
 * Times each variant with `time(name)` (ms, smaller is better), records the fastest for this
 * kernel and shape class, saves the cache, and returns the winner.
 */
export async function autotune(
  gpu: Gpu,
  kernel: string,
  shapeKey: string,
  variants: readonly string[],
  time: (variant: string) => Promise<number>,
  options: { dir?: string } = {},
): Promise<string> {
  let best = variants[0], bestMs = Infinity;
  for (const v of variants) {
    const ms = await time(v);
    if (ms < bestMs) [best, bestMs] = [v, ms];
  }
  const mine = loaded.get(gpu) ?? {};
  mine[`${kernel}|${shapeKey}`] = best;
  loaded.set(gpu, mine);
  const path = file(options.dir);
  if (path) {
    let all: Choices = {};
    try {
      all = JSON.parse(await Deno.readTextFile(path));
    } catch { /* first write */ }
    all[gpu.description] = mine;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(all, null, 2));
    await Deno.rename(tmp, path);
  }
  return best;
}
