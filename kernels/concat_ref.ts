// CPU reference for kernels/concat.ts.

/** Concatenates host arrays with the given shapes along `axis`. */
export function concatRef(
  parts: { data: ArrayLike<number>; shape: number[] }[],
  axis: number,
): Float64Array {
  const shape = [...parts[0].shape];
  shape[axis] = parts.reduce((a, p) => a + p.shape[axis], 0);
  const outer = shape.slice(0, axis).reduce((a, d) => a * d, 1);
  const inner = shape.slice(axis + 1).reduce((a, d) => a * d, 1);
  const out = new Float64Array(outer * shape[axis] * inner);
  let o = 0;
  for (let r = 0; r < outer; r++) {
    for (const p of parts) {
      const w = p.shape[axis] * inner;
      for (let c = 0; c < w; c++) out[o++] = p.data[r * w + c];
    }
  }
  return out;
}
