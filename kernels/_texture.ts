// Tensors as rgba textures for CPU adapters: on lavapipe a `textureLoad` of an rgba32float texel
// is ~3x cheaper than a storage-buffer load (see shared/peers/README.md), so the CPU variants of
// the norm and conv kernels copy their inputs into textures first (a copy runs at memcpy speed).
// Scratch textures are pooled per device by shape and reused by later launches, which is safe
// because commands run in recording order; one launch reading several textures uses one slot each.

import type { Gpu } from "../tensor/device.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";

/** Texels per row of a flat texture: element `4·i + k` sits in texel `(i % 4096, i / 4096)`. */
export const FLAT_WIDTH = 4096;

const pools = new WeakMap<Gpu, Map<string, { texture: GPUTexture; view: GPUTextureView }>>();

/**
 * A pooled texture for `key` (the caller's layout name plus everything that sizes it); created on
 * first use with `desc` (and its view with `viewDesc`). Its contents are whatever the last user
 * wrote.
 */
export function scratchTexture(
  gpu: Gpu,
  key: string,
  desc: GPUTextureDescriptor,
  viewDesc?: GPUTextureViewDescriptor,
): { texture: GPUTexture; view: GPUTextureView } {
  let pool = pools.get(gpu);
  if (!pool) pools.set(gpu, pool = new Map());
  let hit = pool.get(key);
  if (!hit) {
    const texture = gpu.device.createTexture({ label: key, ...desc });
    hit = { texture, view: texture.createView(viewDesc) };
    pool.set(key, hit);
  }
  return hit;
}

/** Frees every pooled scratch texture of `gpu` (after the work that used them is submitted). */
export function releaseScratchTextures(gpu: Gpu): void {
  const pool = pools.get(gpu);
  if (!pool) return;
  gpu.flush();
  for (const { texture } of pool.values()) texture.destroy();
  pool.clear();
}

/** The texel format holding 4 elements of a float tensor as stored (f16 storage: rgba16float). */
export function texelFormat(t: Tensor): "rgba32float" | "rgba16float" {
  return t.elementBytes === 2 ? "rgba16float" : "rgba32float";
}

/** Rounds a texture height up to 1/8 steps of its power of two (at most 12.5% slack). */
export function heightClass(h: number): number {
  if (h <= 8) return Math.max(1, h);
  const step = 2 ** (Math.ceil(Math.log2(h)) - 3);
  return Math.ceil(h / step) * step;
}

/**
 * Records a copy of `t` into a flat scratch texture (`slot` tells apart textures one launch reads)
 * and returns its view, or null when `t` cannot be copied that way: not float, size not a multiple
 * of 4, a view offset that is not texel-aligned, or too large for one texture.
 */
export function flatTexture(t: Tensor, slot: number): GPUTextureView | null {
  const gpu = t.gpu;
  const tb = 4 * t.elementBytes;
  if (!isFloat(t.dtype) || t.size === 0 || t.size % 4 !== 0 || t.byteOffset % tb !== 0) {
    return null;
  }
  const n4 = t.size / 4;
  const rows = Math.ceil(n4 / FLAT_WIDTH), h = heightClass(rows);
  if (h > gpu.device.limits.maxTextureDimension2D) return null;
  const format = texelFormat(t);
  const { texture, view } = scratchTexture(gpu, `flat:${format}:${h}:${slot}`, {
    size: [FLAT_WIDTH, h],
    format,
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
  });
  const buffer = t.buffer("copy to texture");
  const enc = gpu.recorder.encoder();
  const full = Math.floor(n4 / FLAT_WIDTH), rest = n4 % FLAT_WIDTH;
  if (full > 0) {
    enc.copyBufferToTexture(
      { buffer, offset: t.byteOffset, bytesPerRow: FLAT_WIDTH * tb, rowsPerImage: full },
      { texture },
      [FLAT_WIDTH, full],
    );
  }
  if (rest > 0) {
    enc.copyBufferToTexture(
      { buffer, offset: t.byteOffset + full * FLAT_WIDTH * tb },
      { texture, origin: [0, full] },
      [rest, 1],
    );
  }
  return view;
}

/** WGSL: texel `i` of a flat texture (see FLAT_WIDTH). */
export const FLAT_LOAD = /* wgsl */ `
fn texel(t: texture_2d<f32>, i: u32) -> vec4<f32> {
  return textureLoad(t, vec2<u32>(i & 4095u, i >> 12u), 0);
}`;
