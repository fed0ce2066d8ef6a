// ToMe-for-SD merge plan on the GPU (dbolya/tomesd `bipartite_soft_matching_random2d`, SPEC §9.1):
// cosine similarity of every source token to every destination, each source's best destination
// (first maximum wins), and the r most similar sources chosen by a rank count (ties by source index)
// instead of a sort, so a denoising step needs no readback. CPU twin in tome_merge_ref.ts; apply the
// plan with tomeMerge / tomeUnmerge (tome_merge.ts).
// Kernels, in launch order (one batch row per z):
//   pack     L2-normalise; sources to a rgba32float texture (row = source, texel = 4 channels),
//            destinations transposed to another (row = channel, texel = 4 destinations); zero counts
//   scores   S = A·Bᵀ with a running max/argmax; lavapipe reads textures ~3-9x faster than storage
//            buffers, and a register block of R sources × 4·J destinations reuses each fetch
//   reduce   (only when the destinations are split into chunks) combines chunk maxima in order
//   rank     rank(a) = #{a' : best(a') > best(a), or equal and a' < a}; rank < r means merged
//   scan, group   group the merged sources by destination in rank order (tomesd's scatter_reduce
//            order), as token positions, for a gather-style scatter-mean

import { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";
import { formatShape } from "../tensor/shape.ts";
import { withTypes } from "./_wgsl.ts";
import { pickVariant } from "./_variant.ts";
import { REDUCE_WGSL, scoresWgsl, TOME_SCORES_VARIANTS } from "./tome_scores.ts";
import { checkInt, tomePartition, type TomePartitionOptions } from "./tome_partition.ts";
import {
  rowBinding,
  rowReader,
  rowSource,
  scratchTexture,
  TOME_READ_VARIANTS,
} from "./tome_rows.ts";

const PACK_WGSL = /* wgsl */ `
struct Params { n: u32, ns: u32, nd: u32, c: u32, c4: u32, fold: u32, w4: u32, p0: u32 }
@group(0) @binding(1) var<storage, read> part: array<i32>; // srcPos | dstPos | slot
@group(0) @binding(2) var srcT: texture_storage_2d_array<rgba32float, write>;
@group(0) @binding(3) var dstT: texture_storage_2d_array<rgba32float, write>;
@group(0) @binding(4) var<storage, read_write> counts: array<i32>;
@group(0) @binding(5) var<uniform> p: Params;
override WG: u32 = 64;
fn inv_norm(b: u32, row: u32) -> f32 { // a zero row stays zero (tomesd would give NaN)
  var s = 0.0;
  for (var k = 0u; k < p.c4; k++) { let v = ld4(b, row, k); s += dot(v, v); }
  return select(0.0, 1.0 / sqrt(s), s > 0.0);
}
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let b = gid.z;
  if (t < p.ns) {
    let row = u32(part[t]);
    let inv = inv_norm(b, row);
    let ox = (t % p.fold) * p.c4;
    let oy = t / p.fold;
    for (var k = 0u; k < p.c4; k++) { textureStore(srcT, vec2u(ox + k, oy), b, ld4(b, row, k) * inv); }
    return;
  }
  let j = t - p.ns; // destinations 4j .. 4j+3
  if (j >= p.w4) { return; }
  var rows: array<u32, 4>;
  var inv: array<f32, 4>;
  for (var q = 0u; q < 4u; q++) {
    let d = j * 4u + q;
    rows[q] = u32(part[p.ns + min(d, p.nd - 1u)]);
    inv[q] = 0.0; // destinations past nd read a real row and store zeros
    if (d < p.nd) {
      inv[q] = inv_norm(b, rows[q]);
      counts[b * p.nd + d] = 0;
    }
  }
  for (var k = 0u; k < p.c4; k++) { // a 4x4 block: 4 channels of 4 destinations, transposed
    let m = transpose(mat4x4f(ld4(b, rows[0], k) * inv[0], ld4(b, rows[1], k) * inv[1],
                              ld4(b, rows[2], k) * inv[2], ld4(b, rows[3], k) * inv[3]));
    for (var q = 0u; q < 4u; q++) { textureStore(dstT, vec2u(j, k * 4u + q), b, m[q]); }
  }
}`;

const RANK_WGSL = /* wgsl */ `
struct Params { ns: u32, nd: u32, r: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> best: array<f32>;
@group(0) @binding(1) var<storage, read> bestIdx: array<i32>;
@group(0) @binding(2) var<storage, read_write> rank: array<i32>;
@group(0) @binding(3) var<storage, read_write> mergedSrc: array<i32>;
@group(0) @binding(4) var<storage, read_write> mergedDst: array<i32>;
@group(0) @binding(5) var<storage, read_write> unmerged: array<i32>;
@group(0) @binding(6) var<storage, read_write> counts: array<atomic<i32>>;
@group(0) @binding(7) var<uniform> p: Params;
override WG: u32 = 64;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let a0 = gid.x * 4u; // 4 sources per invocation: one load serves 4 compares
  if (a0 >= p.ns) { return; }
  let b = gid.z;
  let o = b * p.ns;
  let av = vec4u(a0, a0 + 1u, a0 + 2u, a0 + 3u);
  let lim = p.ns - 1u;
  let v = vec4f(best[o + a0], best[o + min(a0 + 1u, lim)], best[o + min(a0 + 2u, lim)],
                best[o + min(a0 + 3u, lim)]);
  var cnt = vec4u(0u);
  for (var j = 0u; j < p.ns; j++) {
    let w = vec4f(best[o + j]);
    cnt += select(vec4u(0u), vec4u(1u), (w > v) | ((w == v) & (vec4u(j) < av)));
  }
  for (var q = 0u; q < 4u; q++) {
    let a = a0 + q;
    if (a >= p.ns) { break; }
    let k = cnt[q];
    rank[o + a] = i32(k);
    if (k < p.r) {
      let d = bestIdx[o + a];
      mergedSrc[b * p.r + k] = i32(a);
      mergedDst[b * p.r + k] = d;
      atomicAdd(&counts[b * p.nd + u32(d)], 1);
    } else {
      unmerged[b * (p.ns - p.r) + k - p.r] = i32(a);
    }
  }
}`;

const SCAN_WGSL = /* wgsl */ `
struct Params { nd: u32, batch: u32 }
@group(0) @binding(0) var<storage, read> counts: array<i32>;
@group(0) @binding(1) var<storage, read_write> offsets: array<i32>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 64;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x; // one serial scan per batch row: nd is at most a few thousand
  if (b >= p.batch) { return; }
  var s = 0;
  for (var d = b * p.nd; d < (b + 1u) * p.nd; d++) {
    offsets[d] = s;
    s += counts[d];
  }
}`;

// Each merged source finds its slot in its destination's group by counting the lower-ranked
// sources with the same destination: deterministic, rank order by construction, one loop of at
// most r steps per invocation. (An atomic fill plus an in-place insertion sort per destination was
// racy in order and, when every source picks one destination, ran ~65k loop steps in one
// invocation: llvmpipe cuts loops off at 65535 iterations, so the group came out unconverted.)
const GROUP_WGSL = /* wgsl */ `
struct Params { nd: u32, r: u32 }
@group(0) @binding(0) var<storage, read> offsets: array<i32>;
@group(0) @binding(1) var<storage, read> mergedSrc: array<i32>;
@group(0) @binding(2) var<storage, read> mergedDst: array<i32>;
@group(0) @binding(3) var<storage, read> part: array<i32>;
@group(0) @binding(4) var<storage, read_write> groups: array<i32>;
@group(0) @binding(5) var<uniform> p: Params;
override WG: u32 = 64;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= p.r) { return; }
  let b = gid.z;
  let o = b * p.r;
  let d = mergedDst[o + k];
  var slot = 0u;
  for (var j = 0u; j < k; j++) { slot += select(0u, 1u, mergedDst[o + j] == d); }
  groups[o + u32(offsets[b * p.nd + u32(d)]) + slot] = part[mergedSrc[o + k]];
}`;

/** Options of `tomePlan`. */
export interface TomePlanOptions extends TomePartitionOptions {
  /** Token grid height: the tokens are the h×w grid in raster order. */
  h: number;
  /** Token grid width. */
  w: number;
  /** Fraction of tokens removed, r = ⌊N·ratio⌋ capped at the source count (tomesd caps 0.75). */
  ratio: number;
}

/**
 * A merge plan (GPU tensors, never read back). Per batch row b of the metric; a plan of batch 1
 * applies to every row of a tensor. Index lists follow tomesd's names in parentheses.
 */
export interface TomePlan {
  /** Batch rows of the metric the plan was computed on. */
  batch: number;
  /** N = h·w. */
  tokens: number;
  /** Grid height in tokens. */
  h: number;
  /** Grid width in tokens. */
  w: number;
  /** Source tokens, ns = N − nd. */
  numSrc: number;
  /** Destination tokens, nd = ⌊h/sy⌋·⌊w/sx⌋. */
  numDst: number;
  /** Tokens removed. 0 makes merge and unmerge copies (tomesd's do_nothing). */
  r: number;
  /** Tokens after merging, N − r. */
  kept: number;
  /** i32 [ns + nd + N]: source positions | destination positions | per-position slot. */
  partition: Tensor;
  /** i32 [ns] view: source token positions (a_idx). */
  srcPos: Tensor;
  /** i32 [nd] view: destination token positions (b_idx). */
  dstPos: Tensor;
  /** f32 [B, ns]: each source's best cosine similarity (node_max); [B, 0] when r = 0. */
  best: Tensor;
  /** i32 [B, ns]: its destination index (node_idx). */
  bestDst: Tensor;
  /** i32 [B, ns]: its rank in descending best order, ties by source index. */
  rank: Tensor;
  /** i32 [B, r]: merged source indices in rank order (src_idx). */
  mergedSrc: Tensor;
  /** i32 [B, r]: their destinations (dst_idx). */
  mergedDst: Tensor;
  /** i32 [B, ns − r]: unmerged source indices in rank order (unm_idx). */
  unmergedSrc: Tensor;
  /** i32 [B, nd]: merged sources per destination (the destination itself not counted). */
  counts: Tensor;
  /** i32 [B, nd]: where each destination's group starts in `groups`. */
  offsets: Tensor;
  /** i32 [B, r]: merged source token positions grouped by destination, rank order inside. */
  groups: Tensor;
  /** Frees every tensor of the plan. */
  dispose(): void;
}

/**
 * Builds a ToMe merge plan from a metric x [B, N, C] (tomesd uses the block's input): partition,
 * cosine scores, best destination per source and the r most similar sources, all on the GPU.
 *
 * @param x metric, f32 or f16, [B, N, C] with N = h·w
 * @param options grid, ratio and destination choice
 * @returns the plan; dispose it (or let a scope do it) after the last merge/unmerge
 * @example
 * ```ts ignore
 * const plan = tomePlan(a.slice(0, 1), { h: 64, w: 64, ratio: 0.5, seed: step });
 * const y = tomeUnmerge(attn(tomeMerge(a, plan)), plan); // the source row's plan for every row
 * ```
 */
export function tomePlan(x: Tensor, options: TomePlanOptions): TomePlan {
  const op = "tome_plan";
  if (!isFloat(x.dtype) || x.shape.length !== 3) {
    throw new TypeError(`Cannot run "${op}" on ${x}: expected a float metric [B, N, C]`);
  }
  const [batch, n, c] = x.shape;
  const { h, w, ratio } = options;
  const sx = checkInt(options.sx ?? 2, "sx", 1, 64, op);
  const sy = checkInt(options.sy ?? 2, "sy", 1, 64, op);
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1 || h * w !== n) {
    throw new TypeError(`Cannot run "${op}" on ${x}: the grid ${h}x${w} does not hold N = ${n}`);
  }
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new RangeError(`Cannot run "${op}": ratio ${ratio} is not in [0, 1]`);
  }
  if (options.seed !== undefined) checkInt(options.seed, "seed", -(2 ** 31), 2 ** 32 - 1, op);
  const gpu = x.gpu;
  const part = tomePartition(h, w, { ...options, sx, sy });
  const nd = part.dstPos.length, ns = part.srcPos.length;
  const r = nd === 0 || c === 0 ? 0 : Math.min(Math.floor(n * ratio), ns);
  const host = new Int32Array(ns + nd + n);
  host.set(part.srcPos, 0);
  host.set(part.dstPos, ns);
  host.set(part.slot, ns + nd);
  const partition = Tensor.from(gpu, host, [host.length], "i32");
  const i32 = (shape: number[], label: string) => Tensor.empty(gpu, shape, "i32", label);
  const m = r === 0 ? 0 : ns, md = r === 0 ? 0 : nd;
  const plan: TomePlan = {
    batch,
    tokens: n,
    h,
    w,
    numSrc: ns,
    numDst: nd,
    r,
    kept: n - r,
    partition,
    srcPos: partition.slice(0, ns),
    dstPos: partition.slice(ns, ns + nd),
    best: Tensor.empty(gpu, [batch, m], "f32", "tome best"),
    bestDst: i32([batch, m], "tome bestDst"),
    rank: i32([batch, m], "tome rank"),
    mergedSrc: i32([batch, r], "tome mergedSrc"),
    mergedDst: i32([batch, r], "tome mergedDst"),
    unmergedSrc: i32([batch, m - r], "tome unmergedSrc"),
    counts: i32([batch, md], "tome counts"),
    offsets: i32([batch, md], "tome offsets"),
    groups: i32([batch, r], "tome groups"),
    dispose() {
      for (const t of Object.values(plan)) if (t instanceof Tensor) t.dispose();
    },
  };
  if (r > 0 && batch > 0) recordPlan(x, plan);
  return plan;
}

function recordPlan(x: Tensor, plan: TomePlan): void {
  const gpu = x.gpu, op = "tome_plan";
  const { batch, tokens: n, numSrc: ns, numDst: nd, r } = plan;
  const c = x.shape[2], c4 = Math.ceil(c / 4), w4 = Math.ceil(nd / 4);
  const maxDim = gpu.device.limits.maxTextureDimension2D;
  const fold = Math.ceil(ns / maxDim);
  if (fold * c4 > maxDim || 4 * c4 > maxDim || batch > gpu.device.limits.maxTextureArrayLayers) {
    throw new RangeError(
      `Cannot run "${op}" on ${x}: ${ns} sources of ${c} channels and ${batch} rows exceed ` +
        `the adapter's texture limits (${maxDim} texels, ${gpu.device.limits.maxTextureArrayLayers} layers)`,
    );
  }
  const usage = GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING;
  const f32 = "rgba32float";
  const src = scratchTexture(gpu, "sources", f32, [fold * c4, Math.ceil(ns / fold), batch], usage);
  const dst = scratchTexture(gpu, "destinations", f32, [w4, 4 * c4, batch], usage);
  const read = rowSource(x, pickVariant(gpu, "tome_read", TOME_READ_VARIANTS).name, "tome_plan");
  const view = (t: GPUTexture) => t.createView({ dimension: "2d-array" });
  const u32 = (...v: number[]) => new Uint32Array(v);
  const prog = (name: string, wgsl: string) => ({
    name: `tome_${name}`,
    op,
    wgsl,
    overrides: { WG: 64 },
  });
  const groups = (count: number, wg: number) => Math.max(1, Math.ceil(count / wg));
  gpu.dispatch(
    prog("pack", withTypes(gpu, rowReader(read, "x", 0, "p.n") + PACK_WGSL, { T: x.dtype })),
    [rowBinding(read), plan.partition, view(src), view(dst), plan.counts],
    [groups(ns + w4, 64), 1, batch],
    u32(n, ns, nd, c, c4, fold, w4, 0),
  );
  const v = pickVariant(gpu, "tome_scores", TOME_SCORES_VARIANTS);
  const chunk4 = v.chunk > 0
    ? Math.ceil(v.chunk / 4 / v.cols) * v.cols
    : Math.ceil(w4 / v.cols) * v.cols;
  const chunks = Math.max(1, Math.ceil(w4 / chunk4));
  const partBest = chunks > 1
    ? Tensor.empty(gpu, [batch, chunks, ns], "f32", "tome part")
    : plan.best;
  const partIdx = chunks > 1
    ? Tensor.empty(gpu, [batch, chunks, ns], "i32", "tome part")
    : plan.bestDst;
  gpu.dispatch(
    {
      name: `tome_scores_${v.rows}x${v.cols}`,
      op,
      wgsl: scoresWgsl(v.rows, v.cols),
      overrides: { WG: v.wg },
    },
    [view(src), view(dst), partBest, partIdx],
    [groups(Math.ceil(ns / v.rows), v.wg), chunks, batch],
    u32(ns, nd, c4, fold, chunk4, w4, chunks, 0),
  );
  if (chunks > 1) {
    gpu.dispatch(
      prog("reduce", REDUCE_WGSL),
      [partBest, partIdx, plan.best, plan.bestDst],
      [groups(ns, 64), 1, batch],
      u32(ns, chunks),
    );
    partBest.dispose();
    partIdx.dispose();
  }
  gpu.dispatch(
    prog("rank", RANK_WGSL),
    [
      plan.best,
      plan.bestDst,
      plan.rank,
      plan.mergedSrc,
      plan.mergedDst,
      plan.unmergedSrc,
      plan.counts,
    ],
    [groups(Math.ceil(ns / 4), 64), 1, batch],
    u32(ns, nd, r, 0),
  );
  gpu.dispatch(
    prog("scan", SCAN_WGSL),
    [plan.counts, plan.offsets],
    [groups(batch, 64)],
    u32(nd, batch),
  );
  gpu.dispatch(
    prog("group", GROUP_WGSL),
    [plan.offsets, plan.mergedSrc, plan.mergedDst, plan.partition, plan.groups],
    [groups(r, 64), 1, batch],
    u32(nd, r),
  );
}

/** The shapes line used by errors of merge and unmerge. */
export function planShape(plan: TomePlan): string {
  return `plan of batch ${plan.batch}, N ${plan.tokens} -> ${plan.kept} (${
    formatShape([plan.h, plan.w])
  })`;
}
