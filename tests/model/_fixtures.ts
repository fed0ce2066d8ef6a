// Fixture access for model parity tests. Fixtures come from tools/make_model_fixtures.py
// (torch 2.15.0, diffusers 0.42.1, transformers 5.23.0; see tests/fixtures/models/manifest.json).

import { openSafetensors, type SafetensorsFile } from "../../io/safetensors.ts";
import { Weights } from "../../tensor/weights.ts";
import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";

/** Folder of the model fixtures. */
export const FIXTURES = new URL("../fixtures/models/", import.meta.url).pathname;

/** Per-element tolerance for single ops and one block (SPEC §11). */
export const BLOCK_TOL = { atol: 1e-5, rtol: 1e-4 };
/** Per-element tolerance for a whole multi-block forward (SPEC §11). */
export const FORWARD_TOL = { atol: 1e-4, rtol: 1e-3 };

/** Opens a reference file under the fixtures folder. */
export function reference(name: string): Promise<SafetensorsFile> {
  return openSafetensors(`${FIXTURES}${name}`);
}

/** Uploads a reference tensor as f32. */
export async function upload(gpu: Gpu, ref: SafetensorsFile, key: string): Promise<Tensor> {
  return Tensor.from(gpu, await ref.readF32(key), ref.info(key).shape);
}

/** f32 weights of a component folder (f32 so parity is not limited by f16 storage). */
export async function weights(gpu: Gpu, path: string): Promise<Weights> {
  return new Weights(gpu, await openSafetensors(`${FIXTURES}${path}`), { dtype: "f32" });
}

/** Reads a component's config.json. */
export async function config(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${FIXTURES}${path}`));
}
