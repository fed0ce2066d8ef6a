// CPU twins of tiling.ts: the window crop, and diffusers' tile blending written as it is there
// (autoencoder_kl.py `blend_v`/`blend_h` update each tile in place, then every tile is cropped to
// `rowLimit` and the crops are concatenated). Each product and sum is rounded to f32 as torch does.

/** A host tensor [B, C, H, W]. */
export interface HostTile {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** The window `[top, top + height) × [left, left + width)` of `x`. */
export function cropTileRef(
  x: HostTile,
  top: number,
  left: number,
  height: number,
  width: number,
): HostTile {
  const [b, c, h, w] = x.shape, out = new Float32Array(b * c * height * width);
  for (let p = 0; p < b * c; p++) {
    for (let r = 0; r < height; r++) {
      for (let q = 0; q < width; q++) {
        out[(p * height + r) * width + q] = x.data[(p * h + top + r) * w + left + q];
      }
    }
  }
  return { data: out, shape: [b, c, height, width] };
}

const f = Math.fround;

function blendV(a: HostTile, b: HostTile, extent: number): void {
  const [, , ah] = a.shape, [nb, nc, bh, w] = b.shape;
  const e = Math.min(ah, bh, extent);
  for (let y = 0; y < e; y++) {
    const wa = f(1 - y / e), wb = f(y / e);
    for (let p = 0; p < nb * nc; p++) {
      for (let x = 0; x < w; x++) {
        const i = (p * bh + y) * w + x;
        b.data[i] = f(f(a.data[(p * ah + ah - e + y) * w + x] * wa) + f(b.data[i] * wb));
      }
    }
  }
}

function blendH(a: HostTile, b: HostTile, extent: number): void {
  const [, , , aw] = a.shape, [nb, nc, h, bw] = b.shape;
  const e = Math.min(aw, bw, extent);
  for (let x = 0; x < e; x++) {
    const wa = f(1 - x / e), wb = f(x / e);
    for (let p = 0; p < nb * nc; p++) {
      for (let y = 0; y < h; y++) {
        const i = (p * h + y) * bw + x;
        b.data[i] = f(f(a.data[(p * h + y) * aw + aw - e + x] * wa) + f(b.data[i] * wb));
      }
    }
  }
}

/**
 * Blends a grid of tile outputs (rows of tiles, row-major; modified in place, as diffusers does)
 * over `extent` rows/columns and concatenates their `rowLimit` crops into one tensor.
 */
export function blendTilesRef(tiles: HostTile[][], extent: number, rowLimit: number): HostTile {
  for (let i = 0; i < tiles.length; i++) {
    for (let j = 0; j < tiles[i].length; j++) {
      if (i > 0) blendV(tiles[i - 1][j], tiles[i][j], extent);
      if (j > 0) blendH(tiles[i][j - 1], tiles[i][j], extent);
    }
  }
  const heights = tiles.map((row) => Math.min(rowLimit, row[0].shape[2]));
  const widths = tiles[0].map((t) => Math.min(rowLimit, t.shape[3]));
  const [b, c] = tiles[0][0].shape;
  const H = heights.reduce((s, v) => s + v, 0), W = widths.reduce((s, v) => s + v, 0);
  const out = new Float32Array(b * c * H * W);
  let oy = 0;
  for (let i = 0; i < tiles.length; i++) {
    let ox = 0;
    for (let j = 0; j < tiles[i].length; j++) {
      const t = tiles[i][j], [, , th, tw] = t.shape;
      for (let p = 0; p < b * c; p++) {
        for (let y = 0; y < heights[i]; y++) {
          for (let x = 0; x < widths[j]; x++) {
            out[(p * H + oy + y) * W + ox + x] = t.data[(p * th + y) * tw + x];
          }
        }
      }
      ox += widths[j];
    }
    oy += heights[i];
  }
  return { data: out, shape: [b, c, H, W] };
}
