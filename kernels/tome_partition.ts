// ToMe-for-SD token partition (dbolya/tomesd `bipartite_soft_matching_random2d`, SPEC §9.1 step 1):
// one destination token per sy×sx window of the top-left ⌊h/sy⌋·sy × ⌊w/sx⌋·sx area, every other
// token (border rows and columns included) a source. Host-side: it depends only on the grid and the
// seed, so the plan uploads it (a few KB) instead of computing it on the GPU.

/** Options that fix the destination choice of each window. */
export interface TomePartitionOptions {
  /** Window stride in x (default 2). */
  sx?: number;
  /** Window stride in y (default 2). */
  sy?: number;
  /**
   * Seed of the random destination choice (default 0). The generator is mulberry32(seed >>> 0):
   * window k (windows in raster order, k = wy·⌊w/sx⌋ + wx) takes the k-th draw u_k ∈ [0, 1) and
   * makes cell ⌊u_k·sx·sy⌋ = dy·sx + dx its destination. tomesd draws one
   * `torch.randint(sx*sy)` per window in the same order and cell numbering, but from torch's
   * generator, which is not reproduced here (pass `dstChoice` to replay its draws).
   */
  seed?: number;
  /** Use each window's top-left token (tomesd's `no_rand`). */
  fixedDst?: boolean;
  /** Explicit cell per window (length ⌊h/sy⌋·⌊w/sx⌋, values in [0, sx·sy)), e.g. torch's draws. */
  dstChoice?: ArrayLike<number>;
}

/** A token partition; lists are in raster order of token position (a stable argsort's order). */
export interface TomePartition {
  /** Source token positions, `a_idx` in tomesd. */
  srcPos: Int32Array;
  /** Destination token positions, `b_idx` in tomesd. */
  dstPos: Int32Array;
  /** Per position: the source index a ≥ 0, or −(d + 1) for destination d. */
  slot: Int32Array;
}

/** Throws a RangeError unless `v` is an integer in [lo, hi]. */
export function checkInt(v: number, name: string, lo: number, hi: number, op: string): number {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`Cannot run "${op}": ${name} ${v} is not an integer in [${lo}, ${hi}]`);
  }
  return v;
}

/** mulberry32: a 32-bit seeded generator returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The destination cell (dy·sx + dx) of every window, in raster order of windows. */
export function tomeWindowChoice(
  h: number,
  w: number,
  options: TomePartitionOptions = {},
): Int32Array {
  const sx = options.sx ?? 2, sy = options.sy ?? 2;
  const windows = Math.floor(h / sy) * Math.floor(w / sx), cells = sx * sy;
  const out = new Int32Array(windows);
  if (options.dstChoice !== undefined) {
    if (options.dstChoice.length !== windows) {
      throw new RangeError(
        `Cannot partition tokens: dstChoice has ${options.dstChoice.length} values, the ` +
          `${h}x${w} grid has ${windows} windows of ${sy}x${sx}`,
      );
    }
    for (let k = 0; k < windows; k++) {
      out[k] = checkInt(options.dstChoice[k], `dstChoice[${k}]`, 0, cells - 1, "tome_plan");
    }
  } else if (!options.fixedDst) {
    const next = mulberry32(options.seed ?? 0);
    for (let k = 0; k < windows; k++) out[k] = Math.min(cells - 1, Math.floor(next() * cells));
  }
  return out;
}

/** Partitions an h×w token grid into destinations (one per window) and sources. */
export function tomePartition(
  h: number,
  w: number,
  options: TomePartitionOptions = {},
): TomePartition {
  const sx = options.sx ?? 2, sy = options.sy ?? 2;
  const wsx = Math.floor(w / sx), n = h * w;
  const choice = tomeWindowChoice(h, w, options);
  const isDst = new Uint8Array(n);
  for (let k = 0; k < choice.length; k++) {
    const wy = Math.floor(k / wsx), wx = k % wsx;
    const dy = Math.floor(choice[k] / sx), dx = choice[k] % sx;
    isDst[(wy * sy + dy) * w + wx * sx + dx] = 1;
  }
  const nd = choice.length;
  const srcPos = new Int32Array(n - nd), dstPos = new Int32Array(nd), slot = new Int32Array(n);
  let a = 0, d = 0;
  for (let p = 0; p < n; p++) {
    if (isDst[p]) {
      dstPos[d] = p;
      slot[p] = -(++d);
    } else {
      srcPos[a] = p;
      slot[p] = a++;
    }
  }
  return { srcPos, dstPos, slot };
}
