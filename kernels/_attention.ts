// Shared by flash_attention.ts and cross_attention.ts: the two accepted layouts of Q, K, V and
// outputs, argument checks, and staging of Q/K/V into rgba32float (or rgba16float) textures,
// because on lavapipe a texel fetch is several times cheaper than a storage-buffer load.

import { Tensor } from "../tensor/tensor.ts";
import type { Gpu } from "../tensor/device.ts";
import { formatShape } from "../tensor/shape.ts";
import { grid1d, withTypes } from "./_wgsl.ts";

/**
 * One attention operand read as `[batch, heads, seq, dim]`, whatever its memory layout:
 * head-major `[B, H, S, D]` (rank 4) or token-major `[B, S, H·D]` (rank 3, what a linear
 * projection produces; needs `heads`). Strides are in elements; `dim` is contiguous.
 */
export interface AttnOperand {
  tensor: Tensor;
  batch: number;
  heads: number;
  seq: number;
  dim: number;
  /** Element strides of batch, head and sequence position. */
  sb: number;
  sh: number;
  ss: number;
}

/** Reads a rank-4 `[B, H, S, D]` or rank-3 `[B, S, H·D]` tensor as an operand. */
export function operand(op: string, name: string, t: Tensor, heads?: number): AttnOperand {
  if (t.dtype !== "f32" && t.dtype !== "f16") {
    throw new TypeError(`Cannot run ${op}: ${name} has dtype ${t.dtype}, expected f32 or f16`);
  }
  const s = t.shape;
  if (s.length === 4) {
    if (heads !== undefined && heads !== s[1]) {
      throw new TypeError(
        `Cannot run ${op}: ${name} ${formatShape(s)} has ${s[1]} heads, options.heads is ${heads}`,
      );
    }
    const [batch, h, seq, dim] = s;
    return { tensor: t, batch, heads: h, seq, dim, sb: h * seq * dim, sh: seq * dim, ss: dim };
  }
  if (s.length === 3) {
    if (heads === undefined) {
      throw new TypeError(
        `Cannot run ${op}: ${name} ${formatShape(s)} is token-major [B, S, H·D], so ` +
          `options.heads is needed`,
      );
    }
    if (!(Number.isInteger(heads) && heads > 0 && s[2] % heads === 0)) {
      throw new TypeError(
        `Cannot run ${op}: ${name} ${formatShape(s)} has ${s[2]} features, not a multiple of ` +
          `options.heads ${heads}`,
      );
    }
    const [batch, seq, width] = s, dim = width / heads;
    return { tensor: t, batch, heads, seq, dim, sb: seq * width, sh: dim, ss: width };
  }
  throw new TypeError(
    `Cannot run ${op}: ${name} ${formatShape(s)} must be [B, H, S, D] or [B, S, H·D]`,
  );
}

/** An output operand in the layout of `like` (rank 4 or token-major rank 3). */
export function outputLike(
  like: AttnOperand,
  seq: number,
  dim: number,
  label: string,
): AttnOperand {
  const { batch, heads } = like;
  const rank4 = like.tensor.shape.length === 4;
  const shape = rank4 ? [batch, heads, seq, dim] : [batch, seq, heads * dim];
  const t = Tensor.empty(like.tensor.gpu, shape, like.tensor.dtype, label);
  return rank4
    ? { tensor: t, batch, heads, seq, dim, sb: heads * seq * dim, sh: seq * dim, ss: dim }
    : { tensor: t, batch, heads, seq, dim, sb: seq * heads * dim, sh: dim, ss: heads * dim };
}

/** Checks that K and V match each other and Q (heads, head dim, dtype, key count). */
export function checkKeyValue(op: string, q: AttnOperand, k: AttnOperand, v?: AttnOperand): void {
  const shapes = () =>
    `q ${formatShape(q.tensor.shape)}, k ${formatShape(k.tensor.shape)}` +
    (v ? `, v ${formatShape(v.tensor.shape)}` : "");
  for (const x of v ? [k, v] : [k]) {
    if (x.tensor.dtype !== q.tensor.dtype) {
      throw new TypeError(`Cannot run ${op}: dtypes differ (${shapes()}; ${x.tensor.dtype})`);
    }
    if (x.heads !== q.heads || x.dim !== q.dim) {
      throw new TypeError(`Cannot run ${op}: heads or head dims differ (${shapes()})`);
    }
  }
  if (v && (v.batch !== k.batch || v.seq !== k.seq)) {
    throw new TypeError(`Cannot run ${op}: k and v differ in batch or length (${shapes()})`);
  }
}

/** The K/V batch entry each query batch entry reads (identity by default). */
export function kvBatchMap(
  op: string,
  batch: number,
  kvCount: number,
  kvBatch?: readonly number[],
): number[] {
  if (kvBatch === undefined) {
    if (kvCount !== batch) {
      throw new TypeError(
        `Cannot run ${op}: q has batch ${batch}, k/v have ${kvCount}; pass options.kvBatch ` +
          `to map query rows onto K/V rows`,
      );
    }
    return Array.from({ length: batch }, (_, i) => i);
  }
  if (
    kvBatch.length !== batch || kvBatch.some((x) => !(Number.isInteger(x) && x >= 0 && x < kvCount))
  ) {
    throw new RangeError(
      `Cannot run ${op}: options.kvBatch [${kvBatch.join(", ")}] must hold ${batch} indices ` +
        `in [0, ${kvCount})`,
    );
  }
  return [...kvBatch];
}

/** Checks a key mask `[Bk, Sk]` (nonzero keeps a key); returns its batch stride. */
export function checkKeyMask(op: string, mask: Tensor, kvCount: number, keys: number): number {
  const s = mask.shape;
  if (s.length !== 2 || s[1] !== keys || (s[0] !== kvCount && s[0] !== 1)) {
    throw new TypeError(
      `Cannot run ${op}: keyMask ${formatShape(s)} must be [${kvCount}, ${keys}] (or [1, ${keys}])`,
    );
  }
  return s[0] === 1 ? 0 : keys;
}

/** Checks a bias `[H, Sq, Sk]` or `[1|B, H, Sq, Sk]`; returns its element strides (b, h, i). */
export function checkBias(
  op: string,
  bias: Tensor,
  batch: number,
  heads: number,
  sq: number,
  sk: number,
): [number, number, number] {
  const s = bias.shape;
  const tail = s.slice(-3);
  const ok = (s.length === 3 || (s.length === 4 && (s[0] === 1 || s[0] === batch))) &&
    tail[0] === heads && tail[1] === sq && tail[2] === sk;
  if (!ok || (bias.dtype !== "f32" && bias.dtype !== "f16")) {
    throw new TypeError(
      `Cannot run ${op}: bias ${bias} must be f32 or f16 [${heads}, ${sq}, ${sk}] or ` +
        `[1 or ${batch}, ${heads}, ${sq}, ${sk}]`,
    );
  }
  const bStride = s.length === 4 && s[0] === batch && batch > 1 ? heads * sq * sk : 0;
  return [bStride, sq * sk, sk];
}

// --- Texture staging

/** A texture holding an operand as texels of 4 consecutive head-dim values. */
export interface StagedOperand {
  view: GPUTextureView;
  /** rgba32float, or rgba16float for f16 storage copied as is. */
  format: GPUTextureFormat;
  /** log2 of the texture width in texels: texel t is at (t & (w - 1), t >> wsh). */
  wsh: number;
  /** Texel strides of batch, head and sequence position; a row spans ceil(dim / 4) texels. */
  tb: number;
  th: number;
  ts: number;
}

interface Slot {
  texture: GPUTexture;
  view: GPUTextureView;
  width: number;
  height: number;
}

const slots = new WeakMap<Gpu, Map<string, Slot>>();

/** The width and height of a texture holding `texels` texels, power-of-two wide. */
function extent(gpu: Gpu, texels: number, op: string): [number, number] {
  const max = gpu.device.limits.maxTextureDimension2D;
  for (const w of [2048, max]) {
    const h = Math.max(1, Math.ceil(texels / w));
    if (h <= max && (w & (w - 1)) === 0) return [w, h];
  }
  throw new RangeError(
    `Cannot run ${op}: an operand of ${texels} texels exceeds a ${max}x${max} texture; split ` +
      `the batch`,
  );
}

function slot(gpu: Gpu, role: string, format: GPUTextureFormat, texels: number, op: string): Slot {
  let map = slots.get(gpu);
  if (!map) slots.set(gpu, map = new Map());
  const key = `${role}:${format}`;
  const [w, h] = extent(gpu, texels, op);
  const old = map.get(key);
  if (old && old.width === w && old.height >= h) return old;
  if (old) {
    gpu.flush(); // recorded work may still read the old texture: submit it before destroying
    old.texture.destroy();
  }
  const height = Math.max(h, old && old.width === w ? old.height : 0);
  const texture = gpu.device.createTexture({
    label: `attention ${key}`,
    size: [w, height],
    format,
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST |
      GPUTextureUsage.STORAGE_BINDING,
  });
  const s = { texture, view: texture.createView(), width: w, height };
  map.set(key, s);
  return s;
}

/**
 * Frees the textures that attention kernels keep between calls (they grow to the largest
 * operand seen: 3 × B·H·S·D·4 bytes). The next call allocates them again.
 */
export function releaseAttentionTextures(gpu: Gpu): void {
  const map = slots.get(gpu);
  if (!map) return;
  gpu.flush();
  for (const s of map.values()) s.texture.destroy();
  map.clear();
}

const PACK_WGSL = /* wgsl */ `
struct Params { n: u32, d: u32, d4: u32, wsh: u32, heads: u32, seq: u32, sb: u32, sh: u32,
  ss: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var tex: texture_storage_2d<rgba32float, write>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 64;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.n) { return; }
  let row = t / p.d4;
  let d = (t - row * p.d4) * 4u;
  let s = row % p.seq;
  let bh = row / p.seq;
  let base = (bh / p.heads) * p.sb + (bh % p.heads) * p.sh + s * p.ss;
  var v = vec4f(0.0);
  for (var c = 0u; c < 4u; c++) {
    if (d + c < p.d) { v[c] = f32(x[base + d + c]); }
  }
  textureStore(tex, vec2u(t & ((1u << p.wsh) - 1u), t >> p.wsh), v);
}`;

/**
 * Puts an operand into the texture kept for `role` ("q", "k" or "v"). A raw buffer-to-texture
 * copy when each row is whole texels (dim % 4 == 0, aligned view); otherwise a pack kernel that
 * pads the head dim with zeros to a multiple of 4.
 */
export function stageOperand(role: string, x: AttnOperand, op: string): StagedOperand {
  const t = x.tensor, gpu = t.gpu;
  const f16 = t.elementBytes === 2;
  const texelBytes = f16 ? 8 : 16;
  if (x.dim % 4 === 0 && t.byteOffset % texelBytes === 0) {
    const texels = t.size / 4;
    const format = f16 ? "rgba16float" : "rgba32float";
    const s = slot(gpu, role, format, texels, op);
    const full = Math.floor(texels / s.width), rest = texels - full * s.width;
    const encoder = gpu.recorder.encoder();
    const buffer = t.buffer(op), bytesPerRow = s.width * texelBytes;
    if (full > 0) {
      encoder.copyBufferToTexture({ buffer, offset: t.byteOffset, bytesPerRow }, {
        texture: s.texture,
      }, [s.width, full]);
    }
    if (rest > 0) {
      encoder.copyBufferToTexture(
        { buffer, offset: t.byteOffset + full * bytesPerRow, bytesPerRow },
        { texture: s.texture, origin: [0, full] },
        [rest, 1],
      );
    }
    const wsh = Math.log2(s.width);
    return { view: s.view, format, wsh, tb: x.sb / 4, th: x.sh / 4, ts: x.ss / 4 };
  }
  const d4 = Math.ceil(x.dim / 4);
  const n = x.batch * x.heads * x.seq * d4;
  const s = slot(gpu, role, "rgba32float", n, op);
  const wsh = Math.log2(s.width);
  gpu.dispatch(
    {
      name: "attention_pack",
      wgsl: withTypes(gpu, PACK_WGSL, { T: t.dtype }),
      overrides: { WG: 64 },
    },
    [t, s.view],
    grid1d(n, 64),
    new Uint32Array([n, x.dim, d4, wsh, x.heads, x.seq, x.sb, x.sh, x.ss, 0, 0, 0]),
  );
  const tb = x.heads * x.seq * d4;
  return { view: s.view, format: "rgba32float", wsh, tb, th: x.seq * d4, ts: d4 };
}

/** A 16-byte storage buffer bound where an optional input (bias, mask) is absent. */
export function placeholder(gpu: Gpu): GPUBufferBinding {
  let b = dummies.get(gpu);
  if (!b) {
    b = gpu.device.createBuffer({
      label: "attention placeholder",
      size: 16,
      usage: GPUBufferUsage.STORAGE,
    });
    dummies.set(gpu, b);
  }
  return { buffer: b, offset: 0, size: 16 };
}
const dummies = new WeakMap<Gpu, GPUBuffer>();

// --- Unrolled kernel templates

/** Expands @SUM_C(e) / @MAX_C(e), then repeats the line over @R, @C, @D (in that order). */
function expandLine(line: string, counts: Record<string, number>): string[] {
  const fold = /@(SUM|MAX)_([CD])\(/;
  for (let m = fold.exec(line); m; m = fold.exec(line)) {
    let depth = 1, end = m.index + m[0].length;
    for (; depth > 0; end++) depth += line[end] === "(" ? 1 : line[end] === ")" ? -1 : 0;
    const inner = line.slice(m.index + m[0].length, end - 1), x = m[2];
    const terms = Array.from({ length: counts[x] }, (_, i) => inner.replaceAll(`@${x}`, `${i}`));
    const joined = m[1] === "SUM"
      ? `(${terms.join(" + ")})`
      : terms.reduce((acc, t) => `max(${acc}, ${t})`);
    line = line.slice(0, m.index) + joined + line.slice(end);
  }
  let lines = [line];
  for (const x of ["R", "C", "D"]) {
    if (!line.includes(`@${x}`)) continue;
    lines = lines.flatMap((l) =>
      Array.from({ length: counts[x] }, (_, i) => l.replaceAll(`@${x}`, `${i}`))
    );
  }
  return lines;
}

/**
 * Unrolls a kernel template for lavapipe, where registers only exist for values indexed by
 * constants. @SUM_C(e) and @MAX_C(e) become the sum or max of e over the keys c < C of a step; a
 * line holding @R, @C or @D is repeated for each row r < R, key c < C and head-dim texel d < D
 * (nested in that order); the lines between "// @for D" and "// @end" are repeated as one block
 * per texel. Declares `const ROWS` and `const KEYS`.
 */
export function expandTemplate(
  template: string,
  counts: { R: number; C: number; D: number },
): string {
  const out = [`const ROWS = ${counts.R}u;`, `const KEYS = ${counts.C}u;`];
  let block: string[] | null = null;
  for (const line of template.split("\n")) {
    const t = line.trim();
    if (t === "// @for D") block = [];
    else if (t === "// @end" && block) {
      for (let d = 0; d < counts.D; d++) {
        out.push("    {");
        for (const l of block) out.push(...expandLine(l.replaceAll("@D", `${d}`), counts));
        out.push("    }");
      }
      block = null;
    } else if (block) block.push(line);
    else out.push(...expandLine(line, counts));
  }
  return out.join("\n");
}
