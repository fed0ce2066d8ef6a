// Latent inversion (SPEC §7): DDIM inversion, the baseline (§7.1, MasaCtrl `invert`/`next_step`),
// and DPM-Solver++(2M) inversion with a backward-Euler (fixed-point) correction (§7.4, our design
// after Hong et al., "On Exact Inversion of DPM-Solvers", CVPR 2024, and DiT4Edit Eqs. 9-10).
// The model is a callback returning ε, so the pipeline can plug in the guided PixArt forward.

import { add, mul, sub } from "../kernels/binary.ts";
import { mean } from "../kernels/reduce.ts";
import { scale } from "../kernels/unary.ts";
import { scope } from "../tensor/scope.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { DPMSolverMultistepScheduler, DpmStepCoefficients } from "./dpm_solver.ts";
import {
  checkSameShape,
  ddimUpdate,
  type NoiseLevel,
  type Sampler,
  x0FromEps,
} from "./scheduler_ops.ts";

/**
 * The noise model: ε for `latents` at training timestep `t`, same shape as `latents` (the 4 ε
 * channels, guidance already applied). Tensors it creates are freed by the inversion, except what
 * it returns from outside (e.g. a cached tensor), which is left alone.
 */
export type EpsModel = (latents: Tensor, t: number) => Tensor | Promise<Tensor>;

/** What DDIM inversion needs from a scheduler (both samplers provide it). */
export type InvertibleScheduler = Pick<Sampler, "numInferenceSteps" | "timesteps" | "stepLevels">;

/** The inverted trajectory and how it was obtained. */
export interface InversionResult {
  /**
   * x_0..x_N: `latents[k]` is the latent at `timesteps[k]` (x_0 the noisiest, the sampler's start)
   * and `latents[N]` is `z0` itself. The caller owns (and disposes) x_0..x_{N−1}.
   */
  latents: Tensor[];
  /**
   * Per step k, mean((Φ_k(x) − x_{k+1})²) at the last corrector evaluation, where Φ_k is the
   * sampler step as the corrector models it; NaN where not measured.
   */
  residuals: number[];
  /** Corrector iterations run at each step k. */
  iterations: number[];
  /** Model calls made. */
  modelCalls: number;
}

/** Options of {@link dpmSolverInversion}. */
export interface DpmInversionOptions {
  /** Corrector iterations K per step, integer in [0, 1000]; 0 leaves the predictor. Default 3. */
  iterations?: number;
  /** Corrector step ρ in (0, 2): x ← x − ρ·(Φ(x) − x_known). Default 0.5. */
  rho?: number;
  /** Stop a step's iterations once the mean squared residual is below this (≥ 0). Default 0 (off). */
  tolerance?: number;
  /**
   * Initial guess: "ddim" (the DDIM inversion step, SPEC §7.4) or "dpm" (the sampler step solved
   * with ε frozen at the known latent: the uncorrected DPM-Solver++ inversion). Default "ddim".
   */
  predictor?: "ddim" | "dpm";
  /** Measure residuals (one reduction and readback per iteration). Default false. */
  measureResiduals?: boolean;
}

/** Defaults of {@link DpmInversionOptions} (SPEC §10: K = 3, ρ = 0.5). */
export const DPM_INVERSION_DEFAULTS: Readonly<Required<DpmInversionOptions>> = Object.freeze({
  iterations: 3,
  rho: 0.5,
  tolerance: 0,
  predictor: "ddim",
  measureResiduals: false,
});

function checkOptions(options: DpmInversionOptions): Required<DpmInversionOptions> {
  const o = { ...DPM_INVERSION_DEFAULTS, ...options };
  const bad = (name: string, v: unknown, expected: string): never => {
    throw new RangeError(`Cannot invert: option "${name}" is ${String(v)}, expected ${expected}`);
  };
  const k = o.iterations;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 0 || k > 1000) {
    bad("iterations", k, "an integer in [0, 1000]");
  }
  if (typeof o.rho !== "number" || !(o.rho > 0 && o.rho < 2)) {
    bad("rho", o.rho, "a number in (0, 2)");
  }
  if (typeof o.tolerance !== "number" || !(o.tolerance >= 0 && Number.isFinite(o.tolerance))) {
    bad("tolerance", o.tolerance, "a finite number >= 0");
  }
  if (o.predictor !== "ddim" && o.predictor !== "dpm") {
    bad("predictor", JSON.stringify(o.predictor), `"ddim" or "dpm"`);
  }
  if (typeof o.measureResiduals !== "boolean") {
    bad("measureResiduals", o.measureResiduals, "true or false");
  }
  return o;
}

async function evalModel(model: EpsModel, x: Tensor, t: number): Promise<Tensor> {
  const eps = await scope(() => model(x, t));
  checkSameShape(`invert at timestep ${t}`, eps, x);
  return eps;
}

async function meanSquare(r: Tensor): Promise<number> {
  const m = scope(() => mean(mul(r, r).reshape([1, r.size])));
  const v = (await m.toArray())[0];
  m.dispose();
  return v;
}

/** Disposes the latents made so far (not z0) and rethrows. */
function cleanUp(latents: Tensor[], from: number, extra: Tensor | null, e: unknown): never {
  for (let i = from; i < latents.length - 1; i++) latents[i]?.dispose();
  extra?.dispose();
  throw e;
}

/**
 * DDIM inversion (SPEC §7.1): for k = N−1..0, ε = model(x_{k+1}, τ_k), then the DDIM update from
 * step k's destination level back to its source level. With a DDIMScheduler this is MasaCtrl's
 * `next_step`; with DPMSolverMultistepScheduler it runs on the DPM grid (α = 1, s = 0 at x_N).
 * One model call per step.
 * @param model ε-model callback
 * @param z0 the clean latent x_N [B, 4, h, w], f32
 * @param scheduler the grid to invert
 * @returns x_0..x_N
 * @example
 * ```ts ignore
 * const { latents } = await ddimInversion(eps, z0, new DPMSolverMultistepScheduler(30));
 * ```
 */
export async function ddimInversion(
  model: EpsModel,
  z0: Tensor,
  scheduler: InvertibleScheduler,
): Promise<InversionResult> {
  const n = scheduler.numInferenceSteps;
  const latents = new Array<Tensor>(n + 1);
  latents[n] = z0;
  let k = n - 1;
  try {
    for (; k >= 0; k--) {
      const { from, to } = scheduler.stepLevels(k);
      const y = latents[k + 1], t = scheduler.timesteps[k];
      latents[k] = await scope(async () => ddimUpdate(y, await evalModel(model, y, t), to, from));
    }
  } catch (e) {
    cleanUp(latents, k + 1, null, e);
  }
  return {
    latents,
    residuals: new Array(n).fill(NaN),
    iterations: new Array(n).fill(0),
    modelCalls: n,
  };
}

/** Φ(x) − y for the step as the corrector models it (order 2: D1 ≈ m_next − m). */
function residual(
  x: Tensor,
  m: Tensor,
  y: Tensor,
  co: DpmStepCoefficients,
  mNext: Tensor | null,
): Tensor {
  return scope(() => {
    let phi = sub(scale(x, co.c1), scale(m, co.c2));
    if (mNext) phi = add(phi, scale(sub(mNext, m), co.c3));
    return sub(phi, y);
  });
}

/** The sampler step solved for x with ε frozen: y = c1·x − w·(x − s·ε)/α + c3·m_next. */
function dpmPredictor(
  y: Tensor,
  eps: Tensor,
  level: NoiseLevel,
  co: DpmStepCoefficients,
  mNext: Tensor | null,
): Tensor {
  const w = co.c2 + (mNext ? co.c3 : 0);
  const a = 1 / (co.c1 - w / level.alpha);
  return scope(() => {
    const x = sub(scale(y, a), scale(eps, (a * w * level.sigma) / level.alpha));
    return mNext ? sub(x, scale(mNext, a * co.c3)) : x;
  });
}

/**
 * DPM-Solver++ inversion with backward-Euler correction (SPEC §7.4). For k = N−1..0, given the
 * known x_{k+1}: a predictor guess (DDIM inversion step by default), then K corrector iterations
 * x ← x − ρ·(Φ_k(x) − x_{k+1}), where Φ_k is the sampler's step k with m_k = x0(model(x, τ_k)).
 * Where the sampler takes a second-order step, its backward difference (m_k − m_{k−1})/r is
 * replaced by the forward difference m_{k+1} − m_k across the known side, with m_{k+1} frozen
 * (DiT4Edit-style, no auxiliary ŷ pass); the round trip is then close to, not exactly, z0. With
 * `solverOrder: 1` the correction converges to the exact inverse. Cost: N·(1 + K) model calls.
 * @param model ε-model callback (source prompt, inversion guidance)
 * @param z0 the clean latent x_N [B, 4, h, w], f32
 * @param scheduler the DPM-Solver the latents will be sampled with
 * @param options K, ρ, tolerance, predictor (defaults {@link DPM_INVERSION_DEFAULTS})
 * @returns x_0..x_N, residuals and iteration counts
 * @example
 * ```ts ignore
 * const sched = new DPMSolverMultistepScheduler(30);
 * const { latents } = await dpmSolverInversion(eps, z0, sched, { iterations: 3, rho: 0.5 });
 * ```
 */
export async function dpmSolverInversion(
  model: EpsModel,
  z0: Tensor,
  scheduler: DPMSolverMultistepScheduler,
  options: DpmInversionOptions = {},
): Promise<InversionResult> {
  const o = checkOptions(options);
  const n = scheduler.numInferenceSteps;
  const latents = new Array<Tensor>(n + 1);
  latents[n] = z0;
  const residuals = new Array<number>(n).fill(NaN);
  const iterations = new Array<number>(n).fill(0);
  const measure = o.measureResiduals || o.tolerance > 0;
  let calls = 0;
  const call = (x: Tensor, t: number) => (calls++, evalModel(model, x, t));
  let mNext: Tensor | null = null; // m_{k+1} ≈ x0(x_{k+1}), for the second-order term
  let k = n - 1;
  try {
    for (; k >= 0; k--) {
      const y = latents[k + 1], t = scheduler.timesteps[k];
      const co = scheduler.stepCoefficients(k, scheduler.orderAt(k));
      const { from, to } = scheduler.stepLevels(k);
      const mN: Tensor | null = co.order === 2 ? mNext : null;
      const [x, m]: Tensor[] = await scope(async (): Promise<Tensor[]> => {
        let eps = await call(y, t);
        let x: Tensor = o.predictor === "ddim"
          ? ddimUpdate(y, eps, to, from)
          : dpmPredictor(y, eps, from, co, mN);
        // m_k for the next step's second-order term: from the last evaluation, as SPEC §7.4 has
        // it (with K = 0, the predictor's ε at the guess)
        let m: Tensor | null = null;
        for (let i = 0; i < o.iterations; i++) {
          eps = await call(x, t);
          m = x0FromEps(eps, x, from);
          const r = residual(x, m, y, co, mN);
          iterations[k] = i + 1;
          if (measure) {
            residuals[k] = await meanSquare(r);
            if (residuals[k] < o.tolerance) break;
          }
          x = sub(x, scale(r, o.rho));
        }
        return [x, m ?? x0FromEps(eps, x, from)];
      });
      latents[k] = x;
      mNext?.dispose();
      mNext = m;
    }
  } catch (e) {
    cleanUp(latents, k + 1, mNext, e);
  }
  mNext?.dispose();
  return { latents, residuals, iterations, modelCalls: calls };
}
