// LayerNorm over the last axis with PixArt's adaLN-single modulate fused:
// y = ((x - mean) / sqrt(var + eps) · weight + bias) · (1 + scale) + shift, statistics in f32
// (two passes: the mean of x - x[0], then the mean of squared deviations). CPU twin in
// layer_norm_ref.ts.
// - "row_per_invocation" (CPU adapters): one thread walks its row three times (L1-resident);
//   lavapipe runs threads as SIMD lanes, so rows go across lanes and no barrier is needed. When
//   C % 4 == 0 the operands are read as rgba textures (~3x cheaper loads on lavapipe), else from
//   storage buffers.
// - "workgroup_per_row" (GPUs): 256 threads stride a row, reducing in workgroup memory.

import { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";
import { formatShape } from "../tensor/shape.ts";
import { grid1d, LINEAR_ID, MAIN_1D, withTypes } from "./_wgsl.ts";
import { type KernelVariant, pickVariant } from "./_variant.ts";
import { FLAT_LOAD, flatTexture } from "./_texture.ts";

// Bindings shared by both variants. Absent operands are bound to `x` and never read: FLAGS bit 1
// weight, 2 bias, 4 shift, 8 scale. Modulation row m = row / tokens (shift/scale [B,1,C]).
const HEAD = /* wgsl */ `
struct Params { rows: u32, cols: u32, tokens: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> w: array<W>;
@group(0) @binding(2) var<storage, read> b: array<W>;
@group(0) @binding(3) var<storage, read> shift: array<M>;
@group(0) @binding(4) var<storage, read> scale: array<M>;
@group(0) @binding(5) var<storage, read_write> y: array<T>;
@group(0) @binding(6) var<uniform> p: Params;
override FLAGS: u32 = 0;
fn finish(v: f32, c: u32, m: u32) -> T {
  var h = v;
  if ((FLAGS & 1u) != 0u) { h *= f32(w[c]); }
  if ((FLAGS & 2u) != 0u) { h += f32(b[c]); }
  if ((FLAGS & 8u) != 0u) { h *= 1.0 + f32(scale[m + c]); }
  if ((FLAGS & 4u) != 0u) { h += f32(shift[m + c]); }
  return T(h);
}`;

const ROW_PER_INVOCATION = /* wgsl */ `${HEAD}
override WG: u32 = 64;
${MAIN_1D} {
  let r = ${LINEAR_ID};
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let n = f32(p.cols);
  let k = f32(x[base]); // shift by the first value: exact differences, no cancellation
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += f32(x[base + c]) - k; }
  let mean = k + s / n;
  var q = 0.0;
  for (var c = 0u; c < p.cols; c++) { let d = f32(x[base + c]) - mean; q += d * d; }
  let rstd = 1.0 / sqrt(q / n + p.eps);
  let m = (r / p.tokens) * p.cols;
  for (var c = 0u; c < p.cols; c++) { y[base + c] = finish((f32(x[base + c]) - mean) * rstd, c, m); }
}`;

// Row per invocation reading rgba textures (flat layout, C % 4 == 0): 4 columns per texel.
const ROW_PER_INVOCATION_TEX = /* wgsl */ `
struct Params { rows: u32, cols: u32, tokens: u32, eps: f32 }
@group(0) @binding(0) var xt: texture_2d<f32>;
@group(0) @binding(1) var wt: texture_2d<f32>;
@group(0) @binding(2) var bt: texture_2d<f32>;
@group(0) @binding(3) var shiftt: texture_2d<f32>;
@group(0) @binding(4) var scalet: texture_2d<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<vec4<T>>;
@group(0) @binding(6) var<uniform> p: Params;
override FLAGS: u32 = 0;
override WG: u32 = 64;
${FLAT_LOAD}
${MAIN_1D} {
  let r = ${LINEAR_ID};
  if (r >= p.rows) { return; }
  let c4 = p.cols / 4u;
  let base = r * c4;
  let n = f32(p.cols);
  let k = texel(xt, base).x; // shift by the first value: exact differences, no cancellation
  var s = vec4<f32>(0.0);
  for (var c = 0u; c < c4; c++) { s += texel(xt, base + c) - k; }
  let mean = k + (s.x + s.y + s.z + s.w) / n;
  var q = vec4<f32>(0.0);
  for (var c = 0u; c < c4; c++) { let d = texel(xt, base + c) - mean; q += d * d; }
  let rstd = 1.0 / sqrt((q.x + q.y + q.z + q.w) / n + p.eps);
  let m = (r / p.tokens) * c4;
  for (var c = 0u; c < c4; c++) {
    var h = (texel(xt, base + c) - mean) * rstd;
    if ((FLAGS & 1u) != 0u) { h *= texel(wt, c); }
    if ((FLAGS & 2u) != 0u) { h += texel(bt, c); }
    if ((FLAGS & 8u) != 0u) { h *= 1.0 + texel(scalet, m + c); }
    if ((FLAGS & 4u) != 0u) { h += texel(shiftt, m + c); }
    y[base + c] = vec4<T>(h);
  }
}`;

const WORKGROUP_PER_ROW = /* wgsl */ `${HEAD}
override WG: u32 = 256;
var<workgroup> red: array<f32, WG>;
fn reduce(li: u32, v: f32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; } // uniform per workgroup, so barriers stay uniform
  let base = r * p.cols;
  let n = f32(p.cols);
  let k = f32(x[base]); // shift by the first value: exact differences, no cancellation
  var s = 0.0;
  for (var c = li; c < p.cols; c += WG) { s += f32(x[base + c]) - k; }
  let mean = k + reduce(li, s) / n;
  var q = 0.0;
  for (var c = li; c < p.cols; c += WG) { let d = f32(x[base + c]) - mean; q += d * d; }
  let rstd = 1.0 / sqrt(reduce(li, q) / n + p.eps);
  let m = (r / p.tokens) * p.cols;
  for (var c = li; c < p.cols; c += WG) { y[base + c] = finish((f32(x[base + c]) - mean) * rstd, c, m); }
}`;

/** LayerNorm variants, in order of preference. */
export const LAYER_NORM_VARIANTS: readonly (KernelVariant & { wgsl: string; wg: number })[] = [
  { name: "row_per_invocation", suits: ["cpu"], wgsl: ROW_PER_INVOCATION, wg: 64 },
  { name: "workgroup_per_row", suits: ["gpu"], wgsl: WORKGROUP_PER_ROW, wg: 256 },
];

/** Options of `layerNorm`. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-6, PixArt's norm1/norm2/norm_out). */
  eps?: number;
  /** Elementwise affine weight [C]. */
  weight?: Tensor;
  /** Elementwise affine bias [C]. */
  bias?: Tensor;
  /** adaLN-single shift, added last: [C] or [B, 1, C] against x [B, N, C] (leading dims of x, then 1s). */
  shift?: Tensor;
  /** adaLN-single scale, applied as `· (1 + scale)`; same shapes as `shift`. */
  scale?: Tensor;
}

/**
 * Number of modulation rows of `m` against `x`: `m`'s shape right-aligned to `x` must be some
 * leading dims of `x`, then 1s, then the last dim C. Throws a TypeError naming `op` otherwise.
 */
export function modulationRows(op: string, what: string, x: Tensor, m: Tensor): number {
  const xs = x.shape, cols = xs[xs.length - 1];
  const ms = [...Array(Math.max(0, xs.length - m.shape.length)).fill(1), ...m.shape];
  let ok = ms.length === xs.length && ms[ms.length - 1] === cols;
  let rows = 1, ones = false;
  for (let i = 0; ok && i < xs.length - 1; i++) {
    if (ms[i] === 1 && xs[i] === 1) continue;
    if (ms[i] === 1) ones = true;
    else if (ms[i] === xs[i] && !ones) rows *= xs[i];
    else ok = false;
  }
  if (!ok) {
    throw new TypeError(
      `Cannot ${op} x ${formatShape(xs)} with ${what} ${formatShape(m.shape)}: expected ` +
        `[${cols}] or leading dims of x then 1s, e.g. [${xs[0] ?? 1}, 1, ${cols}]`,
    );
  }
  return rows;
}

function checkVector(op: string, what: string, t: Tensor, cols: number): void {
  if (t.size !== cols || t.shape[t.shape.length - 1] !== cols || !isFloat(t.dtype)) {
    throw new TypeError(
      `Cannot ${op} with ${what} ${t}: expected ${cols} floats, shape [${cols}]`,
    );
  }
}

/**
 * LayerNorm over the last axis, `((x - mean)/sqrt(var + eps))·weight + bias`, then the adaLN-single
 * modulate `·(1 + scale) + shift` when given, in one pass. Statistics are f32 (two-pass); storage
 * may be f32 or f16.
 *
 * @param x input [..., C], f32 or f16
 * @param options eps, optional affine `weight`/`bias` [C], optional `shift`/`scale` ([C] or [B, 1, C])
 * @returns a tensor of x's shape and dtype
 * @example
 * ```ts ignore
 * const a = layerNorm(x, { shift: shiftMsa, scale: scaleMsa }); // x [B,N,C], shift [B,1,C]
 * ```
 */
export function layerNorm(x: Tensor, options: LayerNormOptions = {}): Tensor {
  const op = "layerNorm";
  const { eps = 1e-6, weight, bias, shift, scale } = options;
  if (!isFloat(x.dtype)) throw new TypeError(`Cannot ${op} a tensor of dtype ${x.dtype}`);
  if (x.shape.length === 0) throw new TypeError(`Cannot ${op} a scalar: it has no last axis`);
  if (!(eps >= 0) || !Number.isFinite(eps)) {
    throw new RangeError(`Cannot ${op} with eps ${eps}: expected a finite value >= 0`);
  }
  const cols = x.shape[x.shape.length - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  if (weight) checkVector(op, "weight", weight, cols);
  if (bias) checkVector(op, "bias", bias, cols);
  if (weight && bias && weight.dtype !== bias.dtype) {
    throw new TypeError(`Cannot ${op} with weight ${weight} and bias ${bias}: dtypes differ`);
  }
  let modRows = 1;
  for (const [what, m] of [["shift", shift], ["scale", scale]] as const) {
    if (!m) continue;
    if (!isFloat(m.dtype)) throw new TypeError(`Cannot ${op} with ${what} of dtype ${m.dtype}`);
    modRows = modulationRows(op, what, x, m);
  }
  if (shift && scale && (shift.dtype !== scale.dtype || shift.size !== scale.size)) {
    throw new TypeError(`Cannot ${op} with shift ${shift} and scale ${scale}: they must match`);
  }
  const gpu = x.gpu;
  const out = Tensor.empty(gpu, x.shape, x.dtype, op);
  if (rows === 0) return out;
  const flags = (weight ? 1 : 0) | (bias ? 2 : 0) | (shift ? 4 : 0) | (scale ? 8 : 0);
  const v = pickVariant(gpu, "layer_norm", LAYER_NORM_VARIANTS);
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 3).set([rows, cols, rows / modRows]);
  new Float32Array(params, 12, 1)[0] = eps;
  const operands = [x, weight, bias, shift, scale];
  if (v.name === "row_per_invocation" && cols % 4 === 0) {
    const views = operands.map((t, i) => (t ? flatTexture(t, i) : undefined));
    if (views.every((view, i) => view !== null || !operands[i])) {
      const program = {
        name: "layer_norm",
        wgsl: withTypes(gpu, ROW_PER_INVOCATION_TEX, { T: x.dtype }),
        overrides: { WG: v.wg, FLAGS: flags },
      };
      const bound = views.map((view) => view ?? views[0]!);
      gpu.dispatch(program, [...bound, out], grid1d(rows, v.wg), new Uint8Array(params));
      return out;
    }
  }
  const wt = weight ?? bias ?? x, mt = shift ?? scale ?? x;
  const program = {
    name: "layer_norm",
    wgsl: withTypes(gpu, v.wgsl, { T: x.dtype, W: wt.dtype, M: mt.dtype }),
    overrides: { WG: v.wg, FLAGS: flags },
  };
  const grid = v.name === "workgroup_per_row" ? grid1d(rows, 1) : grid1d(rows, v.wg);
  gpu.dispatch(
    program,
    [x, weight ?? wt, bias ?? wt, shift ?? mt, scale ?? mt, out],
    grid,
    new Uint8Array(params),
  );
  return out;
}
