// The CPU-adapter conv2d variant: an implicit GEMM over textures, no workgroup memory.
// - The input is packed into a zero-padded channels-last texture array: layer b·Cin4 + ci4, texel
//   (x, y) = channels 4·ci4..4·ci4+3 of padded pixel (x, y), so padding (any of the four sides),
//   the nearest-2x upsample and the tile overhang cost no bounds checks in the inner loop.
// - The weight is packed into a 2-D texture: texel (co, ci4·KH·KW + ky·KW + kx) holds input
//   channels 4·ci4..4·ci4+3 of output channel co at tap (ky, kx).
// - Each invocation keeps TP consecutive output pixels × TC output channels in registers: per
//   step (ci4, tap) it loads TP input and TC weight texels and does 4 FMAs per accumulator. The
//   tile body is generated (WGSL cannot keep an indexed array in registers); sizes are uniforms,
//   so one compiled pipeline per tile serves every shape and dtype.
// - Results go to an rgba32float texture; an epilogue adds bias and residual, casts, and writes
//   NCHW rows.
// On lavapipe a texel fetch costs far less than a storage-buffer load (shared/peers/README.md).
// The packed input, weight and output textures stay pooled per shape (about 3x the activation;
// not in gpu.memory()): `releaseScratchTextures(gpu)` frees them, e.g. after a VAE decode.

import type { Tensor } from "../tensor/tensor.ts";
import { FLAT_LOAD, flatTexture, scratchTexture } from "./_texture.ts";
import { grid1d, LINEAR_ID, MAIN_1D, withTypes } from "./_wgsl.ts";
import type { ConvGeometry } from "./conv2d.ts";

/** A register tile: TP consecutive output pixels × TC output channels (TC % 4 == 0). */
export interface ConvTile {
  tp: number;
  tc: number;
}

/**
 * Tiles by output channel count: wide for Cout > 16, narrow for conv_out (3) and quant convs.
 * 16×32 ran as fast as 32×32 and 32×16 on lavapipe (2-core Zen, same process) but compiles in
 * ~2 s instead of ~10 s; lavapipe compiles on first dispatch and caches on disk.
 */
export const CONV_TILES: { wide: ConvTile; narrow: ConvTile } = {
  wide: { tp: 16, tc: 32 },
  narrow: { tp: 32, tc: 4 },
};

/** The tile for an output channel count. */
export function pickTile(cout: number): ConvTile {
  return cout > 16 ? CONV_TILES.wide : CONV_TILES.narrow;
}

// Padded input: thread (layer, row) writes one texture row. Source read as a flat texture
// (p.srcTex, 4 values per texel) or from the storage buffer. Flags are uniforms, not overrides:
// each pipeline is a separate lavapipe compile.
const PACK_INPUT = /* wgsl */ `
struct Params { w: u32, h: u32, wp: u32, hp: u32, top: u32, left: u32, cin: u32, cin4: u32,
  layers: u32, b0: u32, up: u32, srcTex: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var xt: texture_2d<f32>;
@group(0) @binding(2) var dst: texture_storage_2d_array<rgba32float, write>;
@group(0) @binding(3) var<uniform> p: Params;
override WG: u32 = 64;
${FLAT_LOAD}
fn load(i: u32) -> f32 {
  if (p.srcTex != 0u) { return texel(xt, i >> 2u)[i & 3u]; }
  return f32(x[i]);
}
${MAIN_1D} {
  let t = ${LINEAR_ID};
  if (t >= p.layers * p.hp) { return; }
  let layer = t / p.hp;
  let yy = t % p.hp;
  let b = p.b0 + layer / p.cin4;
  let ci0 = (layer % p.cin4) * 4u;
  let sh = p.h << p.up;
  let sw = p.w << p.up;
  let uy = i32(yy) - i32(p.top);
  let rowOk = uy >= 0 && uy < i32(sh);
  let sy = u32(max(uy, 0)) >> p.up;
  for (var xx = 0u; xx < p.wp; xx++) {
    var v = vec4<f32>(0.0);
    let ux = i32(xx) - i32(p.left);
    if (rowOk && ux >= 0 && ux < i32(sw)) {
      let sx = u32(ux) >> p.up;
      for (var q = 0u; q < 4u; q++) {
        let ci = ci0 + q;
        if (ci < p.cin) { v[q] = load(((b * p.cin + ci) * p.h + sy) * p.w + sx); }
      }
    }
    textureStore(dst, vec2<u32>(xx, yy), layer, v);
  }
}`;

// Packed weight: texel (co, ci4·KH·KW + tap) = input channels 4·ci4..4·ci4+3 of output channel co
// at tap ky·KW + kx; thread per row, zeros past Cout and Cin.
const PACK_WEIGHT = /* wgsl */ `
struct Params { cout: u32, cin: u32, taps: u32, rows: u32, width: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> w: array<T>;
@group(0) @binding(1) var dst: texture_storage_2d<rgba32float, write>;
@group(0) @binding(2) var<uniform> p: Params;
override WG: u32 = 64;
${MAIN_1D} {
  let r = ${LINEAR_ID};
  if (r >= p.rows) { return; }
  let tap = r % p.taps;
  let ci0 = (r / p.taps) * 4u;
  for (var co = 0u; co < p.width; co++) {
    var v = vec4<f32>(0.0);
    for (var q = 0u; q < 4u; q++) {
      if (co < p.cout && ci0 + q < p.cin) { v[q] = f32(w[(co * p.cin + ci0 + q) * p.taps + tap]); }
    }
    textureStore(dst, vec2<u32>(co, r), v);
  }
}`;

/**
 * The conv kernel for one register tile: per tap (ci4, ky, kx) it loads TC weight texels and TP
 * input texels and does 4 FMAs per accumulator. Results go to an rgba32float texture array
 * (layer b·Cout4 + co4, texel (ox, oy) = 4 channels): lavapipe expands each storage-buffer store
 * into per-lane code, and 1,024 of them took ~10x longer to compile than the whole loop.
 */
export function convTileWgsl(tile: ConvTile): string {
  const { tp, tc } = tile;
  const L: string[] = [];
  for (let i = 0; i < tp; i++) {
    L.push(`  var ${Array.from({ length: tc }, (_, j) => `s${i}_${j} = 0.0`).join("; var ")};`);
  }
  L.push("  for (var k = 0u; k < p.steps; k++) {");
  L.push("    let ci4 = k / p.taps;");
  L.push("    let tap = k % p.taps;");
  L.push("    let ix = ox0 * p.stride + tap % p.kw;");
  L.push("    let iy = oy * p.stride + tap / p.kw;");
  L.push("    let layer = lb + ci4;");
  for (let j = 0; j < tc; j++) {
    L.push(`    let w${j} = textureLoad(wt, vec2<u32>(co0 + ${j}u, k), 0);`);
  }
  for (let i = 0; i < tp; i++) {
    L.push(`    let a${i} = textureLoad(xt, vec2<u32>(ix + ${i}u * p.stride, iy), layer, 0);`);
    for (let j = 0; j < tc; j++) {
      const s = `s${i}_${j}`, a = `a${i}`, w = `w${j}`;
      L.push(
        `    ${s} = fma(${a}.w, ${w}.w, fma(${a}.z, ${w}.z, fma(${a}.y, ${w}.y, fma(${a}.x, ${w}.x, ${s}))));`,
      );
    }
  }
  L.push("  }");
  for (let i = 0; i < tp; i++) {
    for (let j = 0; j < tc; j += 4) {
      L.push(
        `  textureStore(ot, vec2<u32>(ox0 + ${i}u, oy), ol + ${j / 4}u, ` +
          `vec4<f32>(s${i}_${j}, s${i}_${j + 1}, s${i}_${j + 2}, s${i}_${j + 3}));`,
      );
    }
  }
  return /* wgsl */ `
struct Params { steps: u32, taps: u32, kw: u32, stride: u32, cin4: u32, cout4: u32, tilesX: u32,
  tiles: u32 }
@group(0) @binding(0) var xt: texture_2d_array<f32>;
@group(0) @binding(1) var wt: texture_2d<f32>;
@group(0) @binding(2) var ot: texture_storage_2d_array<rgba32float, write>;
@group(0) @binding(3) var<uniform> p: Params;
@compute @workgroup_size(8) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.tiles) { return; } // gid.x: pixel tile, so a workgroup shares its weights
  let ox0 = (gid.x % p.tilesX) * ${tp}u;
  let oy = gid.x / p.tilesX;
  let co0 = gid.y * ${tc}u;
  let lb = gid.z * p.cin4;
  let ol = gid.z * p.cout4 + co0 / 4u;
${L.join("\n")}
}`;
}

// Output texture -> NCHW tensor with bias, residual and the dtype cast: thread per (b, co4, oy)
// texel row, writing up to 4 output rows; each lane writes its own runs (lavapipe stores are
// much faster that way).
const EPILOGUE = /* wgsl */ `
struct Params { rows: u32, ho: u32, wo: u32, cout: u32, cout4: u32, b0: u32, bias: u32, res: u32 }
@group(0) @binding(0) var ot: texture_2d_array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<B>;
@group(0) @binding(2) var<storage, read> res: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
@group(0) @binding(4) var<uniform> p: Params;
override WG: u32 = 64;
${MAIN_1D} {
  let r = ${LINEAR_ID};
  if (r >= p.rows) { return; }
  let layer = r / p.ho; // b·Cout4 + co4 within this dispatch
  let oy = r % p.ho;
  let b = p.b0 + layer / p.cout4;
  let co0 = (layer % p.cout4) * 4u;
  if (co0 >= p.cout) { return; } // the tile's padding channels
  var add = vec4<f32>(0.0);
  for (var q = 0u; q < 4u; q++) {
    if (p.bias != 0u && co0 + q < p.cout) { add[q] = f32(bias[co0 + q]); }
  }
  let n = min(4u, p.cout - co0);
  for (var q = 0u; q < n; q++) {
    let row = ((b * p.cout + co0 + q) * p.ho + oy) * p.wo;
    for (var ox = 0u; ox < p.wo; ox++) {
      var v = textureLoad(ot, vec2<u32>(ox, oy), layer, 0)[q] + add[q];
      if (p.res != 0u) { v += f32(res[row + ox]); }
      y[row + ox] = T(v);
    }
  }
}`;

/**
 * Records the texture variant of conv2d for `g` into `out`, or returns false when the shapes do
 * not fit the texture limits (the caller then runs the buffer variant).
 */
export function conv2dTexture(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | undefined,
  residual: Tensor | undefined,
  out: Tensor,
  g: ConvGeometry,
): boolean {
  const gpu = x.gpu, lim = gpu.device.limits, max2d = lim.maxTextureDimension2D;
  const tile = pickTile(g.cout);
  const cin4 = Math.ceil(g.cin / 4), taps = g.kh * g.kw;
  const coTiles = Math.ceil(g.cout / tile.tc), cout4 = (coTiles * tile.tc) / 4;
  const tilesX = Math.ceil(g.wo / tile.tp), tiles = tilesX * g.ho;
  const wp = (tilesX * tile.tp - 1) * g.stride + g.kw, hp = (g.ho - 1) * g.stride + g.kh;
  const steps = cin4 * taps, wWidth = coTiles * tile.tc;
  // images per dispatch: input and output layers both fit the array-layer limit
  const nb = Math.min(g.batch, Math.floor(lim.maxTextureArrayLayers / Math.max(cin4, cout4)));
  if (nb < 1 || wp > max2d || hp > max2d || steps > max2d || wWidth > max2d) return false;
  if (tilesX * tile.tp > max2d || g.ho > max2d) return false;
  const usage = GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING;
  const array: GPUTextureViewDescriptor = { dimension: "2d-array" };

  const wtex = scratchTexture(gpu, `conv2d:w:${wWidth}x${steps}`, {
    size: [wWidth, steps],
    format: "rgba32float",
    usage,
  });
  gpu.dispatch(
    {
      name: "conv2d_pack_weight",
      op: "conv2d",
      wgsl: withTypes(gpu, PACK_WEIGHT, { T: weight.dtype }),
    },
    [weight, wtex.view],
    grid1d(steps, 64),
    new Uint32Array([g.cout, g.cin, taps, steps, wWidth, 0, 0, 0]),
  );
  const xtex = scratchTexture(gpu, `conv2d:x:${wp}x${hp}x${nb * cin4}`, {
    size: [wp, hp, nb * cin4],
    format: "rgba32float",
    usage,
  }, array);
  const otex = scratchTexture(gpu, `conv2d:o:${tilesX * tile.tp}x${g.ho}x${nb * cout4}`, {
    size: [tilesX * tile.tp, g.ho, nb * cout4],
    format: "rgba32float",
    usage,
  }, array);
  const flat = flatTexture(x, 0);
  const src = flat ?? scratchTexture(gpu, "conv2d:unused", {
    size: [1, 1],
    format: "rgba32float",
    usage: GPUTextureUsage.TEXTURE_BINDING,
  }).view;
  const packInput = {
    name: "conv2d_pack_input",
    op: "conv2d",
    wgsl: withTypes(gpu, PACK_INPUT, { T: x.dtype }),
    overrides: { WG: 64 },
  };
  const conv = { name: "conv2d_tile", op: "conv2d", wgsl: convTileWgsl(tile) };
  const epilogue = {
    name: "conv2d_epilogue",
    op: "conv2d",
    wgsl: withTypes(gpu, EPILOGUE, { T: out.dtype, B: (bias ?? x).dtype }),
    overrides: { WG: 64 },
  };
  for (let b0 = 0; b0 < g.batch; b0 += nb) {
    const n = Math.min(nb, g.batch - b0);
    gpu.dispatch(
      packInput,
      [x, src, xtex.view],
      grid1d(n * cin4 * hp, 64),
      new Uint32Array([
        g.w,
        g.h,
        wp,
        hp,
        g.top,
        g.left,
        g.cin,
        cin4,
        n * cin4,
        b0,
        g.upsample ? 1 : 0,
        flat ? 1 : 0,
      ]),
    );
    gpu.dispatch(
      conv,
      [xtex.view, wtex.view, otex.view],
      [Math.ceil(tiles / 8), coTiles, n],
      new Uint32Array([steps, taps, g.kw, g.stride, cin4, cout4, tilesX, tiles]),
    );
    const rows = n * cout4 * g.ho;
    gpu.dispatch(
      epilogue,
      [otex.view, bias ?? x, residual ?? x, out],
      grid1d(rows, 64),
      new Uint32Array([rows, g.ho, g.wo, g.cout, cout4, b0, bias ? 1 : 0, residual ? 1 : 0]),
    );
  }
  return true;
}
