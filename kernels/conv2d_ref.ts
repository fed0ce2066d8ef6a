// CPU reference for kernels/conv2d.ts: direct convolution in f64, NCHW.

/** Geometry of `conv2dRef` (source dims before the optional upsample). */
export interface Conv2dRefShape {
  batch: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  kh: number;
  kw: number;
}

/** Options of `conv2dRef`, as conv2d's: padding is [top, bottom, left, right]. */
export interface Conv2dRefOptions {
  stride?: number;
  padding?: readonly [number, number, number, number];
  upsample?: boolean;
  bias?: ArrayLike<number>;
  residual?: ArrayLike<number>;
}

/** Nearest-2x upsample of NCHW `x` with `planes` planes of h×w. */
export function upsampleNearest2xRef(
  x: ArrayLike<number>,
  planes: number,
  h: number,
  w: number,
): Float64Array {
  const out = new Float64Array(planes * 4 * h * w);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < 2 * h; y++) {
      for (let xx = 0; xx < 2 * w; xx++) {
        out[(p * 2 * h + y) * 2 * w + xx] = x[(p * h + (y >> 1)) * w + (xx >> 1)];
      }
    }
  }
  return out;
}

/** conv2d as PyTorch's Conv2d (cross-correlation) with zero padding; returns [B, Cout, Ho, Wo]. */
export function conv2dRef(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  shape: Conv2dRefShape,
  options: Conv2dRefOptions = {},
): { out: Float64Array; ho: number; wo: number } {
  const { batch, cin, cout, kh, kw } = shape;
  const { stride = 1, padding = [0, 0, 0, 0], upsample = false, bias, residual } = options;
  let src: ArrayLike<number> = x, h = shape.h, w = shape.w;
  if (upsample) {
    src = upsampleNearest2xRef(x, batch * cin, h, w);
    h *= 2;
    w *= 2;
  }
  const [top, bottom, left, right] = padding;
  const ho = Math.floor((h + top + bottom - kh) / stride) + 1;
  const wo = Math.floor((w + left + right - kw) / stride) + 1;
  const out = new Float64Array(batch * cout * ho * wo);
  for (let b = 0; b < batch; b++) {
    for (let co = 0; co < cout; co++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let s = bias ? bias[co] : 0;
          for (let ci = 0; ci < cin; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * stride + ky - top;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * stride + kx - left;
                if (ix < 0 || ix >= w) continue;
                s += src[((b * cin + ci) * h + iy) * w + ix] *
                  weight[((co * cin + ci) * kh + ky) * kw + kx];
              }
            }
          }
          const o = ((b * cout + co) * ho + oy) * wo + ox;
          out[o] = residual ? s + residual[o] : s;
        }
      }
    }
  }
  return { out, ho, wo };
}
