// GroupNorm for NCHW activations (diffusers' VAE: 32 groups, eps 1e-6, affine), SiLU optionally
// fused. CPU twin in group_norm_ref.ts. In NCHW a group (b, g) is one contiguous run of
// L = C/groups · H·W values, reduced in two stages so the work spreads over many threads:
//   1. partials: P threads per group each sum a strided share, shifted by its first value (so the
//      sums do not cancel), giving (count, mean, M2) per share;
//   2. finalize: one thread per group merges the P shares with Chan's formula: mean, 1/std;
//   3. apply: y = (x - mean)·rstd·weight[c] + bias[c] (then SiLU), a run of a plane per thread.
// Variants: "texture" (CPU adapters) reads x in stages 1 and 3 as an rgba texture when
// H·W % 4 == 0 (cheaper loads on lavapipe; else from storage) and gives each thread long runs;
// "storage" (GPUs) reads the storage buffer with shorter runs per thread.

import { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";
import { grid1d, LINEAR_ID, MAIN_1D, WG_1D, withTypes } from "./_wgsl.ts";
import { FLAT_LOAD, flatTexture, scratchTexture } from "./_texture.ts";
import { type KernelVariant, pickVariant } from "./_variant.ts";

// Share j of `parts` over n items as (start, end, step): a contiguous run per thread (CONTIG,
// CPU adapters: lavapipe stores are ~4x faster when each lane writes its own run) or a stride
// of `parts` (GPUs: neighbouring threads touch neighbouring addresses).
const SHARE_RANGE = /* wgsl */ `
fn share(j: u32, parts: u32, n: u32) -> vec3<u32> {
  if (CONTIG) {
    let run = (n + parts - 1u) / parts;
    return vec3<u32>(min(j * run, n), min(j * run + run, n), 1u);
  }
  return vec3<u32>(min(j, n), n, parts);
}`;

// `VEC` 4: x is read as texels of 4 values (texture path), else one value at a time.
const PARTIALS = /* wgsl */ `
struct Params { groups: u32, len: u32, parts: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var xt: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;
override WG: u32 = 64;
override VEC: u32 = 1;
override CONTIG: bool = false;
${FLAT_LOAD}
${SHARE_RANGE}
fn load(i: u32) -> vec4<f32> {
  if (VEC == 4u) { return texel(xt, i); }
  return vec4<f32>(f32(x[i]), 0.0, 0.0, 0.0);
}
${MAIN_1D} {
  let t = ${LINEAR_ID};
  if (t >= p.groups * p.parts) { return; }
  let g = t / p.parts;
  let j = t % p.parts;
  let n = p.len / VEC; // values (or texels) in the group
  let r = share(j, p.parts, n);
  if (r.x >= r.y) { part[t] = vec4<f32>(0.0); return; }
  let base = g * n;
  let k = load(base + r.x).x; // the share's shift
  var s = vec4<f32>(0.0);
  var q = vec4<f32>(0.0);
  for (var i = r.x; i < r.y; i += r.z) {
    var d = load(base + i) - k;
    if (VEC == 1u) { d = vec4<f32>(d.x, 0.0, 0.0, 0.0); }
    s += d;
    q += d * d;
  }
  let cnt = f32(((r.y - 1u - r.x) / r.z + 1u) * VEC);
  let s1 = s.x + s.y + s.z + s.w;
  let m2 = max(q.x + q.y + q.z + q.w - s1 * s1 / cnt, 0.0);
  part[t] = vec4<f32>(cnt, k + s1 / cnt, m2, 0.0);
}`;

const FINALIZE = /* wgsl */ `
struct Params { groups: u32, parts: u32, eps: f32, p0: u32 }
@group(0) @binding(0) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> stats: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 64;
${MAIN_1D} {
  let g = ${LINEAR_ID};
  if (g >= p.groups) { return; }
  let base = g * p.parts;
  let m0 = part[base].y;
  var n = 0.0;
  var s = 0.0;
  for (var j = 0u; j < p.parts; j++) { let q = part[base + j]; n += q.x; s += q.x * (q.y - m0); }
  let mean = m0 + s / n;
  var m2 = 0.0;
  for (var j = 0u; j < p.parts; j++) {
    let q = part[base + j];
    let d = q.y - mean;
    m2 += q.z + q.x * d * d;
  }
  stats[g] = vec2<f32>(mean, 1.0 / sqrt(m2 / n + p.eps));
}`;

// The output as values (storage path) or texels of 4 values (texture path, H·W % 4 == 0).
const STORE_SCALAR = /* wgsl */ `
@group(0) @binding(5) var<storage, read_write> y: array<T>;
fn store(i: u32, v: vec4<f32>) { y[i] = T(v.x); }`;
const STORE_VEC4 = /* wgsl */ `
@group(0) @binding(5) var<storage, read_write> y: array<vec4<T>>;
fn store(i: u32, v: vec4<f32>) { y[i] = vec4<T>(v); }`;

// Thread t handles share t % per of plane t / per (plane = b·C + c).
function applyWgsl(vec4: boolean): string {
  return /* wgsl */ `
struct Params { planes: u32, hw: u32, per: u32, cpg: u32, channels: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var xt: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> stats: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> w: array<W>;
@group(0) @binding(4) var<storage, read> b: array<W>;
${vec4 ? STORE_VEC4 : STORE_SCALAR}
@group(0) @binding(6) var<uniform> p: Params;
override WG: u32 = 64;
override VEC: u32 = 1;
override SILU: bool = false;
override CONTIG: bool = false;
${FLAT_LOAD}
${SHARE_RANGE}
fn load(i: u32) -> vec4<f32> {
  if (VEC == 4u) { return texel(xt, i); }
  return vec4<f32>(f32(x[i]));
}
fn act(v: vec4<f32>) -> vec4<f32> {
  if (SILU) { return v / (1.0 + exp(-v)); }
  return v;
}
${MAIN_1D} {
  let t = ${LINEAR_ID};
  if (t >= p.planes * p.per) { return; }
  let plane = t / p.per;
  let j = t % p.per;
  let n = p.hw / VEC;
  let c = plane % p.channels;
  let st = stats[plane / p.cpg];
  let a = st.y * f32(w[c]);
  let bc = f32(b[c]);
  let base = plane * n;
  let r = share(j, p.per, n);
  for (var i = r.x; i < r.y; i += r.z) {
    store(base + i, act((load(base + i) - st.x) * a + bc));
  }
}`;
}

/** Options of `groupNorm`. */
export interface GroupNormOptions {
  /** Number of groups; must divide the channel count (32 in the SD VAE). */
  groups: number;
  /** Added to the variance (default 1e-6, the VAE's). */
  eps?: number;
  /** Apply SiLU to the result (the VAE's norm → SiLU pairs), default false. */
  silu?: boolean;
}

/** GroupNorm variants, in order of preference; `share`/`run`: values (or texels) per thread in
 * stages 1 and 3 (lavapipe pays per invocation, so the CPU variant gives each thread more). */
export const GROUP_NORM_VARIANTS: readonly (KernelVariant & {
  texture: boolean;
  contig: boolean;
  share: number;
  run: number;
  wg: number;
})[] = [
  { name: "texture", suits: ["cpu"], texture: true, contig: true, share: 1024, run: 256, wg: 64 },
  {
    name: "storage",
    suits: ["gpu"],
    texture: false,
    contig: false,
    share: 256,
    run: 16,
    wg: WG_1D,
  },
];

/**
 * GroupNorm over NCHW `x` [B, C, ...spatial]: per (batch, group of C/groups channels) statistics
 * in f32, then `(x - mean)/sqrt(var + eps)·weight[c] + bias[c]`, optionally followed by SiLU.
 *
 * @param x input [B, C, H, W] (any number of spatial dims, including none), f32 or f16
 * @param weight affine weight [C]
 * @param bias affine bias [C], same dtype as weight
 * @param options groups (required), eps (default 1e-6), silu (default false)
 * @returns a tensor of x's shape and dtype
 * @example
 * ```ts ignore
 * const h = groupNorm(x, norm1.weight, norm1.bias, { groups: 32, silu: true }); // x [1,128,64,64]
 * ```
 */
export function groupNorm(
  x: Tensor,
  weight: Tensor,
  bias: Tensor,
  options: GroupNormOptions,
): Tensor {
  const op = "groupNorm";
  const { groups, eps = 1e-6, silu = false } = options;
  if (!isFloat(x.dtype)) throw new TypeError(`Cannot ${op} a tensor of dtype ${x.dtype}`);
  if (x.shape.length < 2) {
    throw new TypeError(`Cannot ${op} x ${x}: expected [B, C, ...spatial]`);
  }
  const [batch, channels] = x.shape;
  for (const [what, t] of [["weight", weight], ["bias", bias]] as const) {
    if (t.size !== channels || t.shape.length !== 1 || !isFloat(t.dtype)) {
      throw new TypeError(
        `Cannot ${op} x ${x} with ${what} ${t}: expected ${channels} floats, shape [${channels}]`,
      );
    }
  }
  if (weight.dtype !== bias.dtype) {
    throw new TypeError(`Cannot ${op} with weight ${weight} and bias ${bias}: dtypes differ`);
  }
  if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
    throw new RangeError(
      `Cannot ${op} x ${x} with groups ${groups}: expected a positive divisor of ${channels}`,
    );
  }
  if (!(eps >= 0) || !Number.isFinite(eps)) {
    throw new RangeError(`Cannot ${op} with eps ${eps}: expected a finite value >= 0`);
  }
  const gpu = x.gpu;
  const out = Tensor.empty(gpu, x.shape, x.dtype, op);
  const hw = x.shape.slice(2).reduce((a, d) => a * d, 1);
  if (x.size === 0) return out;
  const cpg = channels / groups, len = cpg * hw, nGroups = batch * groups;
  const v = pickVariant(gpu, "group_norm", GROUP_NORM_VARIANTS);
  const xt = v.texture && hw % 4 === 0 ? flatTexture(x, 0) : null;
  const vec = xt ? 4 : 1;
  // The storage path still binds a texture: a 1-texel scratch one it never reads.
  const tex = xt ?? scratchTexture(gpu, "group_norm:unused", {
    size: [1, 1],
    format: "rgba32float",
    usage: GPUTextureUsage.TEXTURE_BINDING,
  }).view;
  const types = { T: x.dtype, W: weight.dtype };

  const parts = Math.max(1, Math.min(1024, Math.ceil(len / vec / v.share)));
  const partial = Tensor.empty(gpu, [nGroups * parts, 4], "f32", `${op} partials`);
  gpu.dispatch(
    {
      name: "group_norm_partials",
      op,
      wgsl: withTypes(gpu, PARTIALS, types),
      overrides: { WG: 64, VEC: vec, CONTIG: v.contig ? 1 : 0 },
    },
    [x, tex, partial],
    grid1d(nGroups * parts, 64),
    new Uint32Array([nGroups, len, parts, 0]),
  );

  const stats = Tensor.empty(gpu, [nGroups, 2], "f32", `${op} stats`);
  const fin = new ArrayBuffer(16);
  new Uint32Array(fin, 0, 2).set([nGroups, parts]);
  new Float32Array(fin, 8, 1)[0] = eps;
  gpu.dispatch(
    { name: "group_norm_finalize", op, wgsl: FINALIZE, overrides: { WG: 64 } },
    [partial, stats],
    grid1d(nGroups, 64),
    new Uint8Array(fin),
  );

  const planes = batch * channels;
  const per = Math.ceil(hw / vec / v.run);
  gpu.dispatch(
    {
      name: "group_norm_apply",
      op,
      wgsl: withTypes(gpu, applyWgsl(vec === 4), types),
      overrides: { WG: v.wg, VEC: vec, SILU: silu ? 1 : 0, CONTIG: v.contig ? 1 : 0 },
    },
    [x, tex, stats, weight, bias, out],
    grid1d(planes * per, v.wg),
    new Uint32Array([planes, hw, per, cpg, channels, 0, 0, 0]),
  );
  partial.dispose(); // later launches run after these, so the buffers may be reused at once
  stats.dispose();
  return out;
}
