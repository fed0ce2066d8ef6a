// Shared test helpers: the test device, seeded random data, and the per-element compare
// `|gpu - ref| <= atol + rtol·|ref|` that every kernel test states its tolerance with.

import { AssertionError } from "@std/assert";
import { getGpu, type Gpu } from "../tensor/device.ts";

/** The shared test device (Mesa lavapipe in CI). */
export function testGpu(): Promise<Gpu> {
  return getGpu();
}

/** Deno.test options for GPU tests: the device's long-lived promises are not leaks. */
export const GPU_TEST = { sanitizeOps: false, sanitizeResources: false } as const;

/** A seeded PRNG (mulberry32) returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` seeded values uniform in [lo, hi). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** Tolerances of a kernel test. */
export interface Tolerance {
  atol: number;
  rtol: number;
}

/** f32 storage: atol 1e-5, rtol 1e-4. */
export const F32_TOL: Tolerance = { atol: 1e-5, rtol: 1e-4 };
/** f16 storage (reference fed the same f16-rounded inputs): atol 1e-3, rtol 1e-2. */
export const F16_TOL: Tolerance = { atol: 1e-3, rtol: 1e-2 };

/**
 * Asserts `|actual[i] - expected[i]| <= atol + rtol·|expected[i]|` for every element; on failure
 * reports the first bad index and the max abs and rel errors, as llm.c's validate_result does.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  label = "",
): void {
  if (actual.length !== expected.length) {
    throw new AssertionError(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  let bad = -1, maxAbs = 0, maxRel = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i], d = Math.abs(a - e);
    if (!(d <= tol.atol + tol.rtol * Math.abs(e)) && bad < 0) bad = i;
    if (d > maxAbs || Number.isNaN(d)) maxAbs = d;
    if (e !== 0) maxRel = Math.max(maxRel, d / Math.abs(e));
  }
  if (bad >= 0) {
    throw new AssertionError(
      `${label}: element ${bad} is ${actual[bad]}, expected ${expected[bad]} ` +
        `(atol ${tol.atol}, rtol ${tol.rtol}; max abs err ${maxAbs}, max rel err ${maxRel})`,
    );
  }
}
