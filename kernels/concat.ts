// Concatenation along an axis: each input is copied into its column band of the output, seen as
// [outer, axis·inner] rows; one launch per input. CPU twin in concat_ref.ts.

import { Tensor } from "../tensor/tensor.ts";
import { normAxis } from "../tensor/shape.ts";
import { grid1d, LINEAR_ID, MAIN_1D, WG_1D, withTypes } from "./_wgsl.ts";

const COPY_BAND_WGSL = /* wgsl */ `
struct Params { n: u32, width: u32, outWidth: u32, start: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 256;
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= p.n) { return; }
  let row = i / p.width;
  y[row * p.outWidth + p.start + i % p.width] = x[i];
}`;

/** Concatenates tensors of equal dtype and equal shape except along `axis`. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("Cannot concat an empty list of tensors");
  const first = tensors[0];
  const ax = normAxis(axis, first.shape.length, "concat");
  for (const t of tensors) {
    const same = t.shape.length === first.shape.length &&
      t.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!same || t.dtype !== first.dtype) {
      throw new TypeError(
        `Cannot concat tensors ${first} and ${t} along axis ${axis}: other dims and dtype must match`,
      );
    }
  }
  const shape = [...first.shape];
  shape[ax] = tensors.reduce((a, t) => a + t.shape[ax], 0);
  const gpu = first.gpu;
  const out = Tensor.empty(gpu, shape, first.dtype, "concat");
  const inner = shape.slice(ax + 1).reduce((a, d) => a * d, 1);
  const program = {
    name: "concat",
    wgsl: withTypes(gpu, COPY_BAND_WGSL, { T: first.dtype }),
    overrides: { WG: WG_1D },
  };
  let start = 0;
  for (const t of tensors) {
    const width = t.shape[ax] * inner;
    if (t.size > 0) {
      gpu.dispatch(
        program,
        [t, out],
        grid1d(t.size),
        new Uint32Array([t.size, width, shape[ax] * inner, start]),
      );
    }
    start += width;
  }
  return out;
}
