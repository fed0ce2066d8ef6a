// CPU reference for kernels/softmax.ts.

/** Softmax over rows of length `cols`, in f64 with the max subtracted. */
export function softmaxRef(x: ArrayLike<number>, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += cols) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[base + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[base + c] - m);
    for (let c = 0; c < cols; c++) out[base + c] = Math.exp(x[base + c] - m) / s;
  }
  return out;
}
