// Elementwise unary ops on floats: affine (x·alpha + beta, i.e. scale), SiLU, GELU (tanh
// approximation, as PixArt's and T5's "gelu_pytorch_tanh"), exp. CPU twin in unary_ref.ts.

import { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";
import { grid1d, LINEAR_ID, MAIN_1D, WG_1D, withTypes } from "./_wgsl.ts";

/** The unary ops, numbered as the shader's OP override. */
export const UNARY_OPS = { affine: 0, silu: 1, gelu_tanh: 2, exp: 3 } as const;
/** Name of a unary op. */
export type UnaryOp = keyof typeof UNARY_OPS;

const UNARY_WGSL = /* wgsl */ `
struct Params { n: u32, alpha: f32, beta: f32, p0: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 256;
override OP: u32 = 0;
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= p.n) { return; }
  let v = f32(x[i]);
  var r: f32;
  switch OP {
    case 0u: { r = v * p.alpha + p.beta; }
    case 1u: { r = v / (1.0 + exp(-v)); }
    case 2u: {
      // tanh via exp of a clamped argument: WGSL tanh overflows to NaN on some drivers
      let u = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -15.0, 15.0);
      let e = exp(2.0 * u);
      r = 0.5 * v * (1.0 + (e - 1.0) / (e + 1.0));
    }
    default: { r = exp(v); }
  }
  y[i] = T(r);
}`;

/** Applies a unary op; `alpha`/`beta` are used by "affine". */
export function unary(op: UnaryOp, x: Tensor, alpha = 1, beta = 0): Tensor {
  if (!isFloat(x.dtype)) {
    throw new TypeError(`Cannot ${op} a tensor of dtype ${x.dtype}: needs f32 or f16`);
  }
  const gpu = x.gpu;
  const out = Tensor.empty(gpu, x.shape, x.dtype, op);
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 1)[0] = x.size;
  new Float32Array(params, 4, 2).set([alpha, beta]);
  const program = {
    name: "unary",
    op,
    wgsl: withTypes(gpu, UNARY_WGSL, { T: x.dtype }),
    overrides: { WG: WG_1D, OP: UNARY_OPS[op] },
  };
  gpu.dispatch(program, [x, out], grid1d(x.size), new Uint8Array(params));
  return out;
}

/** `x * s + b` elementwise. */
export function scale(x: Tensor, s: number, b = 0): Tensor {
  return unary("affine", x, s, b);
}
/** SiLU: `x * sigmoid(x)`. */
export function silu(x: Tensor): Tensor {
  return unary("silu", x);
}
/** GELU, tanh approximation. */
export function geluTanh(x: Tensor): Tensor {
  return unary("gelu_tanh", x);
}
/** `exp(x)` elementwise. */
export function exp(x: Tensor): Tensor {
  return unary("exp", x);
}
