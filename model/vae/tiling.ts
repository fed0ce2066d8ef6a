// Tiled VAE encode/decode as diffusers AutoencoderKL enable_tiling() does it (autoencoder_kl.py
// `_tiled_encode`, `tiled_decode`, `blend_v`, `blend_h`): overlapping tiles run one at a time, each
// blended with its upper and left neighbours over `extent` rows/columns, then cropped to `rowLimit`.
// Memory stays bounded: a tile's activations are freed before the next tile, and only the trailing
// strips its neighbours still need (a row of bottom strips, one right strip) outlive it. CPU twins
// in tiling_ref.ts.

import { Tensor } from "../../tensor/tensor.ts";
import { scope } from "../../tensor/scope.ts";
import { formatShape } from "../../tensor/shape.ts";
import { grid1d, LINEAR_ID, MAIN_1D, WG_1D, withTypes } from "../../kernels/_wgsl.ts";

/** When AutoencoderKL tiles: "auto" above `threshold`, "always", or "never". */
export type VaeTilingMode = "auto" | "always" | "never";

/** Tiling settings (diffusers `enable_tiling()` attributes); every field is optional. */
export interface VaeTilingOptions {
  /** "auto" (default) tiles an image whose height or width exceeds `threshold` pixels. */
  mode?: VaeTilingMode;
  /** Tile side in pixels (diffusers `tile_sample_min_size`), a multiple of the VAE scale; 512. */
  tileSampleMinSize?: number;
  /** Share of a tile blended with its neighbours (`tile_overlap_factor`), in [0, 0.5]; 0.25. */
  tileOverlapFactor?: number;
  /**
   * "auto" tiles when a side exceeds this many pixels; default `DEFAULT_TILE_THRESHOLD` (1024), so
   * PixArt-1024-MS images decode untiled, without seams, and only larger ones are tiled.
   */
  threshold?: number;
}

/** Resolved tiling settings. */
export interface VaeTiling {
  mode: VaeTilingMode;
  tileSampleMinSize: number;
  tileOverlapFactor: number;
  threshold: number;
}

/** Default tile side in pixels (the PixArt-512 image side). */
export const DEFAULT_TILE_SAMPLE_SIZE = 512;
/** Default side above which "auto" tiles (the PixArt-1024-MS image side). */
export const DEFAULT_TILE_THRESHOLD = 1024;

/** Fills defaults and checks the settings against the VAE scale; RangeError when they are bad. */
export function resolveVaeTiling(options: VaeTilingOptions, scale: number): VaeTiling {
  const mode = options.mode ?? "auto";
  const size = options.tileSampleMinSize ?? DEFAULT_TILE_SAMPLE_SIZE;
  const f = options.tileOverlapFactor ?? 0.25;
  const threshold = options.threshold ?? DEFAULT_TILE_THRESHOLD;
  if (!["auto", "always", "never"].includes(mode)) {
    throw new RangeError(`Cannot tile the VAE: mode "${mode}" is not "auto", "always" or "never"`);
  }
  if (!Number.isInteger(size) || size <= 0 || size % scale !== 0) {
    throw new RangeError(
      `Cannot tile the VAE: tileSampleMinSize ${size} is not a positive multiple of the VAE scale ${scale}`,
    );
  }
  if (!(f >= 0 && f <= 0.5)) {
    throw new RangeError(`Cannot tile the VAE: tileOverlapFactor ${f} is outside [0, 0.5]`);
  }
  if (!(threshold >= 0)) {
    throw new RangeError(`Cannot tile the VAE: threshold ${threshold} is not a size in pixels`);
  }
  const enc = encodeGeometry(size, f, scale), dec = decodeGeometry(size, f, scale);
  // diffusers' crops add up to the image only when the pixel and latent grids agree
  if (enc.stride * enc.outScale !== enc.rowLimit || dec.stride * dec.outScale !== dec.rowLimit) {
    throw new RangeError(
      `Cannot tile the VAE: tileOverlapFactor ${f} on ${size}-pixel tiles gives a stride of ` +
        `${enc.stride} pixels and ${dec.stride} latents, which do not line up at scale ${scale} ` +
        `(the overlap must be a whole number of latents, e.g. 0.25)`,
    );
  }
  return { mode, tileSampleMinSize: size, tileOverlapFactor: f, threshold };
}

/** Whether `tiling` tiles an image of `height` × `width` pixels. */
export function usesTiles(tiling: VaeTiling, height: number, width: number): boolean {
  if (tiling.mode !== "auto") return tiling.mode === "always";
  return height > tiling.threshold || width > tiling.threshold;
}

// --- tile grid

/** How tiles of one direction (encode or decode) are laid out, in input units. */
export interface TileGeometry {
  /** Tile side in input units. */
  tile: number;
  /** Step between tile starts in input units. */
  stride: number;
  /** Output rows/columns blended between neighbours. */
  extent: number;
  /** Output rows/columns a full tile keeps. */
  rowLimit: number;
  /** Output units per input unit (scale to decode, 1/scale to encode). */
  outScale: number;
}

/** Encode geometry: pixel tiles, latent blending (diffusers `_tiled_encode`). */
export function encodeGeometry(size: number, f: number, scale: number): TileGeometry {
  const latent = size / scale, extent = Math.trunc(latent * f);
  const stride = Math.trunc(size * (1 - f));
  return { tile: size, stride, extent, rowLimit: latent - extent, outScale: 1 / scale };
}

/** Decode geometry: latent tiles, pixel blending (diffusers `tiled_decode`). */
export function decodeGeometry(size: number, f: number, scale: number): TileGeometry {
  const latent = size / scale, extent = Math.trunc(size * f);
  const stride = Math.trunc(latent * (1 - f));
  return { tile: latent, stride, extent, rowLimit: size - extent, outScale: scale };
}

/** One tile along an axis. */
export interface AxisTile {
  /** First input row/column. */
  inStart: number;
  /** Input rows/columns (clipped at the edge). */
  inLen: number;
  /** Output rows/columns the tile produces. */
  outLen: number;
  /** First output row/column it owns. */
  outStart: number;
  /** Output rows/columns it owns: min(rowLimit, outLen). */
  keep: number;
  /** Leading rows/columns blended with the previous tile (0 for the first). */
  blend: number;
  /** Trailing rows/columns the next tile blends with (0 for the last). */
  tail: number;
}

/** Tiles along an axis of `size` input units: starts 0, stride, … below size, as diffusers. */
export function axisTiles(size: number, g: TileGeometry): AxisTile[] {
  const out: AxisTile[] = [];
  let outStart = 0;
  for (let s = 0; s < size; s += g.stride) {
    const inLen = Math.min(g.tile, size - s), outLen = inLen * g.outScale;
    if (!Number.isInteger(outLen)) {
      throw new RangeError(
        `Cannot tile the VAE: a tile of ${inLen} rows does not map to whole rows at scale ${g.outScale}`,
      );
    }
    const prev = out[out.length - 1];
    const blend = prev ? Math.min(prev.outLen, outLen, g.extent) : 0;
    const keep = Math.min(g.rowLimit, outLen);
    out.push({ inStart: s, inLen, outLen, outStart, keep, blend, tail: 0 });
    if (prev) prev.tail = Math.min(prev.outLen, g.extent);
    outStart += keep;
  }
  return out;
}

// --- kernels

const CROP_WGSL = /* wgsl */ `
struct Params { n: u32, h: u32, w: u32, inH: u32, inW: u32, top: u32, left: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 256;
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= p.n) { return; }
  let col = i % p.w;
  let rest = i / p.w;
  y[i] = x[((rest / p.h) * p.inH + p.top + rest % p.h) * p.inW + p.left + col];
}`;

// Thread per tile element: blend_v with the upper tile's bottom strip, then blend_h with the left
// tile's right strip (both already blended, as diffusers' in-place updates leave them), then write
// the cropped part into the output and the trailing rows/columns into the next strips.
const BLEND_WGSL = /* wgsl */ `
struct Params { n: u32, th: u32, tw: u32, ev: u32, av: u32, eh: u32, ah: u32, keepH: u32,
  keepW: u32, outH: u32, outW: u32, oy: u32, ox: u32, tailV: u32, tailH: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> tile: array<T>;
@group(0) @binding(1) var<storage, read> above: array<T>;
@group(0) @binding(2) var<storage, read> before: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
@group(0) @binding(4) var<storage, read_write> below: array<T>;
@group(0) @binding(5) var<storage, read_write> after: array<T>;
@group(0) @binding(6) var<uniform> p: Params;
override WG: u32 = 256;
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= p.n) { return; }
  let c = i % p.tw;
  let rest = i / p.tw;
  let r = rest % p.th;
  let plane = rest / p.th;
  var v = f32(tile[i]);
  if (r < p.ev) {
    let t = f32(r) / f32(p.ev);
    v = f32(above[(plane * p.av + p.av - p.ev + r) * p.tw + c]) * (1.0 - t) + v * t;
  }
  if (c < p.eh) {
    let t = f32(c) / f32(p.eh);
    v = f32(before[(plane * p.th + r) * p.ah + p.ah - p.eh + c]) * (1.0 - t) + v * t;
  }
  if (r < p.keepH && c < p.keepW) { y[(plane * p.outH + p.oy + r) * p.outW + p.ox + c] = T(v); }
  if (r + p.tailV >= p.th) { below[(plane * p.tailV + r + p.tailV - p.th) * p.tw + c] = T(v); }
  if (c + p.tailH >= p.tw) { after[(plane * p.th + r) * p.tailH + c + p.tailH - p.tw] = T(v); }
}`;

/** The window `[top, top + height) × [left, left + width)` of `x` [..., H, W] (a copy). */
export function cropTile(
  x: Tensor,
  top: number,
  left: number,
  height: number,
  width: number,
): Tensor {
  const [inH, inW] = x.shape.slice(-2);
  if (x.shape.length < 2 || top < 0 || left < 0 || top + height > inH || left + width > inW) {
    throw new RangeError(
      `Cannot crop ${height}x${width} at (${top}, ${left}) from tensor ${formatShape(x.shape)}`,
    );
  }
  const gpu = x.gpu;
  const out = Tensor.empty(gpu, [...x.shape.slice(0, -2), height, width], x.dtype, "crop_tile");
  const program = {
    name: "crop_tile",
    wgsl: withTypes(gpu, CROP_WGSL, { T: x.dtype }),
    overrides: { WG: WG_1D },
  };
  const p = new Uint32Array([out.size, height, width, inH, inW, top, left, 0]);
  if (out.size > 0) gpu.dispatch(program, [x, out], grid1d(out.size), p);
  return out;
}

/** Strips a tile leaves for its neighbours: its bottom rows and its right columns. */
export interface TileStrips {
  below?: Tensor;
  after?: Tensor;
}

/**
 * Blends `tile` [B, C, th, tw] (the outputs of tile `row`, `col`) with the strips of its upper and
 * left neighbours, writes its kept part into `out` [B, C, H, W], and returns its own strips.
 */
export function blendTile(
  tile: Tensor,
  out: Tensor,
  row: AxisTile,
  col: AxisTile,
  neighbours: { above?: Tensor; before?: Tensor },
): TileStrips {
  const [b, c, th, tw] = tile.shape, [, , outH, outW] = out.shape;
  const fits = tile.shape.length === 4 && out.shape.length === 4 && out.shape[0] === b &&
    out.shape[1] === c && th === row.outLen && tw === col.outLen;
  if (!fits) {
    throw new RangeError(
      `Cannot blend tile ${formatShape(tile.shape)} into ${formatShape(out.shape)}: ` +
        `expected [${out.shape[0]}, ${out.shape[1]}, ${row.outLen}, ${col.outLen}]`,
    );
  }
  const gpu = tile.gpu, dtype = tile.dtype;
  const strip = (shape: number[], n: number) =>
    Tensor.empty(gpu, n > 0 ? shape : [1], dtype, "tile_strip");
  const below = strip([b, c, row.tail, tw], row.tail);
  const after = strip([b, c, th, col.tail], col.tail);
  const { above, before } = neighbours;
  const ev = above ? row.blend : 0, eh = before ? col.blend : 0;
  const av = above ? above.shape[2] : 0, ah = before ? before.shape[3] : 0;
  const program = {
    name: "blend_tile",
    wgsl: withTypes(gpu, BLEND_WGSL, { T: dtype }),
    overrides: { WG: WG_1D },
  };
  const p = new Uint32Array([
    ...[tile.size, th, tw, ev, av, eh, ah, row.keep],
    ...[col.keep, outH, outW, row.outStart, col.outStart, row.tail, col.tail, 0],
  ]);
  const bindings = [tile, above ?? tile, before ?? tile, out, below, after];
  if (tile.size > 0) gpu.dispatch(program, bindings, grid1d(tile.size), p);
  if (row.tail === 0) below.dispose();
  if (col.tail === 0) after.dispose();
  return { below: row.tail > 0 ? below : undefined, after: col.tail > 0 ? after : undefined };
}

/**
 * Runs `fn` on each tile of `x` [B, C, H, W] in row-major order and stitches the blended results
 * into one tensor; each call's intermediates are freed (and its work submitted) before the next.
 */
export function runTiled(
  x: Tensor,
  geometry: TileGeometry,
  fn: (tile: Tensor, row: number, col: number) => Tensor,
): Tensor {
  const [, , h, w] = x.shape;
  if (x.shape.length !== 4 || !(h > 0 && w > 0)) {
    throw new RangeError(
      `Cannot tile tensor ${formatShape(x.shape)}: expected a non-empty [B, C, H, W]`,
    );
  }
  const rows = axisTiles(h, geometry), cols = axisTiles(w, geometry);
  const outH = rows[rows.length - 1].outStart + rows[rows.length - 1].keep;
  const outW = cols[cols.length - 1].outStart + cols[cols.length - 1].keep;
  let out: Tensor | undefined, before: Tensor | undefined;
  const above: (Tensor | undefined)[] = cols.map(() => undefined);
  try {
    for (let i = 0; i < rows.length; i++) {
      for (let j = 0; j < cols.length; j++) {
        const r = rows[i], c = cols[j];
        const step = scope(() => {
          const y = fn(cropTile(x, r.inStart, c.inStart, r.inLen, c.inLen), i, j);
          // the output takes the first tile's batch, channels and dtype; the scope hands it up
          const target = out ?? Tensor.empty(x.gpu, [y.shape[0], y.shape[1], outH, outW], y.dtype);
          return { target, ...blendTile(y, target, r, c, { above: above[j], before }) };
        });
        out = step.target;
        above[j]?.dispose();
        before?.dispose();
        above[j] = step.below;
        before = step.after;
        x.gpu.flush(); // submit this tile's work so the GPU runs it while the next one records
      }
    }
  } finally {
    for (const t of [...above, before]) t?.dispose();
  }
  return out!;
}
