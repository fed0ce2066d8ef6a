// Shared scheduler pieces: noise levels, the sampler interface with per-branch state, and the
// elementwise GPU updates (coefficients on the host, runtime kernels on the device). Each helper
// performs the same f32 operations, in the same order, as the diffusers code it mirrors.

import { add, div, sub } from "../kernels/binary.ts";
import { scale } from "../kernels/unary.ts";
import { scope } from "../tensor/scope.ts";
import { formatShape } from "../tensor/shape.ts";
import { Tensor } from "../tensor/tensor.ts";

/** One noise level: x_t = α·x0 + s·ε (f32 values). */
export interface NoiseLevel {
  /** α = √ᾱ, the signal scale. */
  alpha: number;
  /** s = √(1 − ᾱ), the noise scale. */
  sigma: number;
}

/** The noise levels a sampling step moves between: from `timesteps[k]` to the next level. */
export interface StepLevels {
  /** The level of the step's input, at `timesteps[k]`. */
  from: NoiseLevel;
  /** The level the step lands on. */
  to: NoiseLevel;
}

/** A sampler with per-branch state, as the edit pipeline drives it. */
export interface Sampler {
  /** N. */
  readonly numInferenceSteps: number;
  /** τ_0..τ_{N−1}, descending: the model's timestep at step k. */
  readonly timesteps: readonly number[];
  /** Noise levels of step k (what DDIM inversion inverts). */
  stepLevels(k: number): StepLevels;
  /** A fresh state for one branch (source or target), at step 0. */
  createState(): SchedulerState;
  /** x0 from ε at the level of step k. */
  predictX0(modelOutput: Tensor, sample: Tensor, k: number): Tensor;
  /** One sampling step of `state`'s branch; advances it. */
  step(state: SchedulerState, modelOutput: Tensor, sample: Tensor): Tensor;
}

/** Per-branch progress through a sampler's steps; subclasses keep solver history. */
export class SchedulerState {
  /** The next step to take (0..N). */
  stepIndex: number = 0;
  /**
   * A state at step 0.
   * @param owner the scheduler whose steps this state follows
   */
  constructor(readonly owner: object) {}
  /** Frees any history this state holds (safe to call twice). */
  dispose(): void {}
}

/**
 * Checks a step's inputs and the state's position.
 * @returns the step index k
 */
export function checkStep(
  what: string,
  owner: object,
  state: SchedulerState,
  n: number,
  modelOutput: Tensor,
  sample: Tensor,
): number {
  if (state.owner !== owner) {
    throw new TypeError(`Cannot step ${what}: the state was created by another scheduler`);
  }
  if (state.stepIndex >= n) {
    throw new RangeError(`Cannot step ${what}: all ${n} steps were already taken`);
  }
  checkSameShape(`step ${what}`, modelOutput, sample);
  return state.stepIndex;
}

/** Throws unless `eps` and `sample` have the same shape and dtype f32. */
export function checkSameShape(what: string, eps: Tensor, sample: Tensor): void {
  if (eps.shape.length !== sample.shape.length || eps.shape.some((d, i) => d !== sample.shape[i])) {
    throw new TypeError(
      `Cannot ${what}: model output ${formatShape(eps.shape)} and sample ` +
        `${formatShape(sample.shape)} differ (pass the 4 ε channels only, after guidance)`,
    );
  }
  if (eps.dtype !== "f32" || sample.dtype !== "f32") {
    throw new TypeError(
      `Cannot ${what}: model output and sample must be f32, got ${eps.dtype} and ${sample.dtype}`,
    );
  }
}

/** Checks a step index against N. */
export function checkIndex(what: string, k: number, n: number): void {
  if (!Number.isInteger(k) || k < 0 || k >= n) {
    throw new RangeError(`Cannot ${what}: step ${k} is outside [0, ${n - 1}]`);
  }
}

/** `x / a` for a host scalar, as torch divides by a 0-dim tensor (a true division). */
export function divScalar(x: Tensor, a: number): Tensor {
  return scope(() => div(x, Tensor.from(x.gpu, new Float32Array([a]), [1])));
}

/**
 * Data prediction from ε: `(x − s·ε) / α` (diffusers `convert_model_output`, epsilon).
 * @param eps ε [B, C, h, w]
 * @param sample x at the level
 * @param level α and s of x
 * @returns x0, same shape
 */
export function x0FromEps(eps: Tensor, sample: Tensor, level: NoiseLevel): Tensor {
  return scope(() => divScalar(sub(sample, scale(eps, level.sigma)), level.alpha));
}

/**
 * The DDIM update between two levels with ε held fixed: x0 = (x − s_from·ε)/α_from, then
 * α_to·x0 + s_to·ε. Sampling (`DDIMScheduler.step`) and inversion (MasaCtrl `next_step`) are
 * this map with the levels swapped.
 * @param sample x at `from`
 * @param eps ε
 * @param from level of `sample`
 * @param to level of the result
 * @returns x at `to`
 */
export function ddimUpdate(sample: Tensor, eps: Tensor, from: NoiseLevel, to: NoiseLevel): Tensor {
  return scope(() => {
    const x0 = x0FromEps(eps, sample, from);
    return add(scale(x0, to.alpha), scale(eps, to.sigma));
  });
}
