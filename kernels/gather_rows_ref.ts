// CPU reference for kernels/gather_rows.ts.

/** Gathers rows of `width` values; out-of-range indices give zero rows. */
export function gatherRowsRef(
  table: ArrayLike<number>,
  width: number,
  indices: ArrayLike<number>,
): Float64Array {
  const rows = table.length / width, out = new Float64Array(indices.length * width);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    if (r < 0 || r >= rows) continue;
    for (let c = 0; c < width; c++) out[i * width + c] = table[r * width + c];
  }
  return out;
}
