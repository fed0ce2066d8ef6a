// Shared pieces of the scheduler tests: the fixture written by tools/make_scheduler_fixtures.py
// (diffusers 0.42.1, torch 2.15.0, CPU f32) and the fake ε-model it used, rebuilt on the GPU.

import { add } from "../../kernels/binary.ts";
import { scale } from "../../kernels/unary.ts";
import { readSafetensorsBytes, type SafetensorsBuffer } from "../../io/safetensors.ts";
import { parseJsonText } from "../../io/json_file.ts";
import type { Gpu } from "../../tensor/device.ts";
import { scope } from "../../tensor/scope.ts";
import { Tensor } from "../../tensor/tensor.ts";
import type { EpsModel } from "../../pipeline/inversion.ts";

const PATH = new URL("../fixtures/scheduler/scheduler.safetensors", import.meta.url);

let cached: SafetensorsBuffer | undefined;

/** The scheduler fixture, read once. */
export function fixture(): SafetensorsBuffer {
  cached ??= readSafetensorsBytes(Deno.readFileSync(PATH), "scheduler.safetensors");
  return cached;
}

/** A JSON object from the fixture's metadata (configs keep Python's -Infinity). */
export function fixtureJson(key: string): Record<string, unknown> {
  return parseJsonText(fixture().metadata[key], key) as Record<string, unknown>;
}

/** Latent shape of the trajectories. */
export const SHAPE = [2, 4, 3, 5];
/** Elements per latent. */
export const LATENT = SHAPE.reduce((a, b) => a * b, 1);

/** Row `i` of a stacked [n, ...SHAPE] fixture tensor. */
export function row(data: Float32Array, i: number): Float32Array {
  return data.subarray(i * LATENT, (i + 1) * LATENT);
}

/** Fake-model variance V and cosine amplitude A (see the script's docstring). */
const V = 0.25, A = 0.1;

/**
 * Coefficients of ε(x, t) = a_t·x + b_t·μ, from the f32 ᾱ table in f64, rounded to f32: the
 * ideal denoiser of N(μ, V·I) data plus A·cos(t/100)·x.
 */
export function fakeCoefficients(
  alphasCumprod: Float32Array,
): { a: Float32Array; b: Float32Array } {
  const a = new Float32Array(alphasCumprod.length), b = new Float32Array(alphasCumprod.length);
  alphasCumprod.forEach((ac, t) => {
    const al = Math.sqrt(ac), s = Math.sqrt(1 - ac), d = al * al * V + s * s;
    a[t] = s / d + A * Math.cos(t / 100);
    b[t] = (-al * s) / d;
  });
  return { a, b };
}

/** The fake ε-model on the GPU (x·a_t + μ·b_t in f32, as torch computes it), counting calls. */
export function fakeModel(
  gpu: Gpu,
  alphasCumprod: Float32Array,
  mu: Float32Array,
): { model: EpsModel; calls: () => number; dispose: () => void } {
  const { a, b } = fakeCoefficients(alphasCumprod);
  const muT = Tensor.from(gpu, mu, SHAPE);
  let calls = 0;
  const model: EpsModel = (x, t) => {
    calls++;
    return scope(() => add(scale(x, a[t]), scale(muT, b[t])));
  };
  return { model, calls: () => calls, dispose: () => muT.dispose() };
}

/** Mean squared difference. */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

/** Largest |a − b|. */
export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Largest |a − b| / max(|b|, floor), for reporting achieved tolerances. */
export function maxRel(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  }
  return m;
}
