// CPU reference for kernels/permute.ts.

import { stridesOf } from "../tensor/shape.ts";

/** Permutes the axes of a host array of `shape`. */
export function permuteRef(x: ArrayLike<number>, shape: number[], dims: number[]): Float64Array {
  const outShape = dims.map((d) => shape[d]), st = stridesOf(shape), ost = stridesOf(outShape);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let src = 0;
    for (let d = 0; d < dims.length; d++) {
      src += (Math.floor(i / ost[d]) % outShape[d]) * st[dims[d]];
    }
    out[i] = x[src];
  }
  return out;
}
