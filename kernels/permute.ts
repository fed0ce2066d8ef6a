// Axis permutation (torch `permute`), materialised: out[i] = x[offset of permuted index].
// Shares the strided-index walk with the broadcast path of binary.ts. CPU twin permute_ref.ts.

import { Tensor } from "../tensor/tensor.ts";
import { stridesOf } from "../tensor/shape.ts";
import { grid1d, LINEAR_ID, MAIN_1D, WG_1D, withTypes } from "./_wgsl.ts";

const PERMUTE_WGSL = /* wgsl */ `
struct Params { n: u32, rank: u32, p0: u32, p1: u32, shape: array<vec4<u32>, 2>, sx: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 256;
fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= p.n) { return; }
  var rest = i; var src = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    src += (rest % at(p.shape, u32(d))) * at(p.sx, u32(d));
    rest = rest / at(p.shape, u32(d));
  }
  y[i] = x[src];
}`;

/** Reorders axes: `out.shape[i] = x.shape[dims[i]]`. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const rank = x.shape.length;
  const sorted = [...dims].map((d) => (d < 0 ? d + rank : d)).sort((a, b) => a - b);
  if (dims.length !== rank || sorted.some((d, i) => d !== i) || rank > 8) {
    throw new RangeError(
      `Cannot permute tensor ${x} by [${dims.join(", ")}]: not a permutation of its ${rank} axes`,
    );
  }
  const axes = dims.map((d) => (d < 0 ? d + rank : d));
  const gpu = x.gpu;
  const shape = axes.map((d) => x.shape[d]);
  const out = Tensor.empty(gpu, shape, x.dtype, "permute");
  const st = stridesOf(x.shape);
  const params = new Uint32Array(4 + 16);
  params[0] = x.size;
  params[1] = rank;
  axes.forEach((d, i) => {
    params[4 + i] = shape[i];
    params[12 + i] = st[d];
  });
  const program = {
    name: "permute",
    wgsl: withTypes(gpu, PERMUTE_WGSL, { T: x.dtype }),
    overrides: { WG: WG_1D },
  };
  if (x.size > 0) gpu.dispatch(program, [x, out], grid1d(x.size), params);
  return out;
}
