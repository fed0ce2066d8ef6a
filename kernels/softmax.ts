// Softmax over the last axis; CPU twin in softmax_ref.ts. Two variants:
// - "row_per_invocation" (CPU adapters): one thread walks a whole row three times; lavapipe runs
//   threads as SIMD lanes, so rows go across lanes and no barrier is needed.
// - "workgroup_per_row" (GPUs): 256 threads stride a row, reducing max and sum in workgroup memory.

import { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";
import { grid1d, LINEAR_ID, MAIN_1D, withTypes } from "./_wgsl.ts";
import { type KernelVariant, pickVariant } from "./_variant.ts";

const ROW_PER_INVOCATION = /* wgsl */ `
struct Params { rows: u32, cols: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 64;
${MAIN_1D} {
  let r = ${LINEAR_ID};
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var m = -3.402823e38;
  for (var c = 0u; c < p.cols; c++) { m = max(m, f32(x[base + c])); }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += exp(f32(x[base + c]) - m); }
  let inv = 1.0 / s;
  for (var c = 0u; c < p.cols; c++) { y[base + c] = T(exp(f32(x[base + c]) - m) * inv); }
}`;

const WORKGROUP_PER_ROW = /* wgsl */ `
struct Params { rows: u32, cols: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 256;
var<workgroup> red: array<f32, WG>;
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; } // uniform per workgroup, so barriers stay uniform
  let base = r * p.cols;
  var m = -3.402823e38;
  for (var c = li; c < p.cols; c += WG) { m = max(m, f32(x[base + c])); }
  red[li] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  m = red[0];
  workgroupBarrier();
  var t = 0.0;
  for (var c = li; c < p.cols; c += WG) { t += exp(f32(x[base + c]) - m); }
  red[li] = t;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  let inv = 1.0 / red[0];
  for (var c = li; c < p.cols; c += WG) { y[base + c] = T(exp(f32(x[base + c]) - m) * inv); }
}`;

/** Softmax variants, in order of preference. */
export const SOFTMAX_VARIANTS: readonly (KernelVariant & { wgsl: string; wg: number })[] = [
  { name: "row_per_invocation", suits: ["cpu"], wgsl: ROW_PER_INVOCATION, wg: 64 },
  { name: "workgroup_per_row", suits: ["gpu"], wgsl: WORKGROUP_PER_ROW, wg: 256 },
];

/** Softmax over the last axis (`dim = -1`), computed in f32. */
export function softmax(x: Tensor): Tensor {
  if (!isFloat(x.dtype)) throw new TypeError(`Cannot softmax a tensor of dtype ${x.dtype}`);
  if (x.shape.length === 0) throw new RangeError("Cannot softmax a scalar: it has no last axis");
  const gpu = x.gpu;
  const cols = x.shape[x.shape.length - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const out = Tensor.empty(gpu, x.shape, x.dtype, "softmax");
  const v = pickVariant(gpu, "softmax", SOFTMAX_VARIANTS);
  const program = {
    name: "softmax",
    wgsl: withTypes(gpu, v.wgsl, { T: x.dtype }),
    overrides: { WG: v.wg },
  };
  const grid = v.name === "workgroup_per_row" ? grid1d(rows, 1) : grid1d(rows, v.wg);
  gpu.dispatch(program, [x, out], grid, new Uint32Array([rows, cols]));
  return out;
}
