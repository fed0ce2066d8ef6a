// Noise-schedule tables built the way diffusers builds them on the CPU (SPEC §6.1): every torch
// float32 op is emulated with Math.fround, and numpy's float64 linspace, arange and
// round-half-even are reproduced, so timesteps match exactly and ᾱ, σ̃ bit for bit.

const f = Math.fround;

/** Beta schedules we can build (diffusers `beta_schedule`). */
export type BetaSchedule = "linear" | "scaled_linear";
/** How inference timesteps are spread over the training range (diffusers `timestep_spacing`). */
export type TimestepSpacing = "linspace" | "leading" | "trailing";

/** What the beta table depends on. */
export interface BetaTableConfig {
  /** T, the number of training timesteps. */
  numTrainTimesteps: number;
  /** β_0. */
  betaStart: number;
  /** β_{T−1}. */
  betaEnd: number;
  /** "linear" in β, or "scaled_linear" (linear in √β). */
  betaSchedule: BetaSchedule;
  /** Explicit betas (diffusers `trained_betas`); overrides the schedule when set. */
  trainedBetas: readonly number[] | null;
}

/**
 * `torch.linspace(start, end, n, dtype=torch.float32)` on the CPU: an f32 step, then
 * `start + step·i` for the first half and `end − step·(n−1−i)` for the rest, each one fused
 * multiply-add (one rounding), as ATen's scalar kernel compiles.
 * @param start first value (rounded to f32)
 * @param end last value (rounded to f32)
 * @param n number of values
 * @returns the f32 values
 */
export function torchLinspaceF32(start: number, end: number, n: number): Float32Array {
  const out = new Float32Array(n);
  const s = f(start), e = f(end);
  if (n === 1) {
    out[0] = s;
    return out;
  }
  const step = f(f(e - s) / (n - 1));
  const half = Math.floor(n / 2);
  // step·i is exact in f64 (24 + 20 bits), so the sum rounds once to f64 and once to f32
  for (let i = 0; i < n; i++) out[i] = i < half ? s + step * i : e - step * (n - 1 - i);
  return out;
}

/**
 * The training betas, as diffusers' scheduler constructors build them in f32.
 * @param config schedule, range and length
 * @returns β_0..β_{T−1}
 */
export function betaTable(config: BetaTableConfig): Float32Array {
  const { numTrainTimesteps: n, betaStart, betaEnd } = config;
  if (config.trainedBetas) return Float32Array.from(config.trainedBetas);
  if (config.betaSchedule === "linear") return torchLinspaceF32(betaStart, betaEnd, n);
  const roots = torchLinspaceF32(Math.sqrt(betaStart), Math.sqrt(betaEnd), n);
  return roots.map((r) => f(r * r));
}

/**
 * ᾱ_i = Π_{j≤i}(1 − β_j): `1 − β` in f32, then `torch.cumprod`, which on the CPU multiplies in an
 * f64 accumulator and rounds each output to f32.
 * @param betas the f32 betas
 * @returns ᾱ, f32
 */
export function alphasCumprodTable(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= f(1 - betas[i]);
    out[i] = acc;
  }
  return out;
}

/**
 * σ̃ = √((1 − ᾱ)/ᾱ) for one f32 ᾱ, evaluated in f32 as torch does.
 * @param alphaCumprod ᾱ (an f32 value)
 * @returns σ̃ (an f32 value)
 */
export function sigmaFromAlphaCumprod(alphaCumprod: number): number {
  return f(Math.sqrt(f(f(1 - alphaCumprod) / alphaCumprod)));
}

/**
 * α = 1/√(σ̃² + 1) and s = σ̃·α in f32 (diffusers `_sigma_to_alpha_sigma_t`).
 * @param sigma σ̃ (an f32 value)
 * @returns [α, s]
 */
export function alphaSigmaFromSigma(sigma: number): [number, number] {
  const alpha = f(1 / f(Math.sqrt(f(f(sigma * sigma) + 1))));
  return [alpha, f(sigma * alpha)];
}

/**
 * λ = ln α − ln s in f32 (+∞ where s = 0).
 * @param alpha α
 * @param sigma s
 * @returns λ
 */
export function lambdaOf(alpha: number, sigma: number): number {
  return f(f(Math.log(alpha)) - f(Math.log(sigma)));
}

/**
 * numpy's half-to-even rounding (`np.round`); `Math.round` differs at .5.
 * @param v a finite number
 * @returns the nearest integer, ties to even
 */
export function roundHalfEven(v: number): number {
  const fl = Math.floor(v), d = v - fl;
  if (d > 0.5) return fl + 1;
  if (d < 0.5) return fl;
  return fl % 2 === 0 ? fl : fl + 1;
}

/**
 * `np.linspace(start, stop, num)` in f64: `i·step + start` with `step = (stop − start)/(num − 1)`
 * and the last point set to `stop` (SPEC §6.1: i·999/N would round differently).
 * @param start first value
 * @param stop last value
 * @param num number of values
 * @returns the values
 */
export function numpyLinspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

/**
 * `np.arange(start, stop, step)` in f64: `ceil((stop − start)/step)` values: `start`,
 * `start + step`, then `start + i·delta` with `delta = (start + step) − start`, as numpy fills.
 * @param start first value
 * @param stop bound (excluded)
 * @param step increment (non-zero)
 * @returns the values
 */
export function numpyArange(start: number, stop: number, step: number): number[] {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const delta = start + step - start;
  return Array.from({ length: n }, (_, i) => (i < 2 ? start + i * step : start + i * delta));
}

/**
 * `DPMSolverMultistepScheduler.set_timesteps` spacing: N descending training timesteps.
 * @param spacing "linspace" (PixArt), "leading" or "trailing"
 * @param n inference steps
 * @param numTrainTimesteps T
 * @param lastTimestep T less the steps clipped by `lambda_min_clipped`
 * @param stepsOffset added for "leading"
 * @returns the timesteps
 */
export function dpmTimesteps(
  spacing: TimestepSpacing,
  n: number,
  numTrainTimesteps: number,
  lastTimestep: number,
  stepsOffset: number,
): number[] {
  if (spacing === "linspace") {
    return numpyLinspace(0, lastTimestep - 1, n + 1).map(roundHalfEven).reverse().slice(0, n);
  }
  if (spacing === "leading") {
    const ratio = Math.floor(lastTimestep / (n + 1));
    return Array.from({ length: n }, (_, i) => (n - i) * ratio + stepsOffset);
  }
  return numpyArange(lastTimestep, 0, -numTrainTimesteps / n).map((v) => roundHalfEven(v) - 1);
}

/**
 * `DDIMScheduler.set_timesteps` spacing: N descending training timesteps.
 * @param spacing "linspace", "leading" (diffusers' default) or "trailing"
 * @param n inference steps
 * @param numTrainTimesteps T
 * @param stepsOffset added for "leading"
 * @returns the timesteps
 */
export function ddimTimesteps(
  spacing: TimestepSpacing,
  n: number,
  numTrainTimesteps: number,
  stepsOffset: number,
): number[] {
  if (spacing === "linspace") {
    return numpyLinspace(0, numTrainTimesteps - 1, n).map(roundHalfEven).reverse();
  }
  if (spacing === "leading") {
    const ratio = Math.floor(numTrainTimesteps / n);
    return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
  }
  const ratio = numTrainTimesteps / n;
  return numpyArange(numTrainTimesteps, 0, -ratio).map((v) => roundHalfEven(v) - 1);
}
