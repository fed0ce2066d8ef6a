// ToMe-for-SD merge and unmerge with a plan from tome_plan.ts (dbolya/tomesd `merge`/`unmerge`,
// SPEC §9.1 steps 4-5). Merge: unmerged sources in rank order, then every destination averaged with
// its merged sources (torch scatter_reduce "mean", include_self), gathered per output row because
// WGSL has no float atomics. Unmerge: every position copies its row of the merged tensor (merged
// sources get their destination's). Rows are read as tome_rows.ts chooses. CPU twin in
// tome_merge_ref.ts.

import { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";
import { formatShape } from "../tensor/shape.ts";
import { grid1d, withTypes } from "./_wgsl.ts";
import { pickVariant } from "./_variant.ts";
import { planShape, type TomePlan } from "./tome_plan.ts";
import { rowBinding, rowReader, rowSource, rowWriter, TOME_READ_VARIANTS } from "./tome_rows.ts";

const V = 8; // vec4 columns per invocation: lavapipe pays per workgroup, so fewer, longer ones

const MERGE_WGSL = /* wgsl */ `
struct Params { rows: u32, u: u32, c: u32, n: u32, ns: u32, nd: u32, r: u32, pstride: u32,
                cpr: u32, identity: u32, p0: u32, p1: u32 }
@group(0) @binding(1) var<storage, read> part: array<i32>; // srcPos | dstPos | slot
@group(0) @binding(2) var<storage, read> unmerged: array<i32>;
@group(0) @binding(3) var<storage, read> offsets: array<i32>;
@group(0) @binding(4) var<storage, read> counts: array<i32>;
@group(0) @binding(5) var<storage, read> groups: array<i32>;
@group(0) @binding(7) var<uniform> p: Params;
override WG: u32 = 64;
override V: u32 = 8;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.rows * p.cpr) { return; }
  let i = t / p.cpr;
  let k0 = (t % p.cpr) * V;
  let b = gid.z;
  let pb = b * p.pstride; // the plan's batch row
  var src = i; // identity plan (r = 0)
  var g = 0u;
  var k = 0u;
  if (p.identity == 0u && i < p.u) {
    src = u32(part[unmerged[pb * (p.ns - p.r) + i]]);
  } else if (p.identity == 0u) {
    let d = i - p.u;
    src = u32(part[p.ns + d]);
    g = pb * p.r + u32(offsets[pb * p.nd + d]);
    k = u32(counts[pb * p.nd + d]);
  }
  let o = (b * p.rows + i) * p.c;
  for (var v = k0; v < min(k0 + V, (p.c + 3u) / 4u); v++) {
    var acc = ld4(b, src, v);
    for (var j = 0u; j < k; j++) { acc += ld4(b, u32(groups[g + j]), v); } // rank order, as torch
    st4(o, v, select(acc, acc / f32(k + 1u), k > 0u));
  }
}`;

const UNMERGE_WGSL = /* wgsl */ `
struct Params { n: u32, c: u32, ns: u32, nd: u32, r: u32, u: u32, pstride: u32, cpr: u32,
                identity: u32, rows: u32, p0: u32, p1: u32 }
@group(0) @binding(1) var<storage, read> part: array<i32>;
@group(0) @binding(2) var<storage, read> rank: array<i32>;
@group(0) @binding(3) var<storage, read> bestDst: array<i32>;
@group(0) @binding(5) var<uniform> p: Params;
override WG: u32 = 64;
override V: u32 = 8;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.n * p.cpr) { return; }
  let pos = t / p.cpr;
  let k0 = (t % p.cpr) * V;
  let b = gid.z;
  let pb = b * p.pstride;
  var row = pos;
  if (p.identity == 0u) {
    let s = part[p.ns + p.nd + pos];
    if (s < 0) {
      row = p.u + u32(-s - 1); // a destination
    } else {
      let k = u32(rank[pb * p.ns + u32(s)]);
      row = select(k - p.r, p.u + u32(bestDst[pb * p.ns + u32(s)]), k < p.r);
    }
  }
  let o = (b * p.n + pos) * p.c;
  for (var v = k0; v < min(k0 + V, (p.c + 3u) / 4u); v++) { st4(o, v, ld4(b, row, v)); }
}`;

function checkApply(y: Tensor, plan: TomePlan, op: string, tokens: number): [number, number] {
  if (!isFloat(y.dtype) || y.shape.length !== 3 || y.shape[1] !== tokens) {
    throw new TypeError(
      `Cannot run "${op}" on ${y} with a ${planShape(plan)}: expected a float tensor ` +
        `${formatShape([y.shape[0] ?? 1, tokens, y.shape[2] ?? 1])}`,
    );
  }
  const batch = y.shape[0];
  if (plan.batch !== 1 && plan.batch !== batch) {
    throw new TypeError(
      `Cannot run "${op}" on ${y} with a ${planShape(plan)}: the plan serves batch 1 or ` +
        `${plan.batch}, not ${batch}`,
    );
  }
  if (plan.partition.disposed) {
    throw new ReferenceError(`Cannot run "${op}" on ${y}: the plan was disposed`);
  }
  return [batch, y.shape[2]];
}

/**
 * Merges tokens with a plan: y [B, N, C] → [B, N − r, C], the unmerged sources in rank order, then
 * each destination averaged with its merged sources (tomesd's scatter-mean). A plan of batch 1
 * applies to every row, one of batch B row by row. f32 or f16 (summed in f32).
 *
 * @param y tokens in the plan's grid order, [B, N, C]
 * @param plan from `tomePlan`
 * @returns the merged tokens [B, N − r, C] (a copy of y when r = 0)
 * @example
 * ```ts ignore
 * const merged = tomeMerge(a, plan); // [B, plan.kept, C]
 * ```
 */
export function tomeMerge(y: Tensor, plan: TomePlan): Tensor {
  const [batch, c] = checkApply(y, plan, "tome_merge", plan.tokens);
  const gpu = y.gpu, rows = plan.kept, cpr = Math.ceil(c / 4 / V);
  const out = Tensor.empty(gpu, [batch, rows, c], y.dtype, "tome_merge");
  if (out.size === 0) return out;
  const [gx, gy] = grid1d(rows * cpr, 64);
  const read = rowSource(y, pickVariant(gpu, "tome_read", TOME_READ_VARIANTS).name, "tome_merge");
  const wgsl = rowReader(read, "y", 0, "p.n") + rowWriter(6, c % 4 === 0) + MERGE_WGSL;
  gpu.dispatch(
    { name: "tome_merge", wgsl: withTypes(gpu, wgsl, { T: y.dtype }), overrides: { WG: 64, V } },
    [
      rowBinding(read),
      plan.partition,
      plan.unmergedSrc,
      plan.offsets,
      plan.counts,
      plan.groups,
      out,
    ],
    [gx, gy, batch],
    new Uint32Array([
      rows,
      plan.numSrc - plan.r,
      c,
      plan.tokens,
      plan.numSrc,
      plan.numDst,
      plan.r,
      plan.batch === 1 ? 0 : 1,
      cpr,
      plan.r === 0 ? 1 : 0,
      0,
      0,
    ]),
  );
  return out;
}

/**
 * Unmerges: z [B, N − r, C] → [B, N, C]; destinations and unmerged sources return to their
 * positions, and each merged source receives a copy of its destination's row.
 *
 * @param z merged tokens (e.g. the attention output of `tomeMerge`'s result)
 * @param plan the plan that merged them
 * @returns tokens in grid order [B, N, C] (a copy of z when r = 0)
 * @example
 * ```ts ignore
 * const full = tomeUnmerge(attention(tomeMerge(a, plan)), plan);
 * ```
 */
export function tomeUnmerge(z: Tensor, plan: TomePlan): Tensor {
  const [batch, c] = checkApply(z, plan, "tome_unmerge", plan.kept);
  const gpu = z.gpu, n = plan.tokens, cpr = Math.ceil(c / 4 / V);
  const out = Tensor.empty(gpu, [batch, n, c], z.dtype, "tome_unmerge");
  if (out.size === 0) return out;
  const [gx, gy] = grid1d(n * cpr, 64);
  const read = rowSource(z, pickVariant(gpu, "tome_read", TOME_READ_VARIANTS).name, "tome_unmerge");
  const wgsl = rowReader(read, "z", 0, "p.rows") + rowWriter(4, c % 4 === 0) + UNMERGE_WGSL;
  gpu.dispatch(
    { name: "tome_unmerge", wgsl: withTypes(gpu, wgsl, { T: z.dtype }), overrides: { WG: 64, V } },
    [rowBinding(read), plan.partition, plan.rank, plan.bestDst, out],
    [gx, gy, batch],
    new Uint32Array([
      n,
      c,
      plan.numSrc,
      plan.numDst,
      plan.r,
      plan.numSrc - plan.r,
      plan.batch === 1 ? 0 : 1,
      cpr,
      plan.r === 0 ? 1 : 0,
      plan.kept,
      0,
      0,
    ]),
  );
  return out;
}
