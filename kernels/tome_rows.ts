// Row access shared by the ToMe kernels (tome_plan.ts, tome_merge.ts): WGSL helpers that read 4
// channels of a token row and write 4 channels of an output row, and the per-adapter choice of how
// rows are read. On lavapipe a storage-buffer load is a per-lane scalar loop with bounds checks and a
// texel fetch is not, so the "texture" variant first copies the [B, rows, C] tensor into an
// rgba32float (rgba16float for f16 storage) array texture, one layer per batch row (a plain copy,
// ~12 ms for 4096x1152 f32) and gathers rows with textureLoad: 2-3x faster there. GPUs read the
// buffer directly ("storage").

import type { Gpu } from "../tensor/device.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { KernelVariant } from "./_variant.ts";

/** How the ToMe kernels read token rows. */
export const TOME_READ_VARIANTS: readonly KernelVariant[] = [
  { name: "texture", suits: ["cpu"] },
  { name: "storage", suits: ["gpu"] },
];

/** Where a kernel reads rows from: a texture view, or the tensor with vec4 or scalar loads. */
export type RowSource =
  | { kind: "texture"; view: GPUTextureView }
  | { kind: "vec4" | "scalar"; tensor: Tensor };

const cache = new WeakMap<Gpu, Map<string, GPUTexture>>();

/**
 * A cached texture of at least the given size, grown on demand. Not counted by `gpu.memory()`.
 * Recorded work may still read the old one, so growing submits it before freeing the old texture.
 */
export function scratchTexture(
  gpu: Gpu,
  key: string,
  format: GPUTextureFormat,
  size: [number, number, number],
  usage: number,
): GPUTexture {
  let map = cache.get(gpu);
  if (!map) cache.set(gpu, map = new Map());
  const old = map.get(key);
  const [w, h, layers] = size;
  if (old && old.width >= w && old.height >= h && old.depthOrArrayLayers >= layers) return old;
  if (old) {
    gpu.flush();
    old.destroy();
  }
  const tex = gpu.device.createTexture({
    label: `tome ${key}`,
    size: [
      Math.max(w, old?.width ?? 1),
      Math.max(h, old?.height ?? 1),
      Math.max(layers, old?.depthOrArrayLayers ?? 1),
    ],
    format,
    usage,
  });
  map.set(key, tex);
  return tex;
}

/**
 * How to read the rows of `t` [B, rows, C] under `variant`: through a texture copy where the
 * variant asks for it and the layout allows (row bytes a multiple of 256, aligned offset, sizes
 * within the texture limits), else from the buffer.
 */
export function rowSource(t: Tensor, variant: string, key: string): RowSource {
  const gpu = t.gpu, [batch, rows, c] = t.shape;
  const lim = gpu.device.limits;
  const bpe = t.elementBytes, format = bpe === 2 ? "rgba16float" : "rgba32float";
  if (
    variant === "texture" && c % 4 === 0 && (c * bpe) % 256 === 0 && t.byteOffset % 16 === 0 &&
    c / 4 <= lim.maxTextureDimension2D && rows <= lim.maxTextureDimension2D &&
    batch <= lim.maxTextureArrayLayers && rows > 0 && batch > 0
  ) {
    const usage = GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST;
    const tex = scratchTexture(gpu, `${key} ${format}`, format, [c / 4, rows, batch], usage);
    gpu.recorder.encoder().copyBufferToTexture(
      { buffer: t.buffer(key), offset: t.byteOffset, bytesPerRow: c * bpe, rowsPerImage: rows },
      { texture: tex },
      [c / 4, rows, batch],
    );
    return { kind: "texture", view: tex.createView({ dimension: "2d-array" }) };
  }
  return { kind: c % 4 === 0 ? "vec4" : "scalar", tensor: t };
}

/** The binding for a row source. */
export function rowBinding(s: RowSource): GPUTextureView | Tensor {
  return s.kind === "texture" ? s.view : s.tensor;
}

/**
 * WGSL declaring `NAME` at `binding` and `ld4(b, row, k) -> vec4f`: channels 4k..4k+3 of token
 * `row` of batch row `b` as f32 (zeros past `p.c`). `rowsPerBatch` is the WGSL expression of the
 * tensor's row count; the kernel's uniform struct `p` must hold `c`.
 */
export function rowReader(
  s: RowSource,
  name: string,
  binding: number,
  rowsPerBatch: string,
): string {
  const at = `@group(0) @binding(${binding})`;
  if (s.kind === "texture") {
    return /* wgsl */ `
${at} var ${name}: texture_2d_array<f32>;
fn ld4(b: u32, row: u32, k: u32) -> vec4f { return textureLoad(${name}, vec2u(k, row), b, 0); }`;
  }
  if (s.kind === "vec4") {
    return /* wgsl */ `
${at} var<storage, read> ${name}: array<vec4<T>>;
fn ld4(b: u32, row: u32, k: u32) -> vec4f {
  return vec4f(${name}[(b * ${rowsPerBatch} + row) * (p.c / 4u) + k]);
}`;
  }
  return /* wgsl */ `
${at} var<storage, read> ${name}: array<T>;
fn ld1(i: u32, c: u32) -> f32 { return select(0.0, f32(${name}[i + min(c, p.c - 1u)]), c < p.c); }
fn ld4(b: u32, row: u32, k: u32) -> vec4f {
  let i = (b * ${rowsPerBatch} + row) * p.c;
  return vec4f(ld1(i, k * 4u), ld1(i, k * 4u + 1u), ld1(i, k * 4u + 2u), ld1(i, k * 4u + 3u));
}`;
}

/**
 * WGSL declaring the output `out: array<T>` at `binding` and `st4(base, k, v)`, which writes
 * channels 4k..4k+3 of the row starting at element `base` (one vec4 store when C % 4 = 0).
 */
export function rowWriter(binding: number, vec: boolean): string {
  const at = `@group(0) @binding(${binding})`;
  return vec
    ? /* wgsl */ `
${at} var<storage, read_write> out: array<vec4<T>>;
fn st4(base: u32, k: u32, v: vec4f) { out[base / 4u + k] = vec4<T>(v); }`
    : /* wgsl */ `
${at} var<storage, read_write> out: array<T>;
fn st4(base: u32, k: u32, v: vec4f) {
  for (var q = 0u; q < 4u; q++) { if (k * 4u + q < p.c) { out[base + k * 4u + q] = T(v[q]); } }
}`;
}

/** Frees the ToMe kernels' cached textures on `gpu` (after the work that used them is submitted). */
export function releaseTomeTextures(gpu: Gpu): void {
  const map = cache.get(gpu);
  if (!map) return;
  gpu.flush();
  for (const tex of map.values()) tex.destroy();
  cache.delete(gpu);
}
