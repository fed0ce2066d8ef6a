// CPU reference for kernels/reduce.ts.

/** Sum (or mean) of each row of length `cols`, in f64. */
export function reduceRef(x: ArrayLike<number>, cols: number, op: "sum" | "mean"): Float64Array {
  const rows = x.length / cols, out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    out[r] = op === "mean" ? s / cols : s;
  }
  return out;
}
