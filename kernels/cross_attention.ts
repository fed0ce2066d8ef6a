// Attention with materialised probabilities, for short key sequences (PixArt's 120 caption keys)
// where Prompt-to-Prompt edits the maps between the two halves (SPEC §8.4), and for the VAE's
// single 512-channel head. CPU twin in cross_attention_ref.ts. Q/K/V are staged into textures
// (_attention.ts); K and V are read as read-only storage textures (on lavapipe a sampled fetch is
// a function call, a storage-texture load is inlined and about 2x cheaper).
// - "attention_probs": each invocation keeps 8 query rows in registers and walks the keys twice,
//   2 per step: running max and sum, then exp(s - max) / sum written out.
// - "attend_probs": each invocation keeps 8 rows × the whole head dim in registers.
// Heads wider than 128 use the looped kernels of _attention_wide.ts.

import { Tensor } from "../tensor/tensor.ts";
import type { DType } from "../tensor/dtype.ts";
import { formatShape } from "../tensor/shape.ts";
import { withTypes } from "./_wgsl.ts";
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
  type StagedOperand,
  stageOperand,
} from "./_attention.ts";
import { ATTEND_LOOP, PROBS_LOOP } from "./_attention_wide.ts";

/** Options of `attentionProbs`. */
export interface AttentionProbsOptions {
  /** Multiplies Q·Kᵀ before the softmax; default 1/√D. */
  scale?: number;
  /** `[Bk, Sk]` (or `[1, Sk]`), any dtype: keys whose value is 0 get probability exactly 0. */
  keyMask?: Tensor;
  /** Additive bias `[H, Sq, Sk]` or `[1|B, H, Sq, Sk]`, f32 or f16. */
  bias?: Tensor;
  /** For each query batch entry, the K batch entry it attends to (default: the same). */
  kvBatch?: readonly number[];
  /** Heads, required when q/k are token-major `[B, S, H·D]`. */
  heads?: number;
}

/** Options of `attendProbs`. */
export interface AttendProbsOptions {
  /** For each probs batch entry, the V batch entry it reads (default: the same). */
  kvBatch?: readonly number[];
  /** Heads, required when v is token-major `[Bk, Sk, H·D]`. */
  heads?: number;
}

const PROBS_HEAD = /* wgsl */ `
struct Params {
  sq: u32, sk: u32, d4: u32, wsh: u32,
  qb: u32, qh: u32, qs: u32, scale: f32,
  kb: u32, kh: u32, ks: u32, row0: u32,
  rows: u32, bb: u32, bh: u32, bi: u32,
  mb: u32, b0: u32, heads: u32, qwsh: u32,
  kvmap: array<vec4u, 16>,
}
@group(0) @binding(1) var kt: texture_storage_2d<K_FORMAT, read>;
@group(0) @binding(2) var<storage, read_write> probs: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<BT>;
@group(0) @binding(4) var<storage, read> mask: array<M>;
@group(0) @binding(5) var<uniform> p: Params;
override WG: u32 = 16;
override HAS_BIAS: bool = false;
override HAS_MASK: bool = false;
const LOG2E = 1.4426950408889634;
fn ktexel(i: u32) -> vec4f {
  return textureLoad(kt, vec2u(i & ((1u << p.wsh) - 1u), i >> p.wsh));
}
fn masked(kvb: u32, key: u32) -> bool {
  if (key >= p.sk) { return true; }
  if (HAS_MASK) { return mask[kvb * p.mb + key] == M(0); }
  return false;
}
fn biasAt(b: u32, h: u32, row: u32, key: u32) -> f32 {
  return LOG2E * f32(bias[b * p.bb + h * p.bh + (p.row0 + row) * p.bi + min(key, p.sk - 1u)]);
}`;

// Head dims up to 128: each invocation keeps ROWS query rows in registers (expandTemplate) and
// walks the keys twice, KEYS per step: once for the row max and sum, once to write probabilities.
const PROBS_ROWS = /* wgsl */ `
@group(0) @binding(0) var qt: texture_2d<f32>;
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32) {
  let row0 = (wid.x * WG + li) * ROWS;
  if (row0 >= p.rows) { return; }
  let zb = wid.z / p.heads;
  let h = wid.z % p.heads;
  let b = p.b0 + zb;
  let kvb = p.kvmap[zb / 4u][zb % 4u];
  let kbase = kvb * p.kb + h * p.kh;
  let r@R = min(row0 + @Ru, p.rows - 1u);
  let qa@R = b * p.qb + h * p.qh + (p.row0 + r@R) * p.qs;
  let qm = (1u << p.qwsh) - 1u;
  let q@R_@D = textureLoad(qt, vec2u((qa@R + @Du) & qm, (qa@R + @Du) >> p.qwsh), 0) * p.scale;
  var m@R = -1e30;
  var l@R = 0.0;
  for (var j = 0u; j < p.sk; j += KEYS) {
    let ka@C = kbase + min(j + @Cu, p.sk - 1u) * p.ks;
    let bad@C = masked(kvb, j + @Cu);
    var s@R_@C = 0.0;
    // @for D
    let k@C = ktexel(ka@C + @Du);
    s@R_@C += dot(q@R_@D, k@C);
    // @end
    if (HAS_BIAS) { s@R_@C += biasAt(b, h, r@R, j + @Cu); }
    let mn@R = max(m@R, @MAX_C(select(s@R_@C, -1e30, bad@C)));
    l@R = l@R * exp2(m@R - mn@R) + @SUM_C(select(exp2(s@R_@C - mn@R), 0.0, bad@C));
    m@R = mn@R;
  }
  let il@R = select(0.0, 1.0 / l@R, l@R > 0.0);
  let pa@R = ((b * p.heads + h) * p.rows + r@R) * p.sk;
  for (var j = 0u; j < p.sk; j += KEYS) {
    let ka@C = kbase + min(j + @Cu, p.sk - 1u) * p.ks;
    let bad@C = masked(kvb, j + @Cu);
    var s@R_@C = 0.0;
    // @for D
    let k@C = ktexel(ka@C + @Du);
    s@R_@C += dot(q@R_@D, k@C);
    // @end
    if (HAS_BIAS) { s@R_@C += biasAt(b, h, r@R, j + @Cu); }
    if (row0 + @Ru < p.rows && j + @Cu < p.sk) { probs[pa@R + j + @Cu] = T(select(exp2(s@R_@C - m@R) * il@R, 0.0, bad@C)); }
  }
}`;

const ATTEND_HEAD = /* wgsl */ `
struct Params {
  sq: u32, sk: u32, d: u32, wsh: u32,
  vb: u32, vh: u32, vs: u32, d4: u32,
  ob: u32, oh: u32, os: u32, row0: u32,
  rows: u32, b0: u32, heads: u32, pwsh: u32,
  pb: u32, ph: u32, ps: u32, p1: u32,
  kvmap: array<vec4u, 16>,
}
@group(0) @binding(0) var pt: texture_storage_2d<P_FORMAT, read>;
@group(0) @binding(1) var vt: texture_storage_2d<V_FORMAT, read>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
@group(0) @binding(3) var<uniform> p: Params;
override WG: u32 = 16;
fn vtexel(i: u32) -> vec4f {
  return textureLoad(vt, vec2u(i & ((1u << p.wsh) - 1u), i >> p.wsh));
}
// Probabilities of keys 4j4..4j4+3 of a row starting at texel i (zero past the last key).
fn ptexel(i: u32) -> vec4f {
  return textureLoad(pt, vec2u(i & ((1u << p.pwsh) - 1u), i >> p.pwsh));
}`;

// Head dims up to 128: ROWS rows × the whole head dim in registers, 4 keys (one texel of
// probabilities) per step.
const ATTEND_ROWS = /* wgsl */ `
fn store4(at: u32, first: u32, x: vec4f) {
  for (var c = 0u; c < 4u; c++) {
    if (first + c < p.d) { out[at + c] = T(x[c]); }
  }
}
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32) {
  let row0 = (wid.x * WG + li) * ROWS;
  if (row0 >= p.rows) { return; }
  let zb = wid.z / p.heads;
  let h = wid.z % p.heads;
  let b = p.b0 + zb;
  let kvb = p.kvmap[zb / 4u][zb % 4u];
  let vbase = kvb * p.vb + h * p.vh;
  let pa@R = b * p.pb + h * p.ph + min(row0 + @Ru, p.rows - 1u) * p.ps;
  var o@R_@D = vec4f(0.0);
  for (var j = 0u; j < p.sk; j += 4u) {
    let va@C = vbase + min(j + @Cu, p.sk - 1u) * p.vs;
    let w@R = ptexel(pa@R + j / 4u);
    // @for D
    let v@C = vtexel(va@C + @Du);
    o@R_@D += @SUM_C(w@R[@C] * v@C);
    // @end
  }
  let oa@R = b * p.ob + h * p.oh + (p.row0 + row0 + @Ru) * p.os;
  if (row0 + @Ru < p.rows) { store4(oa@R + @Du * 4u, @Du * 4u, o@R_@D); }
}`;

const MAX_BATCH_PER_LAUNCH = 64; // entries of Params.kvmap
const PROBS_WG = 16;
/** Heads up to this width use the unrolled kernels (rows in registers); wider ones loop. */
const UNROLL_MAX_DIM = 128;
/** Rows per invocation and keys per step of the unrolled kernels (attend steps 4 keys). */
export const ROWS_SHAPE = { R: 8, C: 2 };

interface ProbsJob {
  op: string;
  q: AttnOperand;
  k: AttnOperand;
  scale: number;
  kvmap: number[];
  bias?: Tensor;
  keyMask?: Tensor;
}

/** Records the probs kernel for query rows [row0, row0 + rows) into `probs` [B, H, rows, Sk]. */
function recordProbs(
  job: ProbsJob,
  staged: { q: StagedOperand; k: StagedOperand },
  probs: Tensor,
  row0: number,
  rows: number,
): void {
  const { op, q, k } = job, gpu = probs.gpu;
  const { q: qs, k: ks } = staged;
  const types: Record<string, DType> = {
    T: probs.dtype,
    BT: job.bias?.dtype ?? "f32",
    M: job.keyMask?.dtype ?? "f32",
  };
  const d4 = Math.ceil(q.dim / 4), unrolled = q.dim <= UNROLL_MAX_DIM;
  const head = PROBS_HEAD.replace("K_FORMAT", ks.format);
  const flags = { WG: PROBS_WG, HAS_BIAS: job.bias ? 1 : 0, HAS_MASK: job.keyMask ? 1 : 0 };
  const program = unrolled
    ? {
      name: "attention_probs",
      wgsl: withTypes(gpu, head + expandTemplate(PROBS_ROWS, { ...ROWS_SHAPE, D: d4 }), types),
      overrides: flags,
    }
    : {
      name: "attention_probs",
      wgsl: withTypes(gpu, head + PROBS_LOOP.replace("Q_FORMAT", qs.format), types),
      overrides: { ...flags, RECOMPUTE: probs.elementBytes === 2 ? 1 : 0 },
    };
  const biasStrides = job.bias
    ? checkBias(op, job.bias, q.batch, q.heads, q.seq, k.seq)
    : [0, 0, 0];
  const maskStride = job.keyMask ? checkKeyMask(op, job.keyMask, k.batch, k.seq) : 0;
  const bindings = [
    qs.view,
    ks.view,
    probs,
    job.bias ?? placeholder(gpu),
    job.keyMask ?? placeholder(gpu),
  ];
  const groups = Math.ceil(rows / ((unrolled ? ROWS_SHAPE.R : 4) * PROBS_WG));
  for (let b0 = 0; b0 < q.batch; b0 += MAX_BATCH_PER_LAUNCH) {
    const nb = Math.min(MAX_BATCH_PER_LAUNCH, q.batch - b0);
    const u = new Uint32Array(20 + 64);
    u.set([q.seq, k.seq, d4, ks.wsh, qs.tb, qs.th, qs.ts, 0]);
    new Float32Array(u.buffer)[7] = job.scale * Math.LOG2E;
    u.set([ks.tb, ks.th, ks.ts, row0, rows, ...biasStrides, maskStride, b0, q.heads, qs.wsh], 8);
    u.set(job.kvmap.slice(b0, b0 + nb), 20);
    gpu.dispatch(program, bindings, [groups, 1, nb * q.heads], u);
  }
}

/** Records out rows [row0, row0 + rows) = probs [B, H, rows, Sk] · V. */
function recordAttend(
  op: string,
  probs: Tensor,
  v: AttnOperand,
  vs: StagedOperand,
  out: AttnOperand,
  kvmap: number[],
  row0: number,
  rows: number,
): void {
  const gpu = probs.gpu;
  const d4 = Math.ceil(v.dim / 4), unrolled = v.dim <= UNROLL_MAX_DIM;
  // the probabilities as texels of 4 keys (a copy when Sk % 4 == 0, else zero-padded)
  const pb = probs.shape[1] * rows * v.seq;
  const po = { tensor: probs, batch: out.batch, heads: v.heads, seq: rows, dim: v.seq };
  const ps = stageOperand("p", { ...po, sb: pb, sh: rows * v.seq, ss: v.seq }, op);
  const head = ATTEND_HEAD.replace("V_FORMAT", vs.format).replace("P_FORMAT", ps.format);
  const body = unrolled
    ? expandTemplate(ATTEND_ROWS, { R: ROWS_SHAPE.R, C: 4, D: d4 })
    : ATTEND_LOOP;
  const program = {
    name: "attend_probs",
    wgsl: withTypes(gpu, head + body, { T: probs.dtype }),
    overrides: { WG: PROBS_WG },
  };
  const groups = Math.ceil(rows / ((unrolled ? ROWS_SHAPE.R : 4) * PROBS_WG));
  for (let b0 = 0; b0 < out.batch; b0 += MAX_BATCH_PER_LAUNCH) {
    const nb = Math.min(MAX_BATCH_PER_LAUNCH, out.batch - b0);
    const u = new Uint32Array(20 + 64);
    u.set([out.seq, v.seq, v.dim, vs.wsh, vs.tb, vs.th, vs.ts, d4, out.sb, out.sh, out.ss, row0]);
    u.set([rows, b0, v.heads, ps.wsh, ps.tb, ps.th, ps.ts, 0], 12);
    u.set(kvmap.slice(b0, b0 + nb), 20);
    gpu.dispatch(
      program,
      [ps.view, vs.view, out.tensor],
      [groups, unrolled ? 1 : Math.ceil(d4 / 4), nb * v.heads],
      u,
    );
  }
}

function probsOperands(op: string, q: Tensor, k: Tensor, options: AttentionProbsOptions) {
  const qo = operand(op, "q", q, options.heads);
  const ko = operand(op, "k", k, options.heads ?? qo.heads);
  checkKeyValue(op, qo, ko);
  const scale = options.scale ?? 1 / Math.sqrt(qo.dim);
  if (!Number.isFinite(scale)) {
    throw new RangeError(`Cannot run ${op}: scale ${scale} is not finite`);
  }
  if (ko.seq === 0 && qo.seq > 0) throw new RangeError(`Cannot run ${op}: k has no keys (${k})`);
  const kvmap = kvBatchMap(op, qo.batch, ko.batch, options.kvBatch);
  if (options.bias) checkBias(op, options.bias, qo.batch, qo.heads, qo.seq, ko.seq);
  if (options.keyMask) checkKeyMask(op, options.keyMask, ko.batch, ko.seq);
  return { op, q: qo, k: ko, scale, kvmap, bias: options.bias, keyMask: options.keyMask };
}

/**
 * Attention probabilities `softmax(Q Kᵀ · scale + bias)` per head, materialised for short key
 * sequences (cross-attention over 120 caption tokens). Masked keys get exactly 0; a row whose
 * keys are all masked is all zeros (not NaN, not uniform). Computed in f32, stored in q's dtype.
 *
 * @param q queries `[B, H, Sq, D]` or token-major `[B, Sq, H·D]` (pass `options.heads`)
 * @param k keys `[Bk, H, Sk, D]` or `[Bk, Sk, H·D]`, q's dtype
 * @param options scale, keyMask `[Bk, Sk]`, bias, kvBatch, heads
 * @returns probabilities `[B, H, Sq, Sk]`
 * @example
 * ```ts ignore
 * const p = attentionProbs(q, captionK, { heads: 16, keyMask: captionMask }); // [B, 16, N, 120]
 * const out = attendProbs(editedP, captionV, { heads: 16 }); // [B, N, 1152]
 * ```
 */
export function attentionProbs(q: Tensor, k: Tensor, options: AttentionProbsOptions = {}): Tensor {
  const job = probsOperands("attentionProbs", q, k, options);
  const probs = Tensor.empty(
    q.gpu,
    [job.q.batch, job.q.heads, job.q.seq, job.k.seq],
    q.dtype,
    "attention_probs",
  );
  if (probs.size > 0) {
    const staged = { q: stageOperand("q", job.q, job.op), k: stageOperand("k", job.k, job.op) };
    recordProbs(job, staged, probs, 0, job.q.seq);
  }
  return probs;
}

/**
 * The second half of materialised attention: `probs · V` per head.
 *
 * @param probs `[B, H, Sq, Sk]` (from `attentionProbs`, possibly edited), f32 or f16
 * @param v values `[Bk, H, Sk, D]` or token-major `[Bk, Sk, H·D]` (pass `options.heads`)
 * @param options kvBatch, heads
 * @returns `[B, H, Sq, D]`, or `[B, Sq, H·D]` when v is token-major; in probs' dtype
 */
export function attendProbs(probs: Tensor, v: Tensor, options: AttendProbsOptions = {}): Tensor {
  const op = "attendProbs";
  const vo = operand(op, "v", v, options.heads);
  const s = probs.shape;
  if (s.length !== 4 || s[1] !== vo.heads || s[3] !== vo.seq || probs.dtype !== v.dtype) {
    throw new TypeError(
      `Cannot run ${op}: probs ${probs} must be [B, ${vo.heads}, Sq, ${vo.seq}] ${v.dtype} for ` +
        `v ${formatShape(v.shape)} ${v.dtype}`,
    );
  }
  const kvmap = kvBatchMap(op, s[0], vo.batch, options.kvBatch);
  const out = outputLike({ ...vo, batch: s[0] }, s[2], vo.dim, "attend_probs");
  if (out.tensor.size > 0) {
    recordAttend(op, probs, vo, stageOperand("v", vo, op), out, kvmap, 0, s[2]);
  }
  return out.tensor;
}

/** Bytes of probabilities one chunk of `attentionByProbs` may hold. */
const CHUNK_BYTES = 64 << 20;

/**
 * Attention through materialised probabilities in chunks of query rows, for heads wider than the
 * flash kernels take (the VAE's single 512-channel head). Used by `flashAttention`.
 */
export function attentionByProbs(
  op: string,
  q: AttnOperand,
  k: AttnOperand,
  v: AttnOperand,
  options: { scale: number; kvmap: number[]; bias?: Tensor; keyMask?: Tensor },
): Tensor {
  const out = outputLike(q, q.seq, v.dim, "flash_attention");
  if (out.tensor.size === 0) return out.tensor;
  const gpu = q.tensor.gpu;
  const job: ProbsJob = { op, q, k, ...options };
  const perRow = q.batch * q.heads * k.seq * 4;
  const chunk = Math.max(4, Math.min(q.seq, Math.floor(CHUNK_BYTES / perRow / 4) * 4));
  const probs = Tensor.empty(
    gpu,
    [q.batch, q.heads, chunk, k.seq],
    q.tensor.dtype,
    "attention_probs",
  );
  try {
    const staged = { q: stageOperand("q", q, op), k: stageOperand("k", k, op) };
    const vs = stageOperand("v", v, op);
    for (let row0 = 0; row0 < q.seq; row0 += chunk) {
      const rows = Math.min(chunk, q.seq - row0);
      recordProbs(job, staged, probs, row0, rows);
      recordAttend(op, probs, v, vs, out, options.kvmap, row0, rows);
    }
  } finally {
    probs.dispose(); // the pool keeps it alive until the recorded work is submitted
  }
  return out.tensor;
}
