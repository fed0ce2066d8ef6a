// CPU reference for kernels/unary.ts.

import type { UnaryOp } from "./unary.ts";

/** Applies a unary op to host values in f64. */
export function unaryRef(op: UnaryOp, x: ArrayLike<number>, alpha = 1, beta = 0): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (op === "affine") out[i] = v * alpha + beta;
    else if (op === "silu") out[i] = v / (1 + Math.exp(-v));
    else if (op === "gelu_tanh") {
      out[i] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    } else out[i] = Math.exp(v);
  }
  return out;
}
