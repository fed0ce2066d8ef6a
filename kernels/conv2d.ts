// 2-D convolution for NCHW tensors (the SD VAE and PixArt's patch embedding): any kernel size,
// stride, and zero padding per side (the encoder's Downsample2D pads right and bottom only),
// with an optional nearest-2x upsample of the input (Upsample2D), bias and residual add fused.
// CPU twin in conv2d_ref.ts. Layout: x [B, Cin, H, W], weight [Cout, Cin, KH, KW] (PyTorch's),
// output [B, Cout, Ho, Wo]; accumulation in f32, storage f32 or f16. Variants:
// - "texture_tiled" (CPU adapters): implicit GEMM over packed textures, see conv2d_texture.ts;
// - "buffer_tiled" (GPUs, and shapes past the texture limits): storage buffers, 4 pixels × 4
//   output channels per thread, bounds-checked taps.

import { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";
import { formatShape } from "../tensor/shape.ts";
import { grid1d, LINEAR_ID, MAIN_1D, withTypes } from "./_wgsl.ts";
import { type KernelVariant, pickVariant } from "./_variant.ts";
import { conv2dTexture } from "./conv2d_texture.ts";

/** Everything that sizes one convolution (source dims are before the optional upsample). */
export interface ConvGeometry {
  batch: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  kh: number;
  kw: number;
  stride: number;
  top: number;
  bottom: number;
  left: number;
  right: number;
  upsample: boolean;
  ho: number;
  wo: number;
}

/** Options of `conv2d`. */
export interface Conv2dOptions {
  /** Stride in both directions (default 1). */
  stride?: number;
  /** Zero padding: one value for all sides, or [top, bottom, left, right] (default 0). */
  padding?: number | readonly [number, number, number, number];
  /** Upsample the input 2x (nearest) before convolving, as Upsample2D does (default false). */
  upsample?: boolean;
  /** Added to the output (same shape and dtype), e.g. a resnet's shortcut. */
  residual?: Tensor;
}

const BUFFER_TILED = /* wgsl */ `
struct Params { cin: u32, h: u32, w: u32, cout: u32, kh: u32, kw: u32, stride: u32, top: u32,
  left: u32, ho: u32, wo: u32, up: u32, tilesX: u32, tiles: u32, bias: u32, res: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> wt: array<W>;
@group(0) @binding(2) var<storage, read> bias: array<B>;
@group(0) @binding(3) var<storage, read> res: array<T>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;
@group(0) @binding(5) var<uniform> p: Params;
override WG: u32 = 64;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.tiles) { return; }
  let ox0 = (gid.x % p.tilesX) * 4u;
  let co0 = (gid.x / p.tilesX) * 4u;
  let oy = gid.y;
  let b = gid.z;
  let sh = i32(p.h << p.up);
  let sw = i32(p.w << p.up);
  var acc: array<vec4<f32>, 4>; // [pixel] -> 4 output channels
  for (var ci = 0u; ci < p.cin; ci++) {
    let plane = (b * p.cin + ci) * p.h;
    for (var ky = 0u; ky < p.kh; ky++) {
      let uy = i32(oy * p.stride + ky) - i32(p.top);
      if (uy < 0 || uy >= sh) { continue; }
      let row = (plane + (u32(uy) >> p.up)) * p.w;
      for (var kx = 0u; kx < p.kw; kx++) {
        var wv = vec4<f32>(0.0);
        for (var q = 0u; q < 4u; q++) {
          let co = co0 + q;
          if (co < p.cout) { wv[q] = f32(wt[((co * p.cin + ci) * p.kh + ky) * p.kw + kx]); }
        }
        for (var i = 0u; i < 4u; i++) {
          let ux = i32((ox0 + i) * p.stride + kx) - i32(p.left);
          if (ux >= 0 && ux < sw) { acc[i] += f32(x[row + (u32(ux) >> p.up)]) * wv; }
        }
      }
    }
  }
  for (var q = 0u; q < 4u; q++) {
    let co = co0 + q;
    if (co >= p.cout) { return; }
    var add = 0.0;
    if (p.bias != 0u) { add = f32(bias[co]); }
    let row = ((b * p.cout + co) * p.ho + oy) * p.wo;
    for (var i = 0u; i < 4u; i++) {
      let ox = ox0 + i;
      if (ox < p.wo) {
        var v = acc[i][q] + add;
        if (p.res != 0u) { v += f32(res[row + ox]); }
        y[row + ox] = T(v);
      }
    }
  }
}`;

/** conv2d variants, in order of preference. */
export const CONV2D_VARIANTS: readonly KernelVariant[] = [
  { name: "texture_tiled", suits: ["cpu"] },
  { name: "buffer_tiled", suits: ["gpu"] },
];

function fail(x: Tensor, weight: Tensor, why: string): never {
  throw new TypeError(`Cannot conv2d x ${x} with weight ${weight}: ${why}`);
}

/** Validates the operands and options and returns the geometry. */
export function convGeometry(x: Tensor, weight: Tensor, options: Conv2dOptions): ConvGeometry {
  if (!isFloat(x.dtype) || !isFloat(weight.dtype)) fail(x, weight, "expected float tensors");
  if (x.shape.length !== 4) fail(x, weight, "expected x [B, Cin, H, W]");
  if (weight.shape.length !== 4) fail(x, weight, "expected weight [Cout, Cin, KH, KW]");
  const [batch, cin, h, w] = x.shape, [cout, wcin, kh, kw] = weight.shape;
  if (wcin !== cin) fail(x, weight, `weight has ${wcin} input channels, x has ${cin}`);
  const { stride = 1, padding = 0, upsample = false } = options;
  if (!Number.isInteger(stride) || stride < 1) {
    throw new RangeError(`Cannot conv2d with stride ${stride}: expected an integer >= 1`);
  }
  const pad = typeof padding === "number" ? [padding, padding, padding, padding] : padding;
  if (pad.length !== 4 || pad.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new RangeError(
      `Cannot conv2d with padding ${JSON.stringify(padding)}: expected an integer >= 0 or ` +
        `[top, bottom, left, right]`,
    );
  }
  const [top, bottom, left, right] = pad;
  const up = upsample ? 2 : 1;
  const ho = Math.floor((h * up + top + bottom - kh) / stride) + 1;
  const wo = Math.floor((w * up + left + right - kw) / stride) + 1;
  if (!(ho >= 1 && wo >= 1) || kh < 1 || kw < 1 || cout < 1 || cin < 1) {
    throw new RangeError(
      `Cannot conv2d x ${x} with weight ${weight}, stride ${stride}, padding ` +
        `[${pad.join(", ")}]${upsample ? ", upsample" : ""}: the output would be empty`,
    );
  }
  return { batch, cin, h, w, cout, kh, kw, stride, top, bottom, left, right, upsample, ho, wo };
}

/**
 * 2-D convolution (cross-correlation, as PyTorch's Conv2d) of NCHW `x`, with optional bias,
 * nearest-2x upsample of the input and residual add fused.
 *
 * @param x input [B, Cin, H, W], f32 or f16 (the output has its dtype)
 * @param weight [Cout, Cin, KH, KW], f32 or f16
 * @param bias optional [Cout], f32 or f16
 * @param options stride, padding (number or [top, bottom, left, right]), upsample, residual
 * @returns [B, Cout, Ho, Wo] with Ho = floor((H·up + top + bottom - KH) / stride) + 1
 * @example
 * ```ts ignore
 * const h = conv2d(x, conv1.weight, conv1.bias, { padding: 1 });                  // 3x3, same size
 * const d = conv2d(x, down.weight, down.bias, { stride: 2, padding: [0, 1, 0, 1] }); // Downsample2D
 * const u = conv2d(x, up.weight, up.bias, { padding: 1, upsample: true });       // Upsample2D
 * ```
 */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor,
  options: Conv2dOptions = {},
): Tensor {
  const g = convGeometry(x, weight, options);
  if (bias && (bias.size !== g.cout || bias.shape.length !== 1 || !isFloat(bias.dtype))) {
    throw new TypeError(
      `Cannot conv2d with bias ${bias}: expected ${g.cout} floats, shape [${g.cout}]`,
    );
  }
  const outShape = [g.batch, g.cout, g.ho, g.wo];
  const residual = options.residual;
  if (
    residual &&
    (residual.dtype !== x.dtype || formatShape(residual.shape) !== formatShape(outShape))
  ) {
    throw new TypeError(
      `Cannot conv2d with residual ${residual}: expected ${formatShape(outShape)} ${x.dtype}`,
    );
  }
  const gpu = x.gpu;
  const out = Tensor.empty(gpu, outShape, x.dtype, "conv2d");
  const v = pickVariant(gpu, "conv2d", CONV2D_VARIANTS);
  if (v.name === "texture_tiled" && conv2dTexture(x, weight, bias, residual, out, g)) return out;
  const tilesX = Math.ceil(g.wo / 4), tiles = tilesX * Math.ceil(g.cout / 4);
  gpu.dispatch(
    {
      name: "conv2d_buffer",
      op: "conv2d",
      wgsl: withTypes(gpu, BUFFER_TILED, { T: x.dtype, W: weight.dtype, B: (bias ?? x).dtype }),
      overrides: { WG: 64 },
    },
    [x, weight, bias ?? x, residual ?? x, out],
    [Math.ceil(tiles / 64), g.ho, g.batch],
    new Uint32Array([
      g.cin,
      g.h,
      g.w,
      g.cout,
      g.kh,
      g.kw,
      g.stride,
      g.top,
      g.left,
      g.ho,
      g.wo,
      g.upsample ? 1 : 0,
      tilesX,
      tiles,
      bias ? 1 : 0,
      residual ? 1 : 0,
    ]),
  );
  return out;
}

const UPSAMPLE = /* wgsl */ `
struct Params { rows: u32, w: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 64;
${MAIN_1D} {
  let r = ${LINEAR_ID}; // output row (b, c, Y)
  if (r >= p.rows) { return; }
  let s = (r / 2u) * p.w; // row r = plane·2H + Y reads plane·H + Y/2 = r/2
  let o = r * 2u * p.w;
  for (var i = 0u; i < p.w; i++) {
    let v = x[s + i];
    y[o + 2u * i] = v;
    y[o + 2u * i + 1u] = v;
  }
}`;

/**
 * Nearest-neighbour 2x upsample of NCHW `x` (diffusers' `F.interpolate(scale_factor=2.0,
 * mode="nearest")`). Prefer `conv2d(..., { upsample: true })`, which never materialises it.
 *
 * @param x input [B, C, H, W]
 * @returns [B, C, 2H, 2W] of x's dtype
 * @example
 * ```ts ignore
 * const u = upsampleNearest2x(x); // [1, 512, 64, 64] -> [1, 512, 128, 128]
 * ```
 */
export function upsampleNearest2x(x: Tensor): Tensor {
  if (x.shape.length !== 4) {
    throw new TypeError(`Cannot upsampleNearest2x x ${x}: expected [B, C, H, W]`);
  }
  const [b, c, h, w] = x.shape;
  const out = Tensor.empty(x.gpu, [b, c, 2 * h, 2 * w], x.dtype, "upsampleNearest2x");
  const rows = b * c * 2 * h;
  x.gpu.dispatch(
    { name: "upsample_nearest2x", wgsl: withTypes(x.gpu, UPSAMPLE, { T: x.dtype }) },
    [x, out],
    grid1d(rows, 64),
    new Uint32Array([rows, w, 0, 0]),
  );
  return out;
}
