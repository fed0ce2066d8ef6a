// CPU reference for kernels/binary.ts: plain loops over the broadcast index.

import { broadcastShapes, numel, stridesOf } from "../tensor/shape.ts";
import type { BinaryOp } from "./binary.ts";

/** `a op b` with NumPy broadcasting on host arrays; returns values and the output shape. */
export function binaryRef(
  op: BinaryOp,
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
): { data: Float64Array; shape: number[] } {
  const shape = broadcastShapes(aShape, bShape);
  if (!shape) throw new TypeError("shapes do not broadcast");
  const n = numel(shape), out = new Float64Array(n), st = stridesOf(shape);
  const index = (i: number, s: readonly number[]) => {
    const sst = stridesOf(s);
    let off = 0;
    for (let d = 0; d < shape.length; d++) {
      const k = Math.floor(i / st[d]) % shape[d];
      const j = d - (shape.length - s.length);
      if (j >= 0 && s[j] !== 1) off += k * sst[j];
    }
    return off;
  };
  for (let i = 0; i < n; i++) {
    const x = a[index(i, aShape)], y = b[index(i, bShape)];
    out[i] = op === "add" ? x + y : op === "sub" ? x - y : op === "mul" ? x * y : x / y;
  }
  return { data: out, shape };
}
