// RMSNorm over the last axis as T5 does it (T5LayerNorm): y = x / sqrt(mean(x²) + eps) · weight,
// no mean subtraction, no bias, the mean of squares in f32. CPU twin in rms_norm_ref.ts.
// - "row_per_invocation" (CPU adapters): one thread walks its row twice; rows go across SIMD
//   lanes. When C % 4 == 0 x and weight are read as rgba textures (cheaper loads on lavapipe).
// - "workgroup_per_row" (GPUs): 256 threads stride a row, reducing in workgroup memory.

import { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";
import { grid1d, LINEAR_ID, MAIN_1D, withTypes } from "./_wgsl.ts";
import { type KernelVariant, pickVariant } from "./_variant.ts";
import { FLAT_LOAD, flatTexture } from "./_texture.ts";

const HEAD = /* wgsl */ `
struct Params { rows: u32, cols: u32, eps: f32, p0: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> w: array<W>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
@group(0) @binding(3) var<uniform> p: Params;`;

const ROW_PER_INVOCATION = /* wgsl */ `${HEAD}
override WG: u32 = 64;
${MAIN_1D} {
  let r = ${LINEAR_ID};
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var q = 0.0;
  for (var c = 0u; c < p.cols; c++) { let v = f32(x[base + c]); q += v * v; }
  let rstd = 1.0 / sqrt(q / f32(p.cols) + p.eps);
  for (var c = 0u; c < p.cols; c++) { y[base + c] = T(f32(x[base + c]) * rstd * f32(w[c])); }
}`;

// Row per invocation reading rgba textures (flat layout, C % 4 == 0): 4 columns per texel.
const ROW_PER_INVOCATION_TEX = /* wgsl */ `
struct Params { rows: u32, cols: u32, eps: f32, p0: u32 }
@group(0) @binding(0) var xt: texture_2d<f32>;
@group(0) @binding(1) var wt: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<T>>;
@group(0) @binding(3) var<uniform> p: Params;
override WG: u32 = 64;
${FLAT_LOAD}
${MAIN_1D} {
  let r = ${LINEAR_ID};
  if (r >= p.rows) { return; }
  let c4 = p.cols / 4u;
  let base = r * c4;
  var q = vec4<f32>(0.0);
  for (var c = 0u; c < c4; c++) { let v = texel(xt, base + c); q += v * v; }
  let rstd = 1.0 / sqrt((q.x + q.y + q.z + q.w) / f32(p.cols) + p.eps);
  for (var c = 0u; c < c4; c++) { y[base + c] = vec4<T>(texel(xt, base + c) * rstd * texel(wt, c)); }
}`;

const WORKGROUP_PER_ROW = /* wgsl */ `${HEAD}
override WG: u32 = 256;
var<workgroup> red: array<f32, WG>;
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; } // uniform per workgroup, so barriers stay uniform
  let base = r * p.cols;
  var q = 0.0;
  for (var c = li; c < p.cols; c += WG) { let v = f32(x[base + c]); q += v * v; }
  red[li] = q;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  let rstd = 1.0 / sqrt(red[0] / f32(p.cols) + p.eps);
  for (var c = li; c < p.cols; c += WG) { y[base + c] = T(f32(x[base + c]) * rstd * f32(w[c])); }
}`;

/** RMSNorm variants, in order of preference. */
export const RMS_NORM_VARIANTS: readonly (KernelVariant & { wgsl: string; wg: number })[] = [
  { name: "row_per_invocation", suits: ["cpu"], wgsl: ROW_PER_INVOCATION, wg: 64 },
  { name: "workgroup_per_row", suits: ["gpu"], wgsl: WORKGROUP_PER_ROW, wg: 256 },
];

/** Options of `rmsNorm`. */
export interface RmsNormOptions {
  /** Added to the mean of squares (default 1e-6, T5's layer_norm_epsilon). */
  eps?: number;
}

/**
 * T5's RMSNorm over the last axis: `x / sqrt(mean(x²) + eps) · weight`, computed in f32.
 *
 * @param x input [..., C], f32 or f16
 * @param weight the norm's weight [C] (f32 or f16)
 * @param options eps (default 1e-6)
 * @returns a tensor of x's shape and dtype
 * @example
 * ```ts ignore
 * const a = rmsNorm(h, w.get("layer_norm.weight", [4096])); // h [B, L, 4096]
 * ```
 */
export function rmsNorm(x: Tensor, weight: Tensor, options: RmsNormOptions = {}): Tensor {
  const op = "rmsNorm";
  const { eps = 1e-6 } = options;
  if (!isFloat(x.dtype)) throw new TypeError(`Cannot ${op} a tensor of dtype ${x.dtype}`);
  if (x.shape.length === 0) throw new TypeError(`Cannot ${op} a scalar: it has no last axis`);
  if (!(eps >= 0) || !Number.isFinite(eps)) {
    throw new RangeError(`Cannot ${op} with eps ${eps}: expected a finite value >= 0`);
  }
  const cols = x.shape[x.shape.length - 1];
  if (weight.size !== cols || weight.shape[weight.shape.length - 1] !== cols) {
    throw new TypeError(
      `Cannot ${op} x ${x} with weight ${weight}: expected weight [${cols}]`,
    );
  }
  if (!isFloat(weight.dtype)) {
    throw new TypeError(`Cannot ${op} with weight of dtype ${weight.dtype}: expected a float`);
  }
  const gpu = x.gpu;
  const rows = cols === 0 ? 0 : x.size / cols;
  const out = Tensor.empty(gpu, x.shape, x.dtype, op);
  if (rows === 0) return out;
  const v = pickVariant(gpu, "rms_norm", RMS_NORM_VARIANTS);
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 2).set([rows, cols]);
  new Float32Array(params, 8, 1)[0] = eps;
  if (v.name === "row_per_invocation" && cols % 4 === 0) {
    const xt = flatTexture(x, 0), wt = xt && flatTexture(weight, 1);
    if (xt && wt) {
      const program = {
        name: "rms_norm",
        wgsl: withTypes(gpu, ROW_PER_INVOCATION_TEX, { T: x.dtype }),
        overrides: { WG: v.wg },
      };
      gpu.dispatch(program, [xt, wt, out], grid1d(rows, v.wg), new Uint8Array(params));
      return out;
    }
  }
  const program = {
    name: "rms_norm",
    wgsl: withTypes(gpu, v.wgsl, { T: x.dtype, W: weight.dtype }),
    overrides: { WG: v.wg },
  };
  const grid = v.name === "workgroup_per_row" ? grid1d(rows, 1) : grid1d(rows, v.wg);
  gpu.dispatch(program, [x, weight, out], grid, new Uint8Array(params));
  return out;
}
