// Shared by the edit-pipeline tests: the tiny fixture pipeline (loaded once per test file, f32) and
// a deterministic test image with gradients and seeded noise.

import { loadPipeline, type PixArtPipeline } from "../../pipeline/pixart_pipeline.ts";
import type { RgbaImage } from "../../image/rgba_image.ts";
import { rng, testGpu } from "../_harness.ts";
import { FIXTURES } from "../model/_fixtures.ts";

let shared: PixArtPipeline | undefined;

/** tests/fixtures/models/tiny-pixart on the test GPU with f32 weights, loaded once. */
export async function tinyPipeline(): Promise<PixArtPipeline> {
  shared ??= await loadPipeline(`${FIXTURES}tiny-pixart`, { gpu: await testGpu(), dtype: "f32" });
  return shared;
}

/** w×h RGBA: red and green ramps, blue seeded noise. */
export function testImage(w: number, h: number, seed: number): RgbaImage {
  const r = rng(seed), data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const x = i % w, y = Math.floor(i / w);
    data.set([x * 8, y * 8, Math.round(r() * 255), 255], 4 * i);
  }
  return { width: w, height: h, data };
}
