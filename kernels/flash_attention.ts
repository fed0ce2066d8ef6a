// Flash attention: out = softmax(Q Kᵀ · scale + bias) V with an online softmax (Dao et al. 2022),
// never materialising the Sq × Sk scores. CPU twin in flash_attention_ref.ts. Two variants:
// - "texture_rows" (CPU adapters): Q/K/V copied into rgba32float (f16: rgba16float) textures and
//   K/V read as read-only storage textures (on lavapipe a storage-buffer load is a per-lane loop,
//   a storage-texture load ~24 cycles); each invocation keeps ROWS query rows and their outputs in
//   registers and streams every key of its head, KEYS keys per step. The body is unrolled over the
//   head dim by `cpuKernel` from the template below (one pipeline per ceil(D/4), flags and dtype;
//   every length is a uniform, so one pipeline serves every S).
// - "workgroup_tiled" (GPUs): one query row per thread, K/V tiles of 16 keys in workgroup memory.
// Head dims above 128 (the VAE's single 512-channel head) take the materialised path of
// cross_attention.ts in row chunks.

import type { Tensor } from "../tensor/tensor.ts";
import type { DType } from "../tensor/dtype.ts";
import { withTypes } from "./_wgsl.ts";
import { type KernelVariant, pickVariant } from "./_variant.ts";
import {
  type AttnOperand,
  checkBias,
  checkKeyMask,
  checkKeyValue,
  expandTemplate,
  kvBatchMap,
  operand,
  outputLike,
  placeholder,
  stageOperand,
} from "./_attention.ts";
import { attentionByProbs } from "./cross_attention.ts";

/** Options of `flashAttention`. */
export interface FlashAttentionOptions {
  /** Multiplies Q·Kᵀ before the softmax; default 1/√D (T5 uses 1). */
  scale?: number;
  /** Additive bias `[H, Sq, Sk]` or `[1|B, H, Sq, Sk]`, f32 or f16 (T5's relative positions). */
  bias?: Tensor;
  /**
   * For each query batch entry, the K/V batch entry it attends to (mutual self-attention: target
   * rows read the source row's K/V, no copy). Default: entry b reads entry b.
   */
  kvBatch?: readonly number[];
  /**
   * With kvBatch: each query entry attends to its kvBatch entry's keys and values followed by its
   * own, [K_kv; K] (MasaCtrl's Union variant of mutual self-attention), read in place rather than
   * concatenated. An entry mapped onto itself reads its keys once, which is the softmax over
   * [K; K]. Needs one K/V entry per query entry, no bias, and head dims up to 128.
   */
  union?: boolean;
  /** `[Bk, Sk]` (or `[1, Sk]`), any dtype: keys whose value is 0 get probability exactly 0. */
  keyMask?: Tensor;
  /** Heads, required when q/k/v are token-major `[B, S, H·D]`. */
  heads?: number;
}

const PARAMS = /* wgsl */ `
struct Params {
  sq: u32, sk: u32, d: u32, wsh: u32,
  qb: u32, qh: u32, qs: u32, scale: f32,
  kb: u32, kh: u32, ks: u32, vb: u32,
  vh: u32, vs: u32, ob: u32, oh: u32,
  os: u32, bb: u32, bh: u32, bi: u32,
  mb: u32, b0: u32, qwsh: u32, un: u32,
  kvmap: array<vec4u, 16>,
}
@group(0) @binding(3) var<storage, read_write> out: array<T>;
@group(0) @binding(4) var<storage, read> bias: array<BT>;
@group(0) @binding(5) var<storage, read> mask: array<M>;
@group(0) @binding(6) var<uniform> p: Params;
override HAS_BIAS: bool = false;
override HAS_MASK: bool = false;
const LOG2E = 1.4426950408889634;
fn maskedKey(kvb: u32, key: u32) -> bool {
  if (key >= p.sk) { return true; }
  if (HAS_MASK) { return mask[kvb * p.mb + key] == M(0); }
  return false;
}
// Key segments of query entry b: its kvBatch entry's keys, then (Union) its own unless the same.
fn segments(kvb: u32, b: u32) -> u32 {
  return select(1u, 2u, p.un != 0u && kvb != b);
}
fn biasAt(b: u32, h: u32, row: u32, key: u32) -> f32 {
  return LOG2E * f32(bias[b * p.bb + h * p.bh + row * p.bi + min(key, p.sk - 1u)]);
}`;

// The CPU variant, expanded by expandTemplate (_attention.ts) over ROWS query rows (@R), KEYS keys
// per step (@C) and the D4 texels of the head dim (@D); "// @for D" blocks use a fetched texel
// while it is hot.
const TEXTURE_ROWS = /* wgsl */ `
@group(0) @binding(0) var qt: texture_2d<f32>;
@group(0) @binding(1) var kt: texture_storage_2d<K_FORMAT, read>;
@group(0) @binding(2) var vt: texture_storage_2d<V_FORMAT, read>;
override WG: u32 = 16;
fn store4(at: u32, first: u32, x: vec4f) {
  for (var c = 0u; c < 4u; c++) {
    if (first + c < p.d) { out[at + c] = T(x[c]); }
  }
}
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32) {
  let row0 = (wid.x * WG + li) * ROWS;
  if (row0 >= p.sq) { return; }
  let h = wid.y;
  let b = p.b0 + wid.z;
  let kvb = p.kvmap[wid.z / 4u][wid.z % 4u];
  let wm = (1u << p.wsh) - 1u;
  let qbase = b * p.qb + h * p.qh;
  let qa@R = qbase + min(row0 + @Ru, p.sq - 1u) * p.qs;
  let qm = (1u << p.qwsh) - 1u;
  let q@R_@D = textureLoad(qt, vec2u((qa@R + @Du) & qm, (qa@R + @Du) >> p.qwsh), 0) * p.scale;
  var o@R_@D = vec4f(0.0);
  var m@R = -1e30;
  var l@R = 0.0;
  for (var seg = 0u; seg < segments(kvb, b); seg++) {
    let kvr = select(kvb, b, seg == 1u);
    let kbase = kvr * p.kb + h * p.kh;
    let vbase = kvr * p.vb + h * p.vh;
    for (var j = 0u; j < p.sk; j += KEYS) {
      let ka@C = kbase + min(j + @Cu, p.sk - 1u) * p.ks;
      let va@C = vbase + min(j + @Cu, p.sk - 1u) * p.vs;
      let bad@C = maskedKey(kvr, j + @Cu);
      var s@R_@C = 0.0;
      // @for D
      let k@C = textureLoad(kt, vec2u((ka@C + @Du) & wm, (ka@C + @Du) >> p.wsh));
      s@R_@C += dot(q@R_@D, k@C);
      // @end
      if (HAS_BIAS) {
        s@R_@C += biasAt(b, h, min(row0 + @Ru, p.sq - 1u), j + @Cu);
      }
      let mn@R = max(m@R, @MAX_C(select(s@R_@C, -1e30, bad@C)));
      let al@R = exp2(m@R - mn@R);
      m@R = mn@R;
      let p@R_@C = select(exp2(s@R_@C - mn@R), 0.0, bad@C);
      l@R = l@R * al@R + @SUM_C(p@R_@C);
      // @for D
      let v@C = textureLoad(vt, vec2u((va@C + @Du) & wm, (va@C + @Du) >> p.wsh));
      o@R_@D = o@R_@D * al@R + @SUM_C(p@R_@C * v@C);
      // @end
    }
  }
  let oa@R = b * p.ob + h * p.oh + (row0 + @Ru) * p.os;
  let il@R = select(0.0, 1.0 / l@R, l@R > 0.0);
  if (row0 + @Ru < p.sq) { store4(oa@R + @Du * 4u, @Du * 4u, o@R_@D * il@R); }
}`;

/**
 * The CPU variant's WGSL for `d4` texels per row, `rows` rows per invocation and `keys` keys per
 * step, reading K and V from storage textures of the given formats.
 */
export function cpuKernel(
  d4: number,
  rows: number,
  keys: number,
  formats: { k: GPUTextureFormat; v: GPUTextureFormat } = { k: "rgba32float", v: "rgba32float" },
): string {
  const template = TEXTURE_ROWS.replace("K_FORMAT", formats.k).replace("V_FORMAT", formats.v);
  return `${PARAMS}\n${expandTemplate(template, { R: rows, C: keys, D: d4 })}`;
}

// The GPU variant: a workgroup owns WG query rows of one head (a thread per row) and walks the
// keys in tiles of BK, staged in workgroup memory by all its threads.
const WORKGROUP_TILED = /* wgsl */ `
@group(0) @binding(0) var<storage, read> qx: array<T>;
@group(0) @binding(1) var<storage, read> kx: array<T>;
@group(0) @binding(2) var<storage, read> vx: array<T>;
override WG: u32 = 64;
override HD: u32 = 64;
const BK = 16u;
const DMAX = 128u;
var<workgroup> ktile: array<f32, 2048>;
var<workgroup> vtile: array<f32, 2048>;
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32) {
  let h = wid.y;
  let b = p.b0 + wid.z;
  let kvb = p.kvmap[wid.z / 4u][wid.z % 4u];
  let row = wid.x * WG + li;
  let r = min(row, p.sq - 1u); // rows past the end still join the barriers
  let qa = b * p.qb + h * p.qh + r * p.qs;
  var q = array<f32, DMAX>();
  var o = array<f32, DMAX>();
  for (var d = 0u; d < HD; d++) { q[d] = f32(qx[qa + d]) * p.scale; }
  var m = -1e30;
  var l = 0.0;
  for (var seg = 0u; seg < segments(kvb, b); seg++) {
    let kvr = select(kvb, b, seg == 1u);
    for (var j0 = 0u; j0 < p.sk; j0 += BK) {
      for (var e = li; e < BK * HD; e += WG) {
        let c = e / HD;
        let d = e - c * HD;
        let key = min(j0 + c, p.sk - 1u);
        ktile[e] = f32(kx[kvr * p.kb + h * p.kh + key * p.ks + d]);
        vtile[e] = f32(vx[kvr * p.vb + h * p.vh + key * p.vs + d]);
      }
      workgroupBarrier();
      var s = array<f32, BK>();
      var bad = array<bool, BK>();
      var mn = m;
      for (var c = 0u; c < BK; c++) {
        var acc = 0.0;
        for (var d = 0u; d < HD; d++) { acc += q[d] * ktile[c * HD + d]; }
        if (HAS_BIAS) { acc += biasAt(b, h, r, j0 + c); }
        s[c] = acc;
        bad[c] = maskedKey(kvr, j0 + c);
        mn = max(mn, select(acc, -1e30, bad[c]));
      }
      let al = exp2(m - mn);
      m = mn;
      l *= al;
      for (var d = 0u; d < HD; d++) { o[d] *= al; }
      for (var c = 0u; c < BK; c++) {
        let pc = select(exp2(s[c] - mn), 0.0, bad[c]);
        l += pc;
        for (var d = 0u; d < HD; d++) { o[d] += pc * vtile[c * HD + d]; }
      }
      workgroupBarrier();
    }
  }
  if (row < p.sq) {
    let il = select(0.0, 1.0 / l, l > 0.0);
    let oa = b * p.ob + h * p.oh + row * p.os;
    for (var d = 0u; d < HD; d++) { out[oa + d] = T(o[d] * il); }
  }
}`;

/** A flash-attention variant and the query rows one of its workgroups covers. */
export interface FlashAttentionVariant extends KernelVariant {
  rowsPerGroup: () => number;
}

/**
 * Query rows per invocation, keys per step and workgroup size of "texture_rows", read at each
 * call (benches may retune them). On lavapipe, 8 × 2 costs about as much per call as 16 × 2 or
 * 12 × 4 (within 10%) but compiles 3-5x faster; compile time grows with the registers kept.
 */
export const TEXTURE_ROWS_SHAPE = { rows: 8, keys: 2, wg: 16 };

/** Flash-attention variants, in order of preference. */
export const FLASH_ATTENTION_VARIANTS: readonly FlashAttentionVariant[] = [
  {
    name: "texture_rows",
    suits: ["cpu"],
    rowsPerGroup: () => TEXTURE_ROWS_SHAPE.rows * TEXTURE_ROWS_SHAPE.wg,
  },
  { name: "workgroup_tiled", suits: ["gpu"], rowsPerGroup: () => 64 },
];

/** The widest head dim the flash kernels take; wider heads use the materialised path. */
export const FLASH_MAX_DIM = 128;
const MAX_BATCH_PER_LAUNCH = 64; // entries of Params.kvmap

/**
 * Scaled dot-product attention, `softmax(Q Kᵀ · scale + bias) V`, computed in f32 whatever the
 * storage dtype, without materialising the scores.
 *
 * Layouts: each of q, k, v is head-major `[B, H, S, D]` or token-major `[B, S, H·D]` (what a
 * linear projection writes; pass `options.heads`), and they may differ. The output takes q's
 * layout: `[B, H, Sq, D]` or `[B, Sq, H·D]`, in q's dtype. k and v have `Bk` entries, which
 * `options.kvBatch` maps query entries onto. A query row whose keys are all masked gets zeros.
 *
 * @param q queries `[B, H, Sq, D]` or `[B, Sq, H·D]`, f32 or f16
 * @param k keys `[Bk, H, Sk, D]` or `[Bk, Sk, H·D]`, q's dtype
 * @param v values, k's batch and length
 * @param options scale, bias, kvBatch, keyMask, heads
 * @returns the attention output in q's layout and dtype
 * @example
 * ```ts ignore
 * const out = flashAttention(q, k, v, { heads: 16 }); // [B, S, 1152] token-major in and out
 * const tgt = flashAttention(q, k, v, { heads: 16, kvBatch: [0, 0, 0] }); // all rows read row 0
 * ```
 */
export function flashAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: FlashAttentionOptions = {},
): Tensor {
  const op = "flashAttention";
  const qo = operand(op, "q", q, options.heads);
  const ko = operand(op, "k", k, options.heads ?? qo.heads);
  const vo = operand(op, "v", v, options.heads ?? qo.heads);
  checkKeyValue(op, qo, ko, vo);
  const scale = options.scale ?? 1 / Math.sqrt(qo.dim);
  if (!Number.isFinite(scale)) {
    throw new RangeError(`Cannot run ${op}: scale ${scale} is not finite`);
  }
  const kvmap = kvBatchMap(op, qo.batch, ko.batch, options.kvBatch);
  if (ko.seq === 0 && qo.seq > 0) {
    throw new RangeError(`Cannot run ${op}: k and v have no keys (${k})`);
  }
  const biasStrides = options.bias &&
    checkBias(op, options.bias, qo.batch, qo.heads, qo.seq, ko.seq);
  const maskStride = options.keyMask && checkKeyMask(op, options.keyMask, ko.batch, ko.seq);
  if (options.union) checkUnion(op, options, qo.batch, ko.batch, qo.dim);
  if (qo.dim > FLASH_MAX_DIM) {
    return attentionByProbs(op, qo, ko, vo, { ...options, scale, kvmap });
  }
  const out = outputLike(qo, qo.seq, qo.dim, "flash_attention");
  if (qo.seq === 0 || qo.batch === 0 || qo.dim === 0) return out.tensor;
  const gpu = q.gpu;
  const variant = pickVariant(gpu, "flash_attention", FLASH_ATTENTION_VARIANTS);
  const d4 = Math.ceil(qo.dim / 4);
  const types: Record<string, DType> = {
    T: q.dtype,
    BT: options.bias?.dtype ?? "f32",
    M: options.keyMask?.dtype ?? "f32",
  };
  const flags = { HAS_BIAS: options.bias ? 1 : 0, HAS_MASK: options.keyMask ? 1 : 0 };
  let program, inputs;
  let strides: { q: number[]; k: number[]; v: number[] };
  let wsh = 0, qwsh = 0;
  if (variant.name === "texture_rows") {
    const [qs, ks, vs] = [["q", qo], ["k", ko], ["v", vo]].map(([role, x]) =>
      stageOperand(role as string, x as AttnOperand, op)
    );
    const { rows, keys, wg } = TEXTURE_ROWS_SHAPE;
    program = {
      name: "flash_attention",
      wgsl: withTypes(gpu, cpuKernel(d4, rows, keys, { k: ks.format, v: vs.format }), types),
      overrides: { WG: wg, ...flags },
    };
    inputs = [qs.view, ks.view, vs.view];
    strides = { q: [qs.tb, qs.th, qs.ts], k: [ks.tb, ks.th, ks.ts], v: [vs.tb, vs.th, vs.ts] };
    [wsh, qwsh] = [ks.wsh, qs.wsh];
    if (vs.wsh !== wsh) {
      throw new RangeError(`Cannot run ${op}: k and v need textures of one width`);
    }
  } else {
    program = {
      name: "flash_attention",
      wgsl: withTypes(gpu, PARAMS + WORKGROUP_TILED, types),
      overrides: { WG: 64, HD: qo.dim, ...flags },
    };
    inputs = [q, k, v];
    strides = { q: [qo.sb, qo.sh, qo.ss], k: [ko.sb, ko.sh, ko.ss], v: [vo.sb, vo.sh, vo.ss] };
  }
  const bindings = [
    ...inputs,
    out.tensor,
    options.bias ?? placeholder(gpu),
    options.keyMask ?? placeholder(gpu),
  ];
  const groups = Math.ceil(qo.seq / variant.rowsPerGroup());
  for (let b0 = 0; b0 < qo.batch; b0 += MAX_BATCH_PER_LAUNCH) {
    const nb = Math.min(MAX_BATCH_PER_LAUNCH, qo.batch - b0);
    const u = new Uint32Array(24 + 64);
    const f = new Float32Array(u.buffer);
    u.set([qo.seq, ko.seq, qo.dim, wsh, ...strides.q], 0);
    f[7] = scale * Math.LOG2E;
    u.set([...strides.k, ...strides.v, out.sb, out.sh, out.ss], 8);
    u.set([...(biasStrides ?? [0, 0, 0]), maskStride ?? 0, b0, qwsh, options.union ? 1 : 0], 17);
    u.set(kvmap.slice(b0, b0 + nb), 24);
    gpu.dispatch(program, bindings, [groups, qo.heads, nb], u);
  }
  return out.tensor;
}

function checkUnion(
  op: string,
  options: FlashAttentionOptions,
  batch: number,
  kvCount: number,
  dim: number,
): void {
  const why = !options.kvBatch
    ? "needs options.kvBatch"
    : kvCount !== batch
    ? `needs one K/V entry per query entry (q has ${batch}, k/v ${kvCount})`
    : options.bias
    ? "takes no bias"
    : dim > FLASH_MAX_DIM
    ? `takes head dims up to ${FLASH_MAX_DIM}, not ${dim}`
    : undefined;
  if (why) throw new RangeError(`Cannot run ${op}: options.union ${why}`);
}
