// DPMSolverMultistepScheduler (diffusers schedulers/scheduling_dpmsolver_multistep.py) in the
// configurations PixArt uses (SPEC §6): DPM-Solver++ of order 1 or 2 (midpoint or heun), the
// first and final steps first order, data prediction from ε. Tables follow SPEC §6.1 in emulated
// f32; each step runs on the GPU with host coefficients. Lu et al., "DPM-Solver++" (2022).

import { add, sub } from "../kernels/binary.ts";
import { scale } from "../kernels/unary.ts";
import { keep, scope } from "../tensor/scope.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { ConfigReader } from "./scheduler_config.ts";
import {
  checkIndex,
  checkStep,
  type NoiseLevel,
  type Sampler,
  SchedulerState,
  type StepLevels,
  x0FromEps,
} from "./scheduler_ops.ts";
import {
  alphasCumprodTable,
  alphaSigmaFromSigma,
  type BetaSchedule,
  betaTable,
  dpmTimesteps,
  lambdaOf,
  sigmaFromAlphaCumprod,
  type TimestepSpacing,
} from "./scheduler_tables.ts";

const f = Math.fround;

/** The supported part of diffusers' DPMSolverMultistepScheduler config (camelCase keys). */
export interface DpmSolverConfig {
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
  /** `solver_order`: 1 (DDIM-equivalent) or 2 (2M). */
  solverOrder: 1 | 2;
  /** `solver_type` of the second-order step. */
  solverType: "midpoint" | "heun";
  /** `lower_order_final`: first order at the last step when N < 15. */
  lowerOrderFinal: boolean;
  /** `euler_at_final`: first order at the last step always. */
  eulerAtFinal: boolean;
  /** `final_sigmas_type`: σ̃ after the last step is 0 (forces a first-order last step) or σ̃_min. */
  finalSigmasType: "zero" | "sigma_min";
  /** `lambda_min_clipped`: drops the noisiest timesteps whose λ lies below it. */
  lambdaMinClipped: number;
  /** `timestep_spacing`. */
  timestepSpacing: TimestepSpacing;
  /** `steps_offset` (for "leading" spacing). */
  stepsOffset: number;
}

/** diffusers' defaults, which are also PixArt's `scheduler_config.json` values (SPEC §6). */
export const DPM_SOLVER_DEFAULTS: Readonly<DpmSolverConfig> = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 1e-4,
  betaEnd: 0.02,
  betaSchedule: "linear",
  trainedBetas: null,
  solverOrder: 2,
  solverType: "midpoint",
  lowerOrderFinal: true,
  eulerAtFinal: false,
  finalSigmasType: "zero",
  lambdaMinClipped: -Infinity,
  timestepSpacing: "linspace",
  stepsOffset: 0,
});

const WHAT = "DPMSolverMultistepScheduler config";

/**
 * Reads a diffusers `scheduler_config.json` object for DPMSolverMultistepScheduler. Missing keys
 * take diffusers' defaults; values we do not implement throw a TypeError naming the key.
 * @param json the parsed config (e.g. `(await folder.component("scheduler")).config`)
 * @returns the config
 * @example parseDpmSolverConfig({ solver_order: 2, algorithm_type: "dpmsolver++" })
 */
export function parseDpmSolverConfig(json: Record<string, unknown>): DpmSolverConfig {
  const r = new ConfigReader(json, WHAT);
  const d = DPM_SOLVER_DEFAULTS;
  r.choice("algorithm_type", "dpmsolver++", ["dpmsolver++"], { deis: "dpmsolver++" });
  r.only("prediction_type", "epsilon", "epsilon", "the pipeline hands the scheduler ε");
  r.only("thresholding", false, false, "dynamic thresholding is for pixel-space models");
  r.only(
    "variance_type",
    null,
    null,
    "pass the first 4 (ε) channels of a learned-σ model; the scheduler's own slice is [:, :3]",
  );
  for (const key of ["karras", "exponential", "beta", "flow"]) {
    r.only(`use_${key}_sigmas`, false, false, "only the model's own sigmas are implemented");
  }
  r.only("use_lu_lambdas", false, false, "only the model's own sigmas are implemented");
  r.only("use_dynamic_shifting", false, false, "it applies to flow-matching models only");
  r.only("rescale_betas_zero_snr", false, false, "zero-terminal-SNR rescaling is not implemented");
  const n = r.integer("num_train_timesteps", d.numTrainTimesteps, 2);
  return {
    numTrainTimesteps: n,
    betaStart: r.number("beta_start", d.betaStart),
    betaEnd: r.number("beta_end", d.betaEnd),
    betaSchedule: r.choice("beta_schedule", d.betaSchedule, ["linear", "scaled_linear"]),
    trainedBetas: r.numbersOrNull("trained_betas", n),
    solverOrder: r.choice("solver_order", d.solverOrder, [1, 2]),
    solverType: r.choice("solver_type", d.solverType, ["midpoint", "heun"], {
      logrho: "midpoint",
      bh1: "midpoint",
      bh2: "midpoint",
    }),
    lowerOrderFinal: r.boolean("lower_order_final", d.lowerOrderFinal),
    eulerAtFinal: r.boolean("euler_at_final", d.eulerAtFinal),
    finalSigmasType: r.choice("final_sigmas_type", d.finalSigmasType, ["zero", "sigma_min"]),
    lambdaMinClipped: r.number("lambda_min_clipped", d.lambdaMinClipped, true),
    timestepSpacing: r.choice("timestep_spacing", d.timestepSpacing, [
      "linspace",
      "leading",
      "trailing",
    ]),
    stepsOffset: r.integer("steps_offset", d.stepsOffset, 0),
  };
}

/** Host coefficients of one sampling step: x' = c1·x − c2·m + c3·(m − m_prev)/r. */
export interface DpmStepCoefficients {
  /** 1 or 2. */
  order: 1 | 2;
  /** s_{k+1}/s_k. */
  c1: number;
  /** α_{k+1}(e^{−h} − 1) (negative while sampling). */
  c2: number;
  /** Weight of D1 = (m − m_prev)/r: −c2/2 (midpoint) or α(((e^{−h} − 1)/h) + 1) (heun); 0 for order 1. */
  c3: number;
  /** 1/r with r = (λ_k − λ_{k−1})/h; 0 for order 1. */
  invR: number;
}

/** A branch's DPM-Solver state: step index, warm-up count and the previous data prediction. */
export class DpmSolverState extends SchedulerState {
  /** Steps taken so far, capped at the solver order (diffusers `lower_order_nums`). */
  lowerOrderNums: number = 0;
  /** m_{k−1}, the previous step's data prediction (owned by the state, kept out of scopes). */
  prevX0: Tensor | null = null;
  /** Frees m_{k−1}. */
  override dispose(): void {
    this.prevX0?.dispose();
    this.prevX0 = null;
  }
}

/**
 * DPM-Solver++ multistep sampler, diffusers-exact for PixArt's config.
 *
 * @example
 * ```ts ignore
 * const sched = new DPMSolverMultistepScheduler(20); // PixArt's config
 * const src = sched.createState(), tgt = sched.createState(); // separate histories
 * for (let k = 0; k < sched.numInferenceSteps; k++) {
 *   xs = sched.step(src, epsSrc, xs); // epsSrc = model(xs, sched.timesteps[k])[:, :4]
 *   xt = sched.step(tgt, epsTgt, xt);
 * }
 * src.dispose(); tgt.dispose();
 * ```
 */
export class DPMSolverMultistepScheduler implements Sampler {
  /** The configuration, defaults filled in. */
  readonly config: Readonly<DpmSolverConfig>;
  /** N. */
  readonly numInferenceSteps: number;
  /** τ_0..τ_{N−1}, descending. */
  readonly timesteps: readonly number[];
  /** β, f32 [T]. */
  readonly betas: Float32Array;
  /** ᾱ, f32 [T]. */
  readonly alphasCumprod: Float32Array;
  /** σ̃_k = s_k/α_k at the N timesteps plus the final level, f32 [N+1]. */
  readonly sigmas: Float32Array;
  /** α_k, f32 [N+1] (as `_sigma_to_alpha_sigma_t` gives them). */
  readonly alphaT: Float32Array;
  /** s_k, f32 [N+1]. */
  readonly sigmaT: Float32Array;
  /** λ_k = ln α_k − ln s_k, f32 [N+1] (+∞ at a zero final sigma). */
  readonly lambdas: Float32Array;

  /**
   * Builds the tables for N steps (diffusers' constructor plus `set_timesteps`).
   * @param numInferenceSteps N in [1, T]
   * @param config overrides of {@link DPM_SOLVER_DEFAULTS}
   */
  constructor(numInferenceSteps: number, config: Partial<DpmSolverConfig> = {}) {
    const c = { ...DPM_SOLVER_DEFAULTS, ...config };
    this.config = Object.freeze(c);
    const T = c.numTrainTimesteps;
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw new RangeError(
        `Cannot set DPM-Solver timesteps: numInferenceSteps is ${numInferenceSteps}, ` +
          `expected an integer in [1, ${T}]`,
      );
    }
    if (c.solverOrder !== 1 && c.solverOrder !== 2) {
      throw new RangeError(`Cannot build DPM-Solver: solverOrder ${c.solverOrder} is not 1 or 2`);
    }
    this.betas = betaTable(c);
    this.alphasCumprod = alphasCumprodTable(this.betas);
    const table = this.alphasCumprod.map(sigmaFromAlphaCumprod);
    const timesteps = dpmTimesteps(
      c.timestepSpacing,
      numInferenceSteps,
      T,
      T - this.#clippedSteps(),
      c.stepsOffset,
    );
    if (timesteps.length === 0 || timesteps.some((t, i) => i > 0 && t >= timesteps[i - 1])) {
      throw new RangeError(
        `Cannot set DPM-Solver timesteps: numInferenceSteps ${numInferenceSteps} gives ` +
          `repeated timesteps with "${c.timestepSpacing}" spacing over ${T}`,
      );
    }
    this.timesteps = Object.freeze(timesteps);
    this.numInferenceSteps = timesteps.length;
    const n = timesteps.length;
    this.sigmas = new Float32Array(n + 1);
    timesteps.forEach((t, k) => (this.sigmas[k] = table[Math.min(Math.max(t, 0), T - 1)]));
    this.sigmas[n] = c.finalSigmasType === "zero" ? 0 : table[0];
    this.alphaT = new Float32Array(n + 1);
    this.sigmaT = new Float32Array(n + 1);
    this.lambdas = new Float32Array(n + 1);
    for (let k = 0; k <= n; k++) {
      const [a, s] = alphaSigmaFromSigma(this.sigmas[k]);
      this.alphaT[k] = a;
      this.sigmaT[k] = s;
      this.lambdas[k] = lambdaOf(a, s);
    }
  }

  /**
   * A scheduler from a diffusers config object.
   * @param json `scheduler_config.json`, parsed
   * @param numInferenceSteps N
   * @returns the scheduler
   */
  static fromConfig(
    json: Record<string, unknown>,
    numInferenceSteps: number,
  ): DPMSolverMultistepScheduler {
    return new DPMSolverMultistepScheduler(numInferenceSteps, parseDpmSolverConfig(json));
  }

  /** Timesteps cut by `lambda_min_clipped` (torch.searchsorted over the flipped λ table). */
  #clippedSteps(): number {
    const min = this.config.lambdaMinClipped;
    if (min === -Infinity) return 0;
    let count = 0;
    for (const ac of this.alphasCumprod) {
      const lambda = lambdaOf(f(Math.sqrt(ac)), f(Math.sqrt(f(1 - ac))));
      if (lambda < min) count++;
    }
    return count;
  }

  /** α and s at grid level k (0..N). */
  level(k: number): NoiseLevel {
    checkIndex("read a DPM-Solver level", k, this.numInferenceSteps + 1);
    return { alpha: this.alphaT[k], sigma: this.sigmaT[k] };
  }

  /** Step k moves from level k to level k+1. */
  stepLevels(k: number): StepLevels {
    checkIndex("read DPM-Solver levels", k, this.numInferenceSteps);
    return { from: this.level(k), to: this.level(k + 1) };
  }

  /** The order step k uses in a run from step 0 (the inversion mirrors it). */
  orderAt(k: number): 1 | 2 {
    return this.#order(k, Math.min(k, this.config.solverOrder));
  }

  #order(k: number, lowerOrderNums: number): 1 | 2 {
    const c = this.config, n = this.numInferenceSteps;
    const lowerOrderFinal = k === n - 1 &&
      (c.eulerAtFinal || (c.lowerOrderFinal && n < 15) || c.finalSigmasType === "zero");
    return c.solverOrder === 1 || lowerOrderNums < 1 || lowerOrderFinal ? 1 : 2;
  }

  /**
   * The f32 coefficients of step k at `order`, computed as diffusers' update functions do.
   * @param k step index
   * @param order 1, or 2 (needs k ≥ 1)
   * @returns the coefficients
   */
  stepCoefficients(k: number, order: 1 | 2): DpmStepCoefficients {
    checkIndex("compute DPM-Solver coefficients", k, this.numInferenceSteps);
    const alphaT = this.alphaT[k + 1];
    const lambdaT = this.lambdas[k + 1], lambdaS0 = this.lambdas[k];
    const h = f(lambdaT - lambdaS0);
    const em1 = f(f(Math.exp(-h)) - 1);
    const c1 = f(this.sigmaT[k + 1] / this.sigmaT[k]);
    const c2 = f(alphaT * em1);
    if (order === 1) return { order, c1, c2, c3: 0, invR: 0 };
    if (k < 1) throw new RangeError(`Cannot take a second-order DPM-Solver step at step 0`);
    const r0 = f(f(lambdaS0 - this.lambdas[k - 1]) / h);
    const c3 = this.config.solverType === "midpoint" ? -f(0.5 * c2) : f(alphaT * f(f(em1 / h) + 1));
    return { order, c1, c2, c3, invR: f(1 / r0) };
  }

  /** A fresh branch state at step 0. Dispose it when the run ends (it holds m_{k−1}). */
  createState(): DpmSolverState {
    return new DpmSolverState(this);
  }

  /**
   * The data prediction x0 = (x − s_k·ε)/α_k at grid level k (diffusers `convert_model_output`).
   * @param modelOutput ε [B, 4, h, w]
   * @param sample x_k
   * @param k level, 0..N−1
   * @returns x0, same shape
   */
  predictX0(modelOutput: Tensor, sample: Tensor, k: number): Tensor {
    checkIndex("predict x0", k, this.numInferenceSteps);
    return x0FromEps(modelOutput, sample, this.level(k));
  }

  /**
   * One DPM-Solver++ step of a branch: x_k → x_{k+1}; advances `state` and keeps m_k in it.
   * @param state the branch (from {@link createState})
   * @param modelOutput ε at (sample, timesteps[state.stepIndex]) [B, 4, h, w], after guidance
   * @param sample x_k
   * @returns x_{k+1}
   */
  step(state: SchedulerState, modelOutput: Tensor, sample: Tensor): Tensor {
    const k = checkStep("DPM-Solver", this, state, this.numInferenceSteps, modelOutput, sample);
    const s = state as DpmSolverState;
    const m0 = keep(this.predictX0(modelOutput, sample, k));
    const co = this.stepCoefficients(k, this.#order(k, s.lowerOrderNums));
    const prev = s.prevX0;
    const out = scope(() => {
      const x = sub(scale(sample, co.c1), scale(m0, co.c2));
      if (co.order === 1 || !prev) return x;
      const d1 = scale(sub(m0, prev), co.invR);
      return add(x, scale(d1, co.c3));
    });
    prev?.dispose();
    if (this.config.solverOrder > 1) s.prevX0 = m0;
    else m0.dispose();
    s.lowerOrderNums = Math.min(s.lowerOrderNums + 1, this.config.solverOrder);
    s.stepIndex++;
    return out;
  }
}
