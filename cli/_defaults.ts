// What `cli/edit.ts` edits when given no --image: the README's main command, on the bundled scenes
// model (models/pixart-scenes-64, trained by tools/train/ on procedural scenes).

import { fileURLToPath } from "node:url";
import { cacheDir } from "../tensor/env.ts";

/** The model folder used without --model (a diffusers pipeline folder). */
export function defaultModelPath(): string {
  return fileURLToPath(new URL("../models/pixart-scenes-64", import.meta.url));
}

/** The image edited without --image: 64x64, a red circle on a grey gradient. */
export function defaultImagePath(): string {
  return fileURLToPath(new URL("../tests/fixtures/cli/demo.png", import.meta.url));
}

/**
 * The prompt cache used without --prompt-cache: `prompts` in $DIT4EDIT_CACHE_DIR, else in
 * $XDG_CACHE_HOME/dit4edit, else in ~/.cache/dit4edit; undefined (no cache) when none is known.
 */
export function defaultPromptCacheDir(): string | undefined {
  const dir = cacheDir();
  return dir ? `${dir}/prompts` : undefined;
}

/** The demo's prompts, describing the default image and its edit. */
export const DEMO_SOURCE = "a red circle on a gray gradient background";
export const DEMO_TARGET = "a red square on a gray gradient background";

/**
 * The demo's denoising steps when --steps is not given: 20, not the editor's 30. On the bundled
 * 64×64 model 20 steps give the same picture (BENCHMARKS.md) and keep the demo well under a minute
 * on a 2-core software adapter.
 */
export const DEMO_STEPS = 20;

/** The demo's output, relative to the working folder. */
export const DEMO_OUT = "out/demo.png";
