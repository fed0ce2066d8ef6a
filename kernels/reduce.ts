// Sum and mean over the last axis (one thread per row, f32 accumulation); CPU twin reduce_ref.ts.

import { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";
import { grid1d, LINEAR_ID, MAIN_1D, withTypes } from "./_wgsl.ts";

const REDUCE_WGSL = /* wgsl */ `
struct Params { rows: u32, cols: u32, scale: f32, p0: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 64;
${MAIN_1D} {
  let r = ${LINEAR_ID};
  if (r >= p.rows) { return; }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += f32(x[r * p.cols + c]); }
  y[r] = T(s * p.scale);
}`;

function reduceLast(x: Tensor, op: "sum" | "mean"): Tensor {
  if (!isFloat(x.dtype)) throw new TypeError(`Cannot ${op} a tensor of dtype ${x.dtype}`);
  if (x.shape.length === 0) throw new RangeError(`Cannot ${op} a scalar: it has no last axis`);
  const gpu = x.gpu;
  const cols = x.shape[x.shape.length - 1];
  const shape = x.shape.slice(0, -1);
  const rows = shape.reduce((a, d) => a * d, 1);
  const out = Tensor.empty(gpu, shape, x.dtype, op);
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 2).set([rows, cols]);
  new Float32Array(params, 8, 1)[0] = op === "mean" ? 1 / cols : 1;
  const program = {
    name: "reduce",
    wgsl: withTypes(gpu, REDUCE_WGSL, { T: x.dtype }),
    overrides: { WG: 64 },
  };
  gpu.dispatch(program, [x, out], grid1d(rows, 64), new Uint8Array(params));
  return out;
}

/** Sum over the last axis; the result drops that axis. */
export function sum(x: Tensor): Tensor {
  return reduceLast(x, "sum");
}

/** Mean over the last axis; the result drops that axis. */
export function mean(x: Tensor): Tensor {
  return reduceLast(x, "mean");
}
