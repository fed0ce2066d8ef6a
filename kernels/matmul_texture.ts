// The CPU-adapter matmul variant: both operands are laid out as "rows × K" rgba textures (A as
// [M, K], B as B^T [N, K], 4 consecutive k per texel) and each invocation keeps a TM×TN block of
// the output in registers, reading A and B with `textureLoad` and no workgroup memory. On lavapipe
// a texel fetch costs far less than a storage-buffer load and barriers are slow, so large blocks
// that amortise each fetch over many FMAs win (shared/peers/README.md).
// Packing: a row-major f32 operand whose rows are 256-byte multiples is copied into its texture
// (copyBufferToTexture, memcpy speed); a transposed or f16 one with such rows is copied into a
// staging texture as it lies and retiled with texture reads; anything else goes through a pack
// kernel with storage loads. The last texel's tail past K is zero-filled; rows past M (or N)
// hold stale data: they only feed outputs that are never stored.

import type { Binding, Gpu } from "../tensor/device.ts";
import { Tensor } from "../tensor/tensor.ts";
import { heightClass, scratchTexture } from "./_texture.ts";
import { grid1d, LINEAR_ID, MAIN_1D, WG_1D, withTypes } from "./_wgsl.ts";
import { EPILOGUE_WGSL, epilogueFlags, type MatmulProblem } from "./matmul_epilogue.ts";

/**
 * Output rows × columns per invocation. On this session's lavapipe (Zen 3, 2 vCPUs, no AVX-512)
 * 32×32 ran 7-30% faster than 16×32 in the same process but took 14.5 s instead of 6.8 s to JIT
 * cold (Mesa's shader cache keeps either afterwards).
 */
export const TEXTURE_TILE = { tm: 16, tn: 32 } as const;

const PACK_WGSL = /* wgsl */ `
struct Params { rows: u32, cols: u32, offset: u32, rowStride: u32,
  colStride: u32, half: u32, texW: u32, texels: u32 }
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var dst: texture_storage_2d<FORMAT, write>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 256;
fn load(r: u32, c: u32) -> f32 {
  if (r >= p.rows || c >= p.cols) { return 0.0; }
  let i = p.offset + r * p.rowStride + c * p.colStride;
  if (p.half != 0u) { return unpack2x16float(src[i >> 1u])[i & 1u]; }
  return bitcast<f32>(src[i]);
}
${MAIN_1D} {
  let t = ${LINEAR_ID};
  if (t >= p.texels) { return; }
  let x = t % p.texW;
  let y = t / p.texW;
  let c = x * 4u;
  textureStore(dst, vec2<u32>(x, y),
    vec4<f32>(load(y, c), load(y, c + 1u), load(y, c + 2u), load(y, c + 3u)));
}`;

// Retiles a staging texture holding the source as it lies in its buffer into a "rows × K" texture:
// the same layout (an f16 source: conversion only), or transposed (staging texel (x, k) holds
// elements 4x..4x+3 of source row k, i.e. operand rows 4x..4x+3 at column k). Columns past K
// become zeros; the caller's rows past the operand's stay stale.
const RETILE_WGSL = /* wgsl */ `
struct Params { cols: u32, transposed: u32, texW: u32, texels: u32 }
@group(0) @binding(0) var src: texture_2d<f32>;
@group(0) @binding(1) var dst: texture_storage_2d<rgba32float, write>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 256;
${MAIN_1D} {
  let t = ${LINEAR_ID};
  if (t >= p.texels) { return; }
  let x = t % p.texW;
  let y = t / p.texW;
  var v: vec4<f32>;
  if (p.transposed == 0u) {
    v = textureLoad(src, vec2<u32>(x, y), 0);
  } else {
    for (var q = 0u; q < 4u; q++) { v[q] = textureLoad(src, vec2<u32>(y / 4u, 4u * x + q), 0)[y % 4u]; }
  }
  let k = vec4<u32>(4u * x) + vec4<u32>(0u, 1u, 2u, 3u);
  textureStore(dst, vec2<u32>(x, y), select(vec4<f32>(0.0), v, k < vec4<u32>(p.cols)));
}`;

// Bias and residual are read as textures too (the bias of this N chunk as one row, the residual
// rows of this M chunk from column p.resCol), and the output is stored as vec4 rows of f32
// (ldo % 4 == 0): with storage reads in its epilogue, or dynamic indexing of a tile array,
// lavapipe's first-dispatch JIT of this kernel took minutes instead of seconds.
const MAIN_HEAD = /* wgsl */ `
struct Params { M: u32, N: u32, K4: u32, flags: u32, outOffset: u32, ldo: u32, resCol: u32,
  aRows: u32, bRows: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var At: texture_2d<f32>;
@group(0) @binding(1) var Bt: texture_2d<f32>;
@group(0) @binding(2) var Bias: texture_2d<f32>;
@group(0) @binding(3) var Res: texture_2d<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> p: Params;
${EPILOGUE_WGSL}
fn biasAt4(col: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0), textureLoad(Bias, vec2<u32>(col / 4u, 0u), 0), (p.flags & 1u) != 0u);
}
fn store4(row: u32, col: u32, v: vec4<f32>) {
  if (row < p.M && col < p.N) {
    let res = textureLoad(Res, vec2<u32>((p.resCol + col) / 4u, row), 0);
    out[(p.outOffset + row * p.ldo + col) / 4u] = epilogue(v, res);
  }
}`;

/**
 * The main kernel for a tm×tn register tile (tn % 4 == 0). WGSL cannot unroll, and lavapipe
 * keeps a private array in memory, so the body is generated straight-line code: one accumulator
 * per output starting at its bias, tn texel loads of B and tm of A per K step with 4 fused
 * multiply-adds per accumulator, then one guarded vec4 store per 4 outputs. The text depends on
 * the tile only; sizes and epilogue are uniforms, so one pipeline serves every call.
 */
export function textureKernelWgsl(tm: number, tn: number): string {
  const lines: string[] = [];
  for (let j = 0; j < tn; j += 4) lines.push(`  let bias${j / 4} = biasAt4(c0 + ${j}u);`);
  for (let i = 0; i < tm; i++) {
    const init = Array.from({ length: tn }, (_, j) => `s${i}_${j} = bias${j >> 2}[${j & 3}]`);
    lines.push(`  var ${init.join("; var ")};`);
  }
  lines.push("  for (var k = 0u; k < p.K4; k++) {");
  for (let j = 0; j < tn; j++) {
    lines.push(`    let b${j} = textureLoad(Bt, vec2<u32>(k, c0 + ${j}u), 0);`);
  }
  for (let i = 0; i < tm; i++) {
    lines.push(`    let a${i} = textureLoad(At, vec2<u32>(k, r0 + ${i}u), 0);`);
    for (let j = 0; j < tn; j++) {
      const s = `s${i}_${j}`, a = `a${i}`, b = `b${j}`;
      lines.push(
        `    ${s} = fma(${a}.w, ${b}.w, fma(${a}.z, ${b}.z, fma(${a}.y, ${b}.y, fma(${a}.x, ${b}.x, ${s}))));`,
      );
    }
  }
  lines.push("  }");
  for (let i = 0; i < tm; i++) {
    for (let j = 0; j < tn; j += 4) {
      const v = [0, 1, 2, 3].map((q) => `s${i}_${j + q}`).join(", ");
      lines.push(`  store4(r0 + ${i}u, c0 + ${j}u, vec4<f32>(${v}));`);
    }
  }
  return `${MAIN_HEAD}
@compute @workgroup_size(8, 8) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  // tile origin, clamped: lanes past the edge recompute the last tile rather than diverge
  let r0 = min(g.y * ${tm}u, p.aRows - ${tm}u);
  let c0 = min(g.x * ${tn}u, p.bRows - ${tn}u);
${lines.join("\n")}
}`;
}

const warm = new WeakMap<Gpu, Set<string>>();

/** The format B is packed as per call: an f16 [N, K] weight stays f16, anything else is f32. */
function bFormat(p: MatmulProblem): GPUTextureFormat {
  return p.transB && p.b.elementBytes === 2 ? "rgba16float" : "rgba32float";
}

/** True once this device has run the main kernel with this problem's B texture format. */
export function textureKernelWarm(p: MatmulProblem): boolean {
  return warm.get(p.gpu)?.has(bFormat(p)) ?? false;
}

const mainSources = new Map<string, string>();

function mainSource(tm: number, tn: number): string {
  const key = `${tm}x${tn}`;
  let src = mainSources.get(key);
  if (!src) mainSources.set(key, src = textureKernelWgsl(tm, tn));
  return src;
}

// Copies the f32 result rows [rows, ld] into the output [rows, cols] as its dtype: used when N is
// not a multiple of 4 or the output is f16.
const FINISH_WGSL = /* wgsl */ `
struct Params { rows: u32, cols: u32, ld: u32, n: u32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<TO>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 256;
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= p.n) { return; }
  dst[i] = TO(src[(i / p.cols) * p.ld + i % p.cols]);
}`;

// --- packing

/** A texture holding rows [r0, r0 + rows) of a "rows × K" operand. */
export interface TextureChunk {
  r0: number;
  rows: number;
  texture: GPUTexture;
  view: GPUTextureView;
}

/** Where one operand's values come from: element (r, c) at `offset + r·rowStride + c·colStride`. */
interface PackSource {
  t: Tensor;
  offset: number;
  rowStride: number;
  colStride: number;
}

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

// llvmpipe JITs a new variant of a shader (seconds to tens of seconds for the main kernel) for
// every combination of bound texture formats and of "is each dimension a power of two". So every
// texture here has dimensions that are not powers of two (never 1, 2, 4, ...), and only the
// weight operand B varies in format: an f16 [N, K] weight is rgba16float (half the memory; in
// same-process A/B runs it fetched as fast as rgba32float), everything else rgba32float.

/**
 * @internal tests set small limits to exercise chunking and the K fallback: `override` for
 * maxTextureDimension2D, `bind` for maxStorageBufferBindingSize (0: the device's)
 */
export const TEXTURE_LIMIT = { override: 0, bind: 0 };

/** The largest usable texture dimension: the limit, less one if it is a power of two. */
function maxDim(gpu: Gpu): number {
  const m = TEXTURE_LIMIT.override || gpu.device.limits.maxTextureDimension2D;
  return (m & (m - 1)) === 0 ? m - 1 : m;
}

/** `n` or the next size that is not a power of two. */
function notPow2(n: number): number {
  return n <= 2 ? 3 : (n & (n - 1)) === 0 ? n + 1 : n;
}

/** Scratch texture size class: 1/8 steps of a power of two, never a power of two. */
function texClass(gpu: Gpu, n: number): number {
  const c = notPow2(heightClass(n));
  return c <= maxDim(gpu) ? c : notPow2(n);
}

/** True when rows of this length fit a texture row (4 per texel): K, and N with a residual. */
export function textureFits(gpu: Gpu, cols: number): boolean {
  return notPow2(Math.max(1, Math.ceil(cols / 4))) <= maxDim(gpu);
}

/** Records the writes of rows [r0, r0 + rows) × K of `src` into `texture` (rows padded to `pad`). */
export function recordPack(
  src: PackSource,
  r0: number,
  rows: number,
  K: number,
  pad: number,
  texture: GPUTexture,
): void {
  const { t } = src;
  if (K === 0 || rows === 0) return; // nothing is read: the K loop runs zero times
  const gpu = t.gpu;
  const eb = t.elementBytes;
  const format = texture.format as "rgba32float" | "rgba16float";
  const K4 = Math.ceil(K / 4);
  const start = src.offset + r0 * src.rowStride;
  const byteStart = t.byteOffset + start * eb;
  const rowMajor = src.colStride === 1 && src.rowStride === K;
  // the operand's rows are already texture rows: one copy
  if (rowMajor && copyable(t, byteStart, K) && (eb === 4) === (format === "rgba32float")) {
    copyRows(t, byteStart, K, rows, texture);
    return;
  }
  // copy the source as it lies into a staging texture, then retile it with texture reads
  // (transpose, f16 → f32) instead of slow storage loads
  const transposed = src.rowStride === 1 && src.colStride % 4 === 0;
  const [sw, sh] = rowMajor ? [K, rows] : [roundUp(rows, 4), K];
  const staged = (rowMajor || transposed) && Math.max(Math.ceil(sw / 4), sh) <= maxDim(gpu) &&
    copyable(t, byteStart, rowMajor ? K : src.colStride);
  if (format === "rgba32float" && staged) {
    const w4 = Math.ceil(sw / 4), sfmt = eb === 4 ? "rgba32float" : "rgba16float";
    const stage = scratchTexture(
      gpu,
      `matmul:stage:${sfmt}:${texClass(gpu, w4)}x${texClass(gpu, sh)}`,
      {
        size: [texClass(gpu, w4), texClass(gpu, sh)],
        format: sfmt,
        usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
      },
    );
    copyRows(t, byteStart, rowMajor ? K : src.colStride, sh, stage.texture, w4);
    const texels = K4 * rows;
    const program = {
      name: "matmul_retile",
      op: "matmul",
      wgsl: RETILE_WGSL,
      overrides: { WG: WG_1D },
    };
    const params = new Uint32Array([K, rowMajor ? 0 : 1, K4, texels]);
    gpu.dispatch(program, [stage.view, texture.createView()], grid1d(texels), params);
    return;
  }
  const rowsP = roundUp(Math.max(rows, 1), pad);
  const texels = K4 * rowsP;
  const params = new Uint32Array([
    rows,
    K,
    start,
    src.rowStride,
    src.colStride,
    eb === 2 ? 1 : 0,
    K4,
    texels,
  ]);
  const program = {
    name: "matmul_pack",
    op: "matmul",
    wgsl: PACK_WGSL.replace("FORMAT", format),
    overrides: { WG: WG_1D },
  };
  gpu.dispatch(program, [t, texture.createView()], grid1d(texels), params);
}

/** True when rows of `cols` elements of `t` starting at `byteStart` can be copied as texel rows. */
function copyable(t: Tensor, byteStart: number, cols: number): boolean {
  const eb = t.elementBytes;
  return cols % 4 === 0 && (cols * eb) % 256 === 0 && byteStart % (eb * 4) === 0;
}

/** Copies `rows` rows of `width4` texels (row pitch `cols` elements) into `texture`. */
function copyRows(
  t: Tensor,
  byteStart: number,
  cols: number,
  rows: number,
  texture: GPUTexture,
  width4 = cols / 4,
): void {
  const bytesPerRow = cols * t.elementBytes;
  t.gpu.recorder.encoder().copyBufferToTexture(
    { buffer: t.buffer("matmul"), offset: byteStart, bytesPerRow, rowsPerImage: rows },
    { texture },
    [width4, rows],
  );
}

/**
 * Records packing of a "rows × K" operand into textures of at most `chunk` rows each (a multiple
 * of `pad`), as rgba32float, or rgba16float for an f16-stored weight when `half`. `owned` creates
 * fresh textures (a pre-packed weight); otherwise they come from the device's scratch pool under
 * `slot`.
 */
export function packRows(
  src: PackSource,
  rows: number,
  K: number,
  pad: number,
  chunk: number,
  slot: string,
  options: { owned?: boolean; half?: boolean } = {},
): TextureChunk[] {
  const gpu = src.t.gpu;
  const owned = options.owned ?? false;
  const format = options.half && src.t.elementBytes === 2 ? "rgba16float" : "rgba32float";
  const K4 = Math.max(1, Math.ceil(K / 4));
  const out: TextureChunk[] = [];
  for (let r0 = 0, i = 0; r0 < rows; r0 += chunk, i++) {
    const n = Math.min(chunk, rows - r0);
    const h = roundUp(n, pad);
    const usage = GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING |
      GPUTextureUsage.COPY_DST;
    let texture: GPUTexture, view: GPUTextureView;
    if (owned) {
      const size = [notPow2(K4), notPow2(h)];
      texture = gpu.device.createTexture({ label: `matmul weight`, size, format, usage });
      view = texture.createView();
    } else {
      const w = texClass(gpu, K4), hc = texClass(gpu, h);
      ({ texture, view } = scratchTexture(gpu, `matmul:${slot}${i}:${format}:${w}x${hc}`, {
        size: [w, hc],
        format,
        usage,
      }));
    }
    recordPack(src, r0, n, K, pad, texture);
    out.push({ r0, rows: n, texture, view });
  }
  return out;
}

/** Rows per texture chunk for a tile dimension: the usable limit rounded down to the tile. */
export function chunkRows(gpu: Gpu, tile: number): number {
  return Math.floor((maxDim(gpu) - 1) / tile) * tile;
}

/** Pre-packs a Linear weight [N, K] (B^T rows) into owned textures (f16 storage: rgba16float). */
export function packWeightTextures(w: Tensor, tile = TEXTURE_TILE): TextureChunk[] {
  const [N, K] = w.shape;
  const src = { t: w, offset: 0, rowStride: K, colStride: 1 };
  const chunk = chunkRows(w.gpu, tile.tn);
  return packRows(src, N, K, tile.tn, chunk, "w", { owned: true, half: true });
}

// --- launch

const dummyTextures = new WeakMap<Gpu, GPUTextureView>();

/** A small texture bound in place of an absent bias or residual. */
function dummyTexture(gpu: Gpu): GPUTextureView {
  let view = dummyTextures.get(gpu);
  if (!view) {
    view = gpu.device.createTexture({
      label: "matmul no bias",
      size: [3, 3], // not powers of two, like every texture the kernel reads
      format: "rgba32float",
      usage: GPUTextureUsage.TEXTURE_BINDING,
    }).createView();
    dummyTextures.set(gpu, view);
  }
  return view;
}

/**
 * Records the texture variant for a validated problem (K, and N with a residual, must satisfy
 * `textureFits`). `packedB` supplies pre-packed B^T chunks for a broadcast weight.
 */
export function matmulTexture(
  p: MatmulProblem,
  packedB?: TextureChunk[],
  tile: { tm: number; tn: number } = TEXTURE_TILE,
): void {
  const { gpu, M, N, K } = p;
  const { tm, tn } = tile;
  if (M === 0 || N === 0 || p.batch === 0) return;
  // a broadcast B lets the batch fold into A's rows: one [batch·M, K] × [K, N] product
  const fold = p.bBatchStride === 0 && p.aBatchStride === M * K;
  const groups = fold ? 1 : p.batch;
  const rows = fold ? p.batch * M : M;
  // the kernel stores vec4 rows of f32; anything else goes through a padded f32 result
  const direct = N % 4 === 0 && p.out.elementBytes === 4;
  const ldo = roundUp(N, 4);
  const result = direct ? p.out : Tensor.empty(gpu, [p.batch * M, ldo], "f32", "matmul result");
  const program = { name: "matmul_texture", op: "matmul", wgsl: mainSource(tm, tn) };
  const flags = epilogueFlags(p);
  // an output past the binding limit is bound one M chunk at a time
  const maxBind = TEXTURE_LIMIT.bind || gpu.device.limits.maxStorageBufferBindingSize;
  const big = result.byteLength > maxBind;
  const bindRows = big ? Math.max(tm, Math.floor(maxBind / (ldo * 4) / tm) * tm) : Infinity;
  const mChunk = Math.min(chunkRows(gpu, tm), bindRows), nChunk = chunkRows(gpu, tn);
  for (let g = 0; g < groups; g++) {
    const bSrc = p.transB
      ? { t: p.b, offset: g * p.bBatchStride, rowStride: K, colStride: 1 }
      : { t: p.b, offset: g * p.bBatchStride, rowStride: 1, colStride: N };
    const bChunks = packedB ?? packRows(bSrc, N, K, tn, nChunk, "b", { half: p.transB });
    const biases = bChunks.map((b, i) => {
      if (!p.bias) return dummyTexture(gpu);
      const src = { t: p.bias, offset: b.r0, rowStride: b.rows, colStride: 1 };
      return packRows(src, 1, b.rows, 1, 1, `bias${i}`)[0].view;
    });
    for (let m0 = 0; m0 < rows; m0 += mChunk) {
      const mc = Math.min(mChunk, rows - m0);
      const aSrc = { t: p.a, offset: g * p.aBatchStride + m0 * K, rowStride: K, colStride: 1 };
      const [a] = packRows(aSrc, mc, K, tm, mChunk, "a");
      let res = dummyTexture(gpu);
      if (p.residual) {
        const src = { t: p.residual, offset: g * M * N + m0 * N, rowStride: N, colStride: 1 };
        res = packRows(src, mc, N, 1, mChunk, "res")[0].view;
      }
      let out: Binding = result, base = (g * M + m0) * ldo;
      if (big && (base * 4) % gpu.device.limits.minStorageBufferOffsetAlignment === 0) {
        const buffer = result.buffer("matmul");
        out = { buffer, offset: result.byteOffset + base * 4, size: mc * ldo * 4 };
        base = 0;
      }
      bChunks.forEach((b, i) => {
        const outOffset = base + b.r0;
        const params = new Uint32Array([
          mc,
          b.rows,
          Math.ceil(K / 4),
          flags,
          outOffset,
          ldo,
          b.r0,
          roundUp(mc, tm),
          roundUp(b.rows, tn),
          0,
          0,
          0,
        ]);
        const grid: [number, number] = [
          Math.ceil(Math.ceil(b.rows / tn) / 8),
          Math.ceil(Math.ceil(mc / tm) / 8),
        ];
        gpu.dispatch(program, [a.view, b.view, biases[i], res, out], grid, params);
        if (!warm.has(gpu)) warm.set(gpu, new Set());
        warm.get(gpu)!.add(b.texture.format);
      });
    }
  }
  if (result !== p.out) {
    const n = p.batch * M * N;
    const finish = {
      name: "matmul_finish",
      op: "matmul",
      wgsl: withTypes(gpu, FINISH_WGSL, { TO: p.out.dtype }),
      overrides: { WG: WG_1D },
    };
    gpu.dispatch(finish, [result, p.out], grid1d(n), new Uint32Array([p.batch * M, N, ldo, n]));
    result.dispose(); // later launches run after this one, so the pool may reuse it
  }
}
