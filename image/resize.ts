// Antialiased separable resampling of RGBA8 images, on premultiplied alpha so transparent pixels do
// not bleed their colour. Coefficients follow Pillow's ImagingResample (libImaging/Resample.c):
// pixel centres at i + 0.5, the kernel widened by the scale factor when downscaling, weights
// normalised per output pixel. Intermediates are float; the result is clamped and rounded.

import type { RgbaImage } from "./rgba_image.ts";

/** Resampling kernels: Lanczos with 3 lobes, or Catmull-Rom bicubic (a = -0.5). */
export type ResizeFilter = "lanczos3" | "bicubic";

/** Options for {@linkcode resizeImage}. */
export interface ResizeOptions {
  /** The kernel; default `"lanczos3"` (what diffusers' image processor uses through Pillow). */
  filter?: ResizeFilter;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

const FILTERS: Record<ResizeFilter, { support: number; kernel: (x: number) => number }> = {
  lanczos3: { support: 3, kernel: (x) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
  bicubic: {
    support: 2,
    kernel: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

interface Coefficients {
  /** First input index for each output index. */
  start: Int32Array;
  /** Number of taps for each output index. */
  count: Int32Array;
  /** `taps` weights for each output index, summing to 1. */
  weights: Float64Array;
  taps: number;
}

function coefficients(inSize: number, outSize: number, filter: ResizeFilter): Coefficients {
  const { support: baseSupport, kernel } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = baseSupport * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const w = kernel((i - center + 0.5) / filterScale);
      weights[o * taps + i - lo] = w;
      sum += w;
    }
    if (sum !== 0) { for (let i = 0; i < hi - lo; i++) weights[o * taps + i] /= sum; }
    start[o] = lo;
    count[o] = hi - lo;
  }
  return { start, count, weights, taps };
}

/**
 * Resamples along one axis. `src` holds `lines` lines of `inSize` RGBA pixels; pixel `k` of line
 * `l` is at `(l * lineStep + k * pixelStep) * 4`, and the same layout with `outSize` is written.
 */
function resampleAxis(
  src: Float32Array,
  inSize: number,
  outSize: number,
  lines: number,
  horizontal: boolean,
  filter: ResizeFilter,
): Float32Array {
  const c = coefficients(inSize, outSize, filter);
  const dst = new Float32Array(outSize * lines * 4);
  // Horizontal: lines are rows (pixel step 1). Vertical: lines are columns (pixel step = width).
  const inLine = horizontal ? inSize : 1, inPixel = horizontal ? 1 : lines;
  const outLine = horizontal ? outSize : 1, outPixel = horizontal ? 1 : lines;
  for (let o = 0; o < outSize; o++) {
    const lo = c.start[o], n = c.count[o], wBase = o * c.taps;
    for (let l = 0; l < lines; l++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let k = 0; k < n; k++) {
        const w = c.weights[wBase + k];
        const s = (l * inLine + (lo + k) * inPixel) * 4;
        r += src[s] * w;
        g += src[s + 1] * w;
        b += src[s + 2] * w;
        a += src[s + 3] * w;
      }
      const d = (l * outLine + o * outPixel) * 4;
      dst[d] = r;
      dst[d + 1] = g;
      dst[d + 2] = b;
      dst[d + 3] = a;
    }
  }
  return dst;
}

/**
 * Clamps alpha to [0, 255] and colour to [0, alpha] between the passes, so the first pass's ringing
 * is not amplified by the second; Pillow's 8-bit intermediate is clamped the same way.
 */
function clampPremultiplied(buf: Float32Array): void {
  for (let i = 0; i < buf.length; i += 4) {
    const a = Math.min(Math.max(buf[i + 3], 0), 255);
    buf[i + 3] = a;
    for (let c = 0; c < 3; c++) buf[i + c] = Math.min(Math.max(buf[i + c], 0), a);
  }
}

function checkSize(name: string, v: unknown): number {
  if (typeof v !== "number") {
    throw new TypeError(`Cannot resize image: ${name} must be a number, got ${typeof v}`);
  }
  if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) {
    throw new RangeError(
      `Cannot resize image: ${name} must be an integer from 1 to 2^31-1, got "${v}"`,
    );
  }
  return v;
}

/**
 * Resizes an RGBA8 image with an antialiased Lanczos3 (default) or Catmull-Rom kernel. Works on
 * premultiplied alpha; the same size returns an equal copy.
 *
 * @param image the source image
 * @param width output width in pixels, a positive integer
 * @param height output height in pixels, a positive integer
 * @param options `filter`: `"lanczos3"` (default) or `"bicubic"`
 * @returns a new image of `width` x `height`
 * @throws {TypeError} if `image.data` is not a Uint8Array or a size is not a number
 * @throws {RangeError} for a size that is not a positive integer, a data length that does not match
 *   the image size, or an unknown filter
 * @example
 * ```ts
 * import { resizeImage } from "./resize.ts";
 * const image = { width: 4, height: 4, data: new Uint8Array(64).fill(200) };
 * const small = resizeImage(image, 2, 2); // every byte still 200
 * ```
 */
export function resizeImage(
  image: RgbaImage,
  width: number,
  height: number,
  options: ResizeOptions = {},
): RgbaImage {
  const inW = checkSize("image.width", image?.width);
  const inH = checkSize("image.height", image?.height);
  if (!(image.data instanceof Uint8Array)) {
    throw new TypeError(`Cannot resize image: image.data must be a Uint8Array`);
  }
  if (image.data.length !== inW * inH * 4) {
    throw new RangeError(
      `Cannot resize image: data has ${image.data.length} bytes, expected ${
        inW * inH * 4
      } for a ${inW}x${inH} RGBA image`,
    );
  }
  checkSize("width", width);
  checkSize("height", height);
  const filter = options.filter ?? "lanczos3";
  if (!Object.hasOwn(FILTERS, filter)) {
    throw new RangeError(
      `Cannot resize image: unknown filter "${filter}", expected "lanczos3" or "bicubic"`,
    );
  }
  if (width === inW && height === inH) return { width, height, data: image.data.slice() };

  const src = image.data;
  let buf: Float32Array = new Float32Array(inW * inH * 4);
  for (let i = 0; i < buf.length; i += 4) {
    const a = src[i + 3];
    const f = a / 255;
    buf[i] = src[i] * f;
    buf[i + 1] = src[i + 1] * f;
    buf[i + 2] = src[i + 2] * f;
    buf[i + 3] = a;
  }
  // Horizontal pass first, unless it enlarges while the vertical one shrinks: then shrinking first
  // is cheaper. Pillow picks the same order, so results stay within rounding of its output.
  if (width > inW && height < inH) {
    buf = resampleAxis(buf, inH, height, inW, false, filter);
    clampPremultiplied(buf);
    buf = resampleAxis(buf, inW, width, height, true, filter);
  } else {
    if (width !== inW) buf = resampleAxis(buf, inW, width, inH, true, filter);
    if (width !== inW && height !== inH) clampPremultiplied(buf);
    if (height !== inH) buf = resampleAxis(buf, inH, height, width, false, filter);
  }

  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < out.length; i += 4) {
    const a = Math.min(Math.max(buf[i + 3], 0), 255);
    const alpha = Math.round(a);
    out[i + 3] = alpha;
    if (alpha === 0) continue; // fully transparent: colour stays 0
    for (let c = 0; c < 3; c++) {
      // Ringing can push a premultiplied colour above its alpha; clamp before dividing.
      const v = Math.min(Math.max(buf[i + c], 0), a);
      out[i + c] = Math.round((v * 255) / a);
    }
  }
  return { width, height, data: out };
}
