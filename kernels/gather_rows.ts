// Row gather: out[i, :] = table[indices[i], :] (embedding lookup). An index outside the table
// yields a zero row: the GPU cannot throw, and checking would need a readback. CPU twin in
// gather_rows_ref.ts.

import { Tensor } from "../tensor/tensor.ts";
import { grid1d, LINEAR_ID, MAIN_1D, WG_1D, withTypes } from "./_wgsl.ts";

const GATHER_WGSL = /* wgsl */ `
struct Params { n: u32, width: u32, rows: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> table: array<T>;
@group(0) @binding(1) var<storage, read> idx: array<I>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
@group(0) @binding(3) var<uniform> p: Params;
override WG: u32 = 256;
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= p.n) { return; }
  let r = idx[i / p.width];
  if (r < 0 || u32(r) >= p.rows) { y[i] = T(0); return; }
  y[i] = table[u32(r) * p.width + i % p.width];
}`;

/** Gathers rows of a `[rows, ...]` table by an i32 or u32 index tensor of any shape. */
export function gatherRows(table: Tensor, indices: Tensor): Tensor {
  if (indices.dtype !== "i32" && indices.dtype !== "u32") {
    throw new TypeError(
      `Cannot gather rows with indices of dtype ${indices.dtype}: needs i32 or u32`,
    );
  }
  if (table.shape.length === 0) throw new RangeError("Cannot gather rows of a scalar table");
  const gpu = table.gpu;
  const width = table.size / table.shape[0];
  const out = Tensor.empty(
    gpu,
    [...indices.shape, ...table.shape.slice(1)],
    table.dtype,
    "gather_rows",
  );
  const program = {
    name: "gather_rows",
    wgsl: withTypes(gpu, GATHER_WGSL, { T: table.dtype, I: indices.dtype }),
    overrides: { WG: WG_1D },
  };
  if (out.size > 0) {
    gpu.dispatch(
      program,
      [table, indices, out],
      grid1d(out.size),
      new Uint32Array([out.size, width, table.shape[0], 0]),
    );
  }
  return out;
}
