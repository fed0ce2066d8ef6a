// DDIMScheduler (diffusers schedulers/scheduling_ddim.py), deterministic (η = 0), ε-prediction,
// no x0 clipping: the sampler behind DDIM inversion (SPEC §7.1, MasaCtrl) and a baseline.
// Step k goes from timesteps[k] to timesteps[k] − T/N (integer division), as diffusers does,
// which for "linspace" spacing is not always the next timestep. Song et al., "DDIM" (2020).

import { ConfigReader } from "./scheduler_config.ts";
import {
  checkIndex,
  checkStep,
  ddimUpdate,
  type NoiseLevel,
  type Sampler,
  SchedulerState,
  type StepLevels,
  x0FromEps,
} from "./scheduler_ops.ts";
import {
  alphasCumprodTable,
  type BetaSchedule,
  betaTable,
  ddimTimesteps,
  type TimestepSpacing,
} from "./scheduler_tables.ts";
import type { Tensor } from "../tensor/tensor.ts";

const f = Math.fround;

/** The supported part of diffusers' DDIMScheduler config (camelCase keys). */
export interface DdimConfig {
  /** T (`num_train_timesteps`). */
  numTrainTimesteps: number;
  /** β_0 (`beta_start`). */
  betaStart: number;
  /** β_{T−1} (`beta_end`). */
  betaEnd: number;
  /** `beta_schedule`. */
  betaSchedule: BetaSchedule;
  /** `trained_betas`: explicit betas, or null. */
  trainedBetas: readonly number[] | null;
  /** `set_alpha_to_one`: ᾱ after the last step is 1, or ᾱ_0 when false (MasaCtrl uses false). */
  setAlphaToOne: boolean;
  /** `steps_offset` (for "leading" spacing). */
  stepsOffset: number;
  /** `timestep_spacing`. */
  timestepSpacing: TimestepSpacing;
}

/** diffusers' DDIMScheduler defaults (clip_sample aside, which we do not implement). */
export const DDIM_DEFAULTS: Readonly<DdimConfig> = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 1e-4,
  betaEnd: 0.02,
  betaSchedule: "linear",
  trainedBetas: null,
  setAlphaToOne: true,
  stepsOffset: 0,
  timestepSpacing: "leading",
});

const WHAT = "DDIMScheduler config";

/**
 * Reads a diffusers `scheduler_config.json` object for DDIMScheduler; missing keys take diffusers'
 * defaults. Note that `clip_sample` defaults to true there and is refused here: pass
 * `{ ...json, clip_sample: false }` for latent models, as MasaCtrl does.
 * @param json the parsed config
 * @returns the config
 * @example parseDdimConfig({ ...pixartSchedulerJson, clip_sample: false, set_alpha_to_one: false })
 */
export function parseDdimConfig(json: Record<string, unknown>): DdimConfig {
  const r = new ConfigReader(json, WHAT);
  const d = DDIM_DEFAULTS;
  r.only(
    "clip_sample",
    true,
    false,
    "clamping x0 to [-1, 1] is for pixel-space models; set it false for latents",
  );
  r.only("prediction_type", "epsilon", "epsilon", "the pipeline hands the scheduler ε");
  r.only("thresholding", false, false, "dynamic thresholding is for pixel-space models");
  r.only("rescale_betas_zero_snr", false, false, "zero-terminal-SNR rescaling is not implemented");
  const n = r.integer("num_train_timesteps", d.numTrainTimesteps, 2);
  return {
    numTrainTimesteps: n,
    betaStart: r.number("beta_start", d.betaStart),
    betaEnd: r.number("beta_end", d.betaEnd),
    betaSchedule: r.choice("beta_schedule", d.betaSchedule, ["linear", "scaled_linear"]),
    trainedBetas: r.numbersOrNull("trained_betas", n),
    setAlphaToOne: r.boolean("set_alpha_to_one", d.setAlphaToOne),
    stepsOffset: r.integer("steps_offset", d.stepsOffset, 0),
    timestepSpacing: r.choice("timestep_spacing", d.timestepSpacing, [
      "linspace",
      "leading",
      "trailing",
    ]),
  };
}

/** The noise level of one ᾱ: α = √ᾱ, s = √(1 − ᾱ), in f32. */
export function levelFromAlphaCumprod(alphaCumprod: number): NoiseLevel {
  return { alpha: f(Math.sqrt(alphaCumprod)), sigma: f(Math.sqrt(f(1 - alphaCumprod))) };
}

/**
 * Deterministic DDIM sampler, diffusers-exact (η = 0, clip_sample false).
 *
 * @example
 * ```ts ignore
 * const ddim = DDIMScheduler.fromConfig({ ...json, clip_sample: false }, 50);
 * const state = ddim.createState();
 * for (const t of ddim.timesteps) x = ddim.step(state, model(x, t), x);
 * ```
 */
export class DDIMScheduler implements Sampler {
  /** The configuration, defaults filled in. */
  readonly config: Readonly<DdimConfig>;
  /** N. */
  readonly numInferenceSteps: number;
  /** τ_0..τ_{N−1}, descending. */
  readonly timesteps: readonly number[];
  /** β, f32 [T]. */
  readonly betas: Float32Array;
  /** ᾱ, f32 [T]. */
  readonly alphasCumprod: Float32Array;
  /** ᾱ used after the last step (1 or ᾱ_0). */
  readonly finalAlphaCumprod: number;

  /**
   * Builds the tables for N steps (diffusers' constructor plus `set_timesteps`).
   * @param numInferenceSteps N in [1, T]
   * @param config overrides of {@link DDIM_DEFAULTS}
   */
  constructor(numInferenceSteps: number, config: Partial<DdimConfig> = {}) {
    const c = { ...DDIM_DEFAULTS, ...config };
    this.config = Object.freeze(c);
    const T = c.numTrainTimesteps;
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw new RangeError(
        `Cannot set DDIM timesteps: numInferenceSteps is ${numInferenceSteps}, ` +
          `expected an integer in [1, ${T}]`,
      );
    }
    this.betas = betaTable(c);
    this.alphasCumprod = alphasCumprodTable(this.betas);
    this.finalAlphaCumprod = c.setAlphaToOne ? 1 : this.alphasCumprod[0];
    const timesteps = ddimTimesteps(c.timestepSpacing, numInferenceSteps, T, c.stepsOffset);
    const bad = timesteps.find((t) => !(t >= 0 && t < T));
    if (bad !== undefined) {
      throw new RangeError(
        `Cannot set DDIM timesteps: timestep ${bad} is outside [0, ${T - 1}] ` +
          `("${c.timestepSpacing}" spacing, steps_offset ${c.stepsOffset})`,
      );
    }
    this.timesteps = Object.freeze(timesteps);
    this.numInferenceSteps = numInferenceSteps;
  }

  /**
   * A scheduler from a diffusers config object (see {@link parseDdimConfig}).
   * @param json `scheduler_config.json`, parsed
   * @param numInferenceSteps N
   * @returns the scheduler
   */
  static fromConfig(json: Record<string, unknown>, numInferenceSteps: number): DDIMScheduler {
    return new DDIMScheduler(numInferenceSteps, parseDdimConfig(json));
  }

  /** The timestep step k lands on: timesteps[k] − T/N (negative: past the end). */
  prevTimestep(k: number): number {
    return this.timesteps[k] - Math.floor(this.config.numTrainTimesteps / this.numInferenceSteps);
  }

  /** Step k moves from ᾱ[timesteps[k]] to ᾱ[prevTimestep(k)] (the final ᾱ when negative). */
  stepLevels(k: number): StepLevels {
    checkIndex("read DDIM levels", k, this.numInferenceSteps);
    const prev = this.prevTimestep(k);
    return {
      from: levelFromAlphaCumprod(this.alphasCumprod[this.timesteps[k]]),
      to: levelFromAlphaCumprod(prev >= 0 ? this.alphasCumprod[prev] : this.finalAlphaCumprod),
    };
  }

  /** A fresh branch state at step 0 (DDIM keeps no history). */
  createState(): SchedulerState {
    return new SchedulerState(this);
  }

  /**
   * x0 = (x − √(1−ᾱ_t)·ε)/√ᾱ_t at t = timesteps[k] (`pred_original_sample`).
   * @param modelOutput ε
   * @param sample x at timesteps[k]
   * @param k step index
   * @returns x0
   */
  predictX0(modelOutput: Tensor, sample: Tensor, k: number): Tensor {
    return x0FromEps(modelOutput, sample, this.stepLevels(k).from);
  }

  /**
   * One DDIM step (η = 0) of a branch; advances `state`.
   * @param state the branch
   * @param modelOutput ε at (sample, timesteps[state.stepIndex])
   * @param sample x at timesteps[k]
   * @returns x at prevTimestep(k)
   */
  step(state: SchedulerState, modelOutput: Tensor, sample: Tensor): Tensor {
    const k = checkStep("DDIM", this, state, this.numInferenceSteps, modelOutput, sample);
    const { from, to } = this.stepLevels(k);
    const out = ddimUpdate(sample, modelOutput, from, to);
    state.stepIndex++;
    return out;
  }
}
