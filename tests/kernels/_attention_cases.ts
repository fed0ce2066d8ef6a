// Shared by the attention tests: seeded head-major inputs, their token-major twins, and one
// case runner comparing flashAttention() with flashAttentionRef().

import { Tensor } from "../../tensor/tensor.ts";
import type { Gpu } from "../../tensor/device.ts";
import { roundToF16 } from "../../tensor/dtype.ts";
import { flashAttention } from "../../kernels/flash_attention.ts";
import { flashAttentionRef } from "../../kernels/flash_attention_ref.ts";
import type { AttentionDims } from "../../kernels/cross_attention_ref.ts";
import { assertClose, F16_TOL, F32_TOL, randomArray } from "../_harness.ts";

/** One attention case; unset fields take the defaults of `flashAttention`. */
export interface AttnCase {
  batch: number;
  heads: number;
  sq: number;
  sk: number;
  dim: number;
  kvCount?: number;
  scale?: number;
  /** Bias `[H, Sq, Sk]`, or `[B, H, Sq, Sk]` when "batch". */
  bias?: "shared" | "batch";
  /** A key mask with random zeros; K/V entry 0 (if `fullyMasked`) has every key masked. */
  mask?: boolean;
  fullyMasked?: boolean;
  kvBatch?: number[];
  /** With kvBatch: attend to [K_kvBatch; K_own] (the reference concatenates them). */
  union?: boolean;
  /** Token-major `[B, S, H·D]` q/k/v (and output) instead of `[B, H, S, D]`. */
  tokenMajor?: boolean;
  f16?: boolean;
  seed?: number;
}

/** `[B, H, S, D]` → `[B, S, H·D]` (or back with `inverse`). */
export function toTokenMajor(
  x: ArrayLike<number>,
  b: number,
  h: number,
  s: number,
  d: number,
  inverse = false,
): Float32Array {
  const out = new Float32Array(b * h * s * d);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < h; j++) {
      for (let t = 0; t < s; t++) {
        for (let e = 0; e < d; e++) {
          const hm = ((i * h + j) * s + t) * d + e, tm = ((i * s + t) * h + j) * d + e;
          if (inverse) out[hm] = x[tm];
          else out[tm] = x[hm];
        }
      }
    }
  }
  return out;
}

/** Seeded inputs of a case (f16-rounded when `f16`), head-major. */
export function caseInputs(c: AttnCase) {
  const seed = c.seed ?? c.sq * 31 + c.sk * 7 + c.dim;
  const kv = c.kvCount ?? c.batch;
  const r = (n: number, s: number, lo = -1, hi = 1) => {
    const x = randomArray(n, s, lo, hi);
    return c.f16 ? roundToF16(x) : x;
  };
  const q = r(c.batch * c.heads * c.sq * c.dim, seed, -2, 2);
  const k = r(kv * c.heads * c.sk * c.dim, seed + 1, -2, 2);
  const v = r(kv * c.heads * c.sk * c.dim, seed + 2);
  const bias = c.bias
    ? r((c.bias === "batch" ? c.batch : 1) * c.heads * c.sq * c.sk, seed + 3, -3, 3)
    : undefined;
  let mask: Float32Array | undefined;
  if (c.mask) {
    mask = randomArray(kv * c.sk, seed + 4).map((x) => (x < -0.4 ? 0 : 1));
    for (let b = 0; b < kv; b++) mask[b * c.sk] = 1; // at least one key per entry
    if (c.fullyMasked) mask.fill(0, 0, c.sk);
  }
  return { q, k, v, bias, mask, kv };
}

/** Runs one case through flashAttention() and checks it against flashAttentionRef(). */
export async function checkFlashCase(gpu: Gpu, c: AttnCase, label: string): Promise<void> {
  const { q, k, v, bias, mask, kv } = caseInputs(c);
  const dims: AttentionDims = { batch: c.batch, heads: c.heads, sq: c.sq, sk: c.sk, dim: c.dim };
  const ref = c.union
    ? flashAttentionRef(
      q,
      unionRows(k, c, c.dim),
      unionRows(v, c, c.dim),
      { ...dims, sk: 2 * c.sk },
      { scale: c.scale, keyMask: mask && unionRows(mask, { ...c, heads: 1 }, 1) },
    )
    : flashAttentionRef(q, k, v, dims, {
      scale: c.scale,
      bias,
      biasPerBatch: c.bias === "batch",
      keyMask: mask,
      kvBatch: c.kvBatch,
    });
  const dtype = c.f16 ? "f16" : "f32";
  const up = (x: Float32Array, b: number, s: number) =>
    c.tokenMajor
      ? Tensor.from(gpu, toTokenMajor(x, b, c.heads, s, c.dim), [b, s, c.heads * c.dim], dtype)
      : Tensor.from(gpu, x, [b, c.heads, s, c.dim], dtype);
  const tq = up(q, c.batch, c.sq), tk = up(k, kv, c.sk), tv = up(v, kv, c.sk);
  const tb = bias &&
    Tensor.from(
      gpu,
      bias,
      c.bias === "batch" ? [c.batch, c.heads, c.sq, c.sk] : [c.heads, c.sq, c.sk],
      dtype,
    );
  const tm = mask && Tensor.from(gpu, mask, [kv, c.sk]);
  const out = flashAttention(tq, tk, tv, {
    scale: c.scale,
    bias: tb,
    keyMask: tm,
    kvBatch: c.kvBatch,
    union: c.union,
    heads: c.tokenMajor ? c.heads : undefined,
  });
  let got = await out.toArray();
  if (c.tokenMajor) got = toTokenMajor(got, c.batch, c.heads, c.sq, c.dim, true);
  assertClose(got, ref, c.f16 ? F16_TOL : F32_TOL, label);
  for (const t of [tq, tk, tv, tb, tm, out]) t?.dispose();
}

/**
 * Union's keys built the plain way: per query entry b and head, the rows of entry kvBatch[b]
 * followed by entry b's own (`[B, H, Sk, width]` → `[B, H, 2·Sk, width]`).
 */
function unionRows(x: ArrayLike<number>, c: AttnCase, width: number): Float32Array {
  const seg = c.sk * width, out = new Float32Array(c.batch * c.heads * 2 * seg);
  for (let b = 0; b < c.batch; b++) {
    for (let h = 0; h < c.heads; h++) {
      const at = (e: number) => (e * c.heads + h) * seg, to = (b * c.heads + h) * 2 * seg;
      out.set(Array.from({ length: seg }, (_, i) => x[at(c.kvBatch![b]) + i]), to);
      out.set(Array.from({ length: seg }, (_, i) => x[at(b) + i]), to + seg);
    }
  }
  return out;
}

/** A short label for a case. */
export function caseLabel(c: AttnCase): string {
  const flags = [
    c.tokenMajor && "token-major",
    c.bias && `bias ${c.bias}`,
    c.mask && (c.fullyMasked ? "mask (one entry fully)" : "mask"),
    c.kvBatch && `kvBatch [${c.kvBatch}]${c.union ? " union" : ""}`,
    c.scale !== undefined && `scale ${c.scale}`,
    c.f16 && "f16",
  ].filter(Boolean);
  return `B${c.batch} H${c.heads} Sq${c.sq} Sk${c.sk} D${c.dim}${
    flags.length ? ` (${flags.join(", ")})` : ""
  }`;
}
