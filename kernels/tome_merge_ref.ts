// CPU reference for kernels/tome_plan.ts and kernels/tome_merge.ts, written the way tomesd
// (`bipartite_soft_matching_random2d`) is: an index buffer with dst = −1 and src = 0 sorted stably,
// L2-normalised metric, scores A·Bᵀ, max over destinations (first wins), a stable descending sort of
// the maxima, scatter-mean merge and scatter unmerge. f64 arithmetic.

import { mulberry32 } from "./tome_partition.ts";

/** Options of `tomePlanRef` (as `tomePlan`). */
export interface TomePlanRefOptions {
  h: number;
  w: number;
  ratio: number;
  sx?: number;
  sy?: number;
  seed?: number;
  fixedDst?: boolean;
  dstChoice?: ArrayLike<number>;
}

/** The reference plan: tomesd's index lists, one entry per batch row where they depend on data. */
export interface TomePlanRef {
  batch: number;
  tokens: number;
  r: number;
  srcPos: Int32Array;
  dstPos: Int32Array;
  best: Float64Array[];
  bestDst: Int32Array[];
  mergedSrc: Int32Array[];
  mergedDst: Int32Array[];
  unmergedSrc: Int32Array[];
}

/** The reference plan for a metric x [batch, N, C] (row-major). */
export function tomePlanRef(
  x: ArrayLike<number>,
  batch: number,
  c: number,
  o: TomePlanRefOptions,
): TomePlanRef {
  const { h, w } = o, sx = o.sx ?? 2, sy = o.sy ?? 2, n = h * w;
  const hsy = Math.floor(h / sy), wsx = Math.floor(w / sx), cells = sx * sy;
  // rand_idx: one cell per window, drawn in raster order of windows
  const next = mulberry32(o.seed ?? 0);
  const choice = Array.from(
    { length: hsy * wsx },
    (_, k) =>
      o.dstChoice
        ? o.dstChoice[k]
        : o.fixedDst
        ? 0
        : Math.min(cells - 1, Math.floor(next() * cells)),
  );
  // idx_buffer [h, w]: −1 at each window's chosen cell, 0 elsewhere (border rows/cols stay 0)
  const buffer = new Int32Array(n);
  for (let wy = 0; wy < hsy; wy++) {
    for (let wx = 0; wx < wsx; wx++) {
      const cell = choice[wy * wsx + wx];
      buffer[(wy * sy + Math.floor(cell / sx)) * w + wx * sx + (cell % sx)] = -1;
    }
  }
  const order = [...Array(n).keys()].sort((a, b) => buffer[a] - buffer[b] || a - b); // stable
  const nd = hsy * wsx;
  const dstPos = Int32Array.from(order.slice(0, nd)), srcPos = Int32Array.from(order.slice(nd));
  const ns = n - nd;
  const r = nd === 0 ? 0 : Math.min(Math.floor(n * o.ratio), ns);
  const plan: TomePlanRef = {
    batch,
    tokens: n,
    r,
    srcPos,
    dstPos,
    best: [],
    bestDst: [],
    mergedSrc: [],
    mergedDst: [],
    unmergedSrc: [],
  };
  if (r === 0) return plan;
  for (let b = 0; b < batch; b++) {
    const unit = (p: number): Float64Array => {
      const v = new Float64Array(c);
      let s = 0;
      for (let k = 0; k < c; k++) s += (v[k] = x[(b * n + p) * c + k]) ** 2;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0; // zero rows stay zero (tomesd: NaN)
      for (let k = 0; k < c; k++) v[k] *= inv;
      return v;
    };
    const A = Array.from(srcPos, unit), B = Array.from(dstPos, unit);
    const best = new Float64Array(ns), bestDst = new Int32Array(ns);
    for (let a = 0; a < ns; a++) {
      let m = -Infinity, k = 0;
      for (let d = 0; d < nd; d++) {
        let s = 0;
        for (let q = 0; q < c; q++) s += A[a][q] * B[d][q];
        if (s > m) [m, k] = [s, d];
      }
      best[a] = m;
      bestDst[a] = k;
    }
    const edge = [...Array(ns).keys()].sort((i, j) => best[j] - best[i] || i - j);
    plan.best.push(best);
    plan.bestDst.push(bestDst);
    plan.mergedSrc.push(Int32Array.from(edge.slice(0, r)));
    plan.mergedDst.push(Int32Array.from(edge.slice(0, r), (a) => bestDst[a]));
    plan.unmergedSrc.push(Int32Array.from(edge.slice(r)));
  }
  return plan;
}

/** Plan row used for data row b (a batch-1 plan serves every row). */
function row(plan: TomePlanRef, b: number): number {
  return plan.batch === 1 ? 0 : b;
}

/** merge(y): y [batch, N, C] → [batch, N − r, C] (unmerged sources, then scatter-mean dsts). */
export function tomeMergeRef(
  y: ArrayLike<number>,
  batch: number,
  c: number,
  plan: TomePlanRef,
): Float64Array {
  const n = plan.tokens, r = plan.r;
  if (r === 0) return Float64Array.from(y);
  const ns = plan.srcPos.length, nd = plan.dstPos.length, u = ns - r;
  const out = new Float64Array(batch * (n - r) * c);
  for (let b = 0; b < batch; b++) {
    const pb = row(plan, b);
    const tok = (p: number, k: number) => y[(b * n + p) * c + k];
    const at = (i: number) => (b * (n - r) + i) * c;
    plan.unmergedSrc[pb].forEach((a, i) => {
      for (let k = 0; k < c; k++) out[at(i) + k] = tok(plan.srcPos[a], k);
    });
    const count = new Float64Array(nd).fill(1);
    for (let d = 0; d < nd; d++) {
      for (let k = 0; k < c; k++) out[at(u + d) + k] = tok(plan.dstPos[d], k);
    }
    plan.mergedSrc[pb].forEach((a, j) => { // scatter_reduce order: src_idx order
      const d = plan.mergedDst[pb][j];
      count[d]++;
      for (let k = 0; k < c; k++) out[at(u + d) + k] += tok(plan.srcPos[a], k);
    });
    for (let d = 0; d < nd; d++) for (let k = 0; k < c; k++) out[at(u + d) + k] /= count[d];
  }
  return out;
}

/** unmerge(z): z [batch, N − r, C] → [batch, N, C]. */
export function tomeUnmergeRef(
  z: ArrayLike<number>,
  batch: number,
  c: number,
  plan: TomePlanRef,
): Float64Array {
  const n = plan.tokens, r = plan.r;
  if (r === 0) return Float64Array.from(z);
  const ns = plan.srcPos.length, u = ns - r;
  const out = new Float64Array(batch * n * c);
  for (let b = 0; b < batch; b++) {
    const pb = row(plan, b);
    const copy = (p: number, i: number) => {
      for (let k = 0; k < c; k++) out[(b * n + p) * c + k] = z[(b * (n - r) + i) * c + k];
    };
    plan.dstPos.forEach((p, d) => copy(p, u + d));
    plan.unmergedSrc[pb].forEach((a, i) => copy(plan.srcPos[a], i));
    plan.mergedSrc[pb].forEach((a, j) => copy(plan.srcPos[a], u + plan.mergedDst[pb][j]));
  }
  return out;
}
