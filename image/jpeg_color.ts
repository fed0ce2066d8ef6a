// From decoded JPEG sample planes to RGBA: chroma upsampling, colour conversion and EXIF orientation.
// Upsampling and YCbCr->RGB follow libjpeg-turbo 2.1 (jdsample.c, jdmerge.c, jdcolor.c) so the
// result matches `djpeg` (fancy upsampling, the default) or `djpeg -nosmooth` (replication).

import type { RgbaImage } from "./rgba_image.ts";

/** One component's decoded samples and how it maps onto the image grid. */
export interface SamplePlane {
  /** Samples, `stride` bytes a row. */
  data: Uint8Array;
  /** Row stride of `data`. */
  stride: number;
  /** Valid samples a row (libjpeg's downsampled_width). */
  width: number;
  /** Valid rows (libjpeg's downsampled_height). */
  height: number;
  /** Horizontal upsampling ratio: max h factor / this component's h factor. */
  hr: number;
  /** Vertical upsampling ratio: max v factor / this component's v factor. */
  vr: number;
}

/** How the planes map to RGB: one grey plane, YCbCr (JFIF) or RGB stored as is. */
export type JpegColorTransform = "gray" | "ycc" | "rgb";

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number): number => Math.trunc(x * (1 << SCALEBITS) + 0.5);

/** jdcolor.c build_ycc_rgb_table, indexed by the Cb or Cr sample. */
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

/** Clamp to 0..255 for values in -256..511, indexed by value + 256. */
const CLAMP: Uint8Array = (() => {
  const t = new Uint8Array(768);
  for (let i = 0; i < 768; i++) t[i] = Math.min(255, Math.max(0, i - 256));
  return t;
})();

/**
 * Upsamples, converts to RGB and writes an RGBA image with alpha 255, applying an EXIF orientation.
 *
 * @param planes decoded components (1 or 3)
 * @param width image width before orientation
 * @param height image height before orientation
 * @param transform colour interpretation of the planes
 * @param fancy libjpeg's triangle-filter upsampling for 2:1 ratios (else replication)
 * @param orientation EXIF orientation 1..8 (1: as stored)
 * @returns the image, with width and height swapped for orientations 5..8
 */
export function planesToRgba(
  planes: SamplePlane[],
  width: number,
  height: number,
  transform: JpegColorTransform,
  fancy: boolean,
  orientation: number,
): RgbaImage {
  const swap = orientation >= 5 && orientation <= 8;
  const outW = swap ? height : width;
  const outH = swap ? width : height;
  const out = new Uint8Array(width * height * 4);
  const rows = planes.map((p) => new RowSource(p, fancy));
  for (let y = 0; y < height; y++) {
    // Destination of source pixel (x, y) is pixel index `base + x * step`.
    let base: number, step: number;
    switch (orientation) {
      case 2:
        [base, step] = [y * width + width - 1, -1];
        break;
      case 3:
        [base, step] = [(height - 1 - y) * width + width - 1, -1];
        break;
      case 4:
        [base, step] = [(height - 1 - y) * width, 1];
        break;
      case 5:
        [base, step] = [y, outW];
        break;
      case 6:
        [base, step] = [height - 1 - y, outW];
        break;
      case 7:
        [base, step] = [(width - 1) * outW + height - 1 - y, -outW];
        break;
      case 8:
        [base, step] = [(width - 1) * outW + y, -outW];
        break;
      default:
        [base, step] = [y * width, 1];
    }
    base *= 4;
    step *= 4;
    if (transform === "gray") {
      const g = rows[0].row(y);
      const go = rows[0].offset;
      for (let x = 0, o = base; x < width; x++, o += step) {
        const v = g[go + x];
        out[o] = v;
        out[o + 1] = v;
        out[o + 2] = v;
        out[o + 3] = 255;
      }
      continue;
    }
    const a = rows[0].row(y), ao = rows[0].offset;
    const b = rows[1].row(y), bo = rows[1].offset;
    const c = rows[2].row(y), co = rows[2].offset;
    if (transform === "rgb") {
      for (let x = 0, o = base; x < width; x++, o += step) {
        out[o] = a[ao + x];
        out[o + 1] = b[bo + x];
        out[o + 2] = c[co + x];
        out[o + 3] = 255;
      }
      continue;
    }
    for (let x = 0, o = base; x < width; x++, o += step) {
      const yy = a[ao + x] + 256;
      const cb = b[bo + x];
      const cr = c[co + x];
      out[o] = CLAMP[yy + CR_R[cr]];
      out[o + 1] = CLAMP[yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS)];
      out[o + 2] = CLAMP[yy + CB_B[cb]];
      out[o + 3] = 255;
    }
  }
  return { width: outW, height: outH, data: out };
}

/** Produces full-resolution rows of one component (jdsample.c's per-component methods). */
class RowSource {
  readonly p: SamplePlane;
  readonly mode: "full" | "h2v1" | "h1v2" | "h2v2" | "box";
  readonly buf: Uint8Array;
  readonly sums: Int32Array;
  /** Offset in the array last returned by `row` where the row starts. */
  offset = 0;

  constructor(p: SamplePlane, fancy: boolean) {
    this.p = p;
    const { hr, vr } = p;
    // jdsample.c: the triangle filter for 2:1 horizontally needs more than 2 samples a row.
    if (hr === 1 && vr === 1) this.mode = "full";
    else if (fancy && hr === 2 && vr === 1 && p.width > 2) this.mode = "h2v1";
    else if (fancy && hr === 1 && vr === 2) this.mode = "h1v2";
    else if (fancy && hr === 2 && vr === 2 && p.width > 2) this.mode = "h2v2";
    else this.mode = "box";
    this.buf = new Uint8Array(this.mode === "full" ? 0 : p.width * hr);
    this.sums = new Int32Array(this.mode === "h2v2" ? p.width : 0);
  }

  /** Returns an array holding output row `y` from index `this.offset`. */
  row(y: number): Uint8Array {
    const { data, stride, width: w, height: h, hr, vr } = this.p;
    const out = this.buf;
    this.offset = 0;
    switch (this.mode) {
      case "full":
        this.offset = y * stride;
        return data;
      case "h2v1": {
        const i0 = y * stride;
        let v = data[i0];
        out[0] = v;
        out[1] = (v * 3 + data[i0 + 1] + 2) >> 2;
        for (let i = 1; i < w - 1; i++) {
          v = data[i0 + i] * 3;
          out[2 * i] = (v + data[i0 + i - 1] + 1) >> 2;
          out[2 * i + 1] = (v + data[i0 + i + 1] + 2) >> 2;
        }
        v = data[i0 + w - 1];
        out[2 * w - 2] = (v * 3 + data[i0 + w - 2] + 1) >> 2;
        out[2 * w - 1] = v;
        return out;
      }
      case "h1v2": {
        const [near, far, bias] = this.verticalPair(y);
        for (let i = 0; i < w; i++) out[i] = (data[near + i] * 3 + data[far + i] + bias) >> 2;
        return out;
      }
      case "h2v2": {
        const [near, far] = this.verticalPair(y);
        const s = this.sums;
        for (let i = 0; i < w; i++) s[i] = data[near + i] * 3 + data[far + i];
        out[0] = (s[0] * 4 + 8) >> 4;
        out[1] = (s[0] * 3 + s[1] + 7) >> 4;
        for (let i = 1; i < w - 1; i++) {
          out[2 * i] = (s[i] * 3 + s[i - 1] + 8) >> 4;
          out[2 * i + 1] = (s[i] * 3 + s[i + 1] + 7) >> 4;
        }
        out[2 * w - 2] = (s[w - 1] * 3 + s[w - 2] + 8) >> 4;
        out[2 * w - 1] = (s[w - 1] * 4 + 7) >> 4;
        return out;
      }
      default: {
        const i0 = Math.min(h - 1, Math.floor(y / vr)) * stride;
        for (let i = 0, o = 0; i < w; i++) {
          const v = data[i0 + i];
          for (let k = 0; k < hr; k++) out[o++] = v;
        }
        return out;
      }
    }
  }

  /** For 2:1 vertical: offsets of the nearer and farther input rows, and the rounding bias. */
  private verticalPair(y: number): [number, number, number] {
    const { stride, height: h } = this.p;
    const inRow = y >> 1;
    const even = (y & 1) === 0;
    const far = Math.min(h - 1, Math.max(0, even ? inRow - 1 : inRow + 1));
    return [inRow * stride, far * stride, even ? 1 : 2];
  }
}
