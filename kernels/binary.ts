// Elementwise binary arithmetic with NumPy broadcasting (add, sub, mul, div); CPU twin in
// binary_ref.ts. Same-shape inputs take a direct path; otherwise each thread maps its output
// index to both inputs through per-dimension strides (0 on broadcast dimensions), rank ≤ 8.

import { Tensor } from "../tensor/tensor.ts";
import { broadcastShapes, formatShape, numel, stridesOf } from "../tensor/shape.ts";
import { isFloat } from "../tensor/dtype.ts";
import { grid1d, LINEAR_ID, MAIN_1D, WG_1D, withTypes } from "./_wgsl.ts";

/** The binary ops, numbered as the shader's OP override. */
export const BINARY_OPS = { add: 0, sub: 1, mul: 2, div: 3 } as const;
/** Name of a binary op. */
export type BinaryOp = keyof typeof BINARY_OPS;

const BINARY_WGSL = /* wgsl */ `
struct Params { n: u32, rank: u32, p0: u32, p1: u32,
  shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> a: array<T>;
@group(0) @binding(1) var<storage, read> b: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
@group(0) @binding(3) var<uniform> p: Params;
override WG: u32 = 256;
override OP: u32 = 0;
fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= p.n) { return; }
  var ia = i; var ib = i;
  if (p.rank > 0u) {
    ia = 0u; ib = 0u;
    var rest = i;
    for (var d = i32(p.rank) - 1; d >= 0; d--) {
      let k = rest % at(p.shape, u32(d));
      rest = rest / at(p.shape, u32(d));
      ia += k * at(p.sa, u32(d));
      ib += k * at(p.sb, u32(d));
    }
  }
  let x = a[ia]; let z = b[ib];
  var r: T;
  switch OP {
    case 0u: { r = x + z; }
    case 1u: { r = x - z; }
    case 2u: { r = x * z; }
    default: { r = x / z; }
  }
  y[i] = r;
}`;

/** `a op b` with broadcasting; both inputs must have the same dtype. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype) {
    throw new TypeError(
      `Cannot ${op} tensors of dtypes ${a.dtype} and ${b.dtype}: they must match`,
    );
  }
  if (op === "div" && !isFloat(a.dtype)) {
    throw new TypeError(`Cannot div tensors of dtype ${a.dtype}: div needs f32 or f16`);
  }
  const shape = broadcastShapes(a.shape, b.shape);
  if (!shape) {
    throw new TypeError(
      `Cannot ${op} tensors of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}: ` +
        `they do not broadcast`,
    );
  }
  if (shape.length > 8) throw new RangeError(`Cannot ${op} tensors of rank ${shape.length}: max 8`);
  const gpu = a.gpu;
  const out = Tensor.empty(gpu, shape, a.dtype, op);
  const n = numel(shape);
  const params = new Uint32Array(4 + 24);
  params[0] = n;
  const same = a.size === n && b.size === n;
  if (!same) {
    params[1] = shape.length;
    const sa = broadcastStrides(a.shape, shape), sb = broadcastStrides(b.shape, shape);
    shape.forEach((d, i) => {
      params[4 + i] = d;
      params[12 + i] = sa[i];
      params[20 + i] = sb[i];
    });
  }
  const program = {
    name: "binary",
    op,
    wgsl: withTypes(gpu, BINARY_WGSL, { T: a.dtype }),
    overrides: { WG: WG_1D, OP: BINARY_OPS[op] },
  };
  gpu.dispatch(program, [a, b, out], grid1d(n), params);
  return out;
}

/** Strides of `from` read as the broadcast shape `to` (0 where a dimension is broadcast). */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const s = stridesOf(from);
  return to.map((_, i) => {
    const j = i - (to.length - from.length);
    return j < 0 || from[j] === 1 ? 0 : s[j];
  });
}

/** Elementwise `a + b` with broadcasting. */
export function add(a: Tensor, b: Tensor): Tensor {
  return binary("add", a, b);
}
/** Elementwise `a - b` with broadcasting. */
export function sub(a: Tensor, b: Tensor): Tensor {
  return binary("sub", a, b);
}
/** Elementwise `a * b` with broadcasting. */
export function mul(a: Tensor, b: Tensor): Tensor {
  return binary("mul", a, b);
}
/** Elementwise `a / b` with broadcasting (floats only). */
export function div(a: Tensor, b: Tensor): Tensor {
  return binary("div", a, b);
}
