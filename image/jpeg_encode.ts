// Baseline JPEG encoder (JFIF, YCbCr, standard Huffman tables of T.81 annex K). Colour conversion,
// downsampling, edge padding, islow FDCT, quantisation and marker layout follow libjpeg-turbo, so
// the output is byte-identical to `cjpeg -quality Q -sample ...` for qualities whose tables fit
// in 8 bits (cjpeg -baseline for all qualities).

import type { RgbaImage } from "./rgba_image.ts";
import { fdctIslow, makeQuantizer, quantize } from "./jpeg_fdct.ts";
import { NATURAL_ORDER } from "./jpeg_scan.ts";

/** Options for {@linkcode encodeJpeg}. */
export interface EncodeJpegOptions {
  /** libjpeg quality, 1 (smallest) to 100 (best); default 90. */
  quality?: number;
  /** Chroma subsampling; default `"4:2:0"`. */
  subsampling?: "4:4:4" | "4:2:2" | "4:2:0";
}

/** T.81 K.1 tables (natural order), as libjpeg's jcparam.c. */
const STD_LUMA_QT = [
  16,
  11,
  10,
  16,
  24,
  40,
  51,
  61,
  12,
  12,
  14,
  19,
  26,
  58,
  60,
  55,
  14,
  13,
  16,
  24,
  40,
  57,
  69,
  56,
  14,
  17,
  22,
  29,
  51,
  87,
  80,
  62,
  18,
  22,
  37,
  56,
  68,
  109,
  103,
  77,
  24,
  35,
  55,
  64,
  81,
  104,
  113,
  92,
  49,
  64,
  78,
  87,
  103,
  121,
  120,
  101,
  72,
  92,
  95,
  98,
  112,
  100,
  103,
  99,
];
const STD_CHROMA_QT = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  ...new Array(32).fill(99),
];

/** T.81 K.3 Huffman tables: code-length counts (16) and symbols. */
const DC_LUMA = { bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], vals: range(12) };
const DC_CHROMA = { bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], vals: range(12) };
const AC_LUMA = {
  bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  vals: acSymbols(
    "01 02 03 00 04 11 05 12 21 31 41 06 13 51 61 07 22 71 14 32 81 91 a1 08 23 42 b1 c1 15 52 d1 f0 " +
      "24 33 62 72 82 09 0a 16 17 18 19 1a 25 26 27 28 29 2a 34 35 36 37 38 39 3a 43 44 45 46 47 48 " +
      "49 4a 53 54 55 56 57 58 59 5a 63 64 65 66 67 68 69 6a 73 74 75 76 77 78 79 7a 83 84 85 86 87 " +
      "88 89 8a 92 93 94 95 96 97 98 99 9a a2 a3 a4 a5 a6 a7 a8 a9 aa b2 b3 b4 b5 b6 b7 b8 b9 ba c2 " +
      "c3 c4 c5 c6 c7 c8 c9 ca d2 d3 d4 d5 d6 d7 d8 d9 da e1 e2 e3 e4 e5 e6 e7 e8 e9 ea f1 f2 f3 f4 " +
      "f5 f6 f7 f8 f9 fa",
  ),
};
const AC_CHROMA = {
  bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  vals: acSymbols(
    "00 01 02 03 11 04 05 21 31 06 12 41 51 07 61 71 13 22 32 81 08 14 42 91 a1 b1 c1 09 23 33 52 f0 " +
      "15 62 72 d1 0a 16 24 34 e1 25 f1 17 18 19 1a 26 27 28 29 2a 35 36 37 38 39 3a 43 44 45 46 47 " +
      "48 49 4a 53 54 55 56 57 58 59 5a 63 64 65 66 67 68 69 6a 73 74 75 76 77 78 79 7a 82 83 84 85 " +
      "86 87 88 89 8a 92 93 94 95 96 97 98 99 9a a2 a3 a4 a5 a6 a7 a8 a9 aa b2 b3 b4 b5 b6 b7 b8 b9 " +
      "ba c2 c3 c4 c5 c6 c7 c8 c9 ca d2 d3 d4 d5 d6 d7 d8 d9 da e2 e3 e4 e5 e6 e7 e8 e9 ea f2 f3 f4 " +
      "f5 f6 f7 f8 f9 fa",
  ),
};

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function acSymbols(hex: string): number[] {
  return hex.split(" ").map((h) => parseInt(h, 16));
}

interface HuffCodes {
  code: Uint16Array;
  size: Uint8Array;
}

function huffCodes(t: { bits: number[]; vals: number[] }): HuffCodes {
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let c = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < t.bits[len - 1]; i++, k++, c++) {
      code[t.vals[k]] = c;
      size[t.vals[k]] = len;
    }
    c <<= 1;
  }
  return { code, size };
}

/** libjpeg's quality scaling (jcparam.c), limited to baseline 8-bit entries. */
function scaledTable(base: number[], quality: number): number[] {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  return base.map((b) => Math.min(255, Math.max(1, Math.floor((b * scale + 50) / 100))));
}

/** jccolor.c rgb_ycc_convert, as fixed-point tables. */
const fix = (x: number) => Math.trunc(x * 65536 + 0.5);

/** Growable byte output with the entropy coder's bit buffer. */
class ByteWriter {
  buf = new Uint8Array(1 << 16);
  length = 0;
  private bits = 0;
  private count = 0;

  byte(b: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = b;
  }

  bytes(a: ArrayLike<number>): void {
    for (let i = 0; i < a.length; i++) this.byte(a[i]);
  }

  segment(marker: number, payload: number[]): void {
    const n = payload.length + 2;
    this.bytes([0xff, marker, n >> 8, n & 255]);
    this.bytes(payload);
  }

  /** Appends the low `n` bits of `v` to the entropy-coded data, stuffing 0x00 after 0xFF. */
  put(v: number, n: number): void {
    this.bits = (this.bits << n) | (v & ((1 << n) - 1));
    this.count += n;
    while (this.count >= 8) {
      const b = (this.bits >>> (this.count - 8)) & 0xff;
      this.byte(b);
      if (b === 0xff) this.byte(0);
      this.count -= 8;
    }
    this.bits &= (1 << this.count) - 1;
  }

  /** Pads the last byte with 1 bits (jchuff.c flush_bits). */
  flush(): void {
    if (this.count > 0) this.put(0x7f, 8 - this.count);
  }
}

/**
 * Encodes an RGBA image as a baseline JPEG (alpha is ignored).
 *
 * @example
 * ```ts
 * const jpeg = encodeJpeg({ width: 1, height: 1, data: new Uint8Array([255, 0, 0, 255]) });
 * ```
 *
 * @param image the image, 1..65535 pixels a side
 * @param options quality and chroma subsampling
 * @returns the JPEG file bytes
 * @throws RangeError for an invalid image size, data length or quality
 */
export function encodeJpeg(image: RgbaImage, options: EncodeJpegOptions = {}): Uint8Array {
  const { width: w, height: h, data } = image;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1 || w > 65535 || h > 65535) {
    throw new RangeError(`Cannot encode JPEG: image size ${w}x${h} is outside 1..65535`);
  }
  if (data.length !== w * h * 4) {
    throw new RangeError(
      `Cannot encode JPEG: data has ${data.length} bytes, expected ${w * h * 4} for ${w}x${h} RGBA`,
    );
  }
  const quality = options.quality ?? 90;
  if (!(quality >= 1 && quality <= 100)) {
    throw new RangeError(`Cannot encode JPEG: quality ${quality} is outside 1..100`);
  }
  const sub = options.subsampling ?? "4:2:0";
  const [maxH, maxV] = sub === "4:4:4" ? [1, 1] : sub === "4:2:2" ? [2, 1] : [2, 2];

  // Colour conversion to full-resolution Y, Cb, Cr planes.
  const n = w * h;
  const planes = [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)];
  const half = 1 << 15;
  const cbcrOff = (128 << 16) + half - 1;
  for (let i = 0; i < n; i++) {
    const r = data[4 * i], g = data[4 * i + 1], b = data[4 * i + 2];
    planes[0][i] = (fix(0.299) * r + fix(0.587) * g + fix(0.114) * b + half) >> 16;
    planes[1][i] = (-fix(0.16874) * r - fix(0.33126) * g + fix(0.5) * b + cbcrOff) >> 16;
    planes[2][i] = (fix(0.5) * r - fix(0.41869) * g - fix(0.08131) * b + cbcrOff) >> 16;
  }

  const mcusPerLine = Math.ceil(w / (8 * maxH));
  const mcusPerColumn = Math.ceil(h / (8 * maxV));
  const lumaQt = scaledTable(STD_LUMA_QT, quality);
  const chromaQt = scaledTable(STD_CHROMA_QT, quality);
  const comps = [0, 1, 2].map((ci) => {
    const [ch, cv] = ci === 0 ? [maxH, maxV] : [1, 1];
    const cw = Math.ceil((w * ch) / maxH);
    const chh = Math.ceil((h * cv) / maxV);
    const blocksWide = Math.ceil(cw / 8);
    const blocksHigh = Math.ceil(chh / 8);
    return {
      h: ch,
      v: cv,
      blocksWide,
      blocksHigh,
      stride: blocksWide * 8,
      samples: downsample(planes[ci], w, h, maxH / ch, maxV / cv, blocksWide * 8, blocksHigh * 8),
      quant: makeQuantizer(ci === 0 ? lumaQt : chromaQt),
      dc: huffCodes(ci === 0 ? DC_LUMA : DC_CHROMA),
      ac: huffCodes(ci === 0 ? AC_LUMA : AC_CHROMA),
      pred: 0,
    };
  });

  const out = new ByteWriter();
  out.bytes([0xff, 0xd8]);
  out.segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  for (const [id, t] of [[0, lumaQt], [1, chromaQt]] as const) {
    out.segment(0xdb, [id, ...range(64).map((k) => t[NATURAL_ORDER[k]])]);
  }
  // SOF0: precision, height, width, then (id, sampling, table) for Y, Cb, Cr.
  const size = [h >> 8, h & 255, w >> 8, w & 255];
  out.segment(0xc0, [8, ...size, 3, 1, (maxH << 4) | maxV, 0, 2, 0x11, 1, 3, 0x11, 1]);
  const huffman = [[0x00, DC_LUMA], [0x10, AC_LUMA], [0x01, DC_CHROMA], [0x11, AC_CHROMA]] as const;
  for (const [cls, t] of huffman) out.segment(0xc4, [cls, ...t.bits, ...t.vals]);
  out.segment(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);

  // Blocks in MCU order. Dummy blocks past a component's edge (jccoefct.c) have zero AC and the
  // DC of the block before them.
  const work = new Int32Array(64);
  const coefs = new Int32Array(64);
  const dummy = new Int32Array(64);
  for (let my = 0; my < mcusPerColumn; my++) {
    for (let mx = 0; mx < mcusPerLine; mx++) {
      for (const c of comps) {
        let lastDc = 0;
        for (let yi = 0; yi < c.v; yi++) {
          const by = my * c.v + yi;
          for (let xi = 0; xi < c.h; xi++) {
            const bx = mx * c.h + xi;
            let block = coefs;
            if (by < c.blocksHigh && bx < c.blocksWide) {
              loadBlock(c.samples, c.stride, bx * 8, by * 8, work);
              fdctIslow(work);
              quantize(work, c.quant, coefs);
            } else {
              block = dummy;
              dummy[0] = lastDc;
            }
            lastDc = block[0];
            c.pred = encodeBlock(out, block, c.pred, c.dc, c.ac);
          }
        }
      }
    }
  }
  out.flush();
  out.bytes([0xff, 0xd9]);
  return out.buf.slice(0, out.length);
}

/**
 * Box-filters a full-resolution plane by `hr` x `vr` into `pw` x `ph` samples with libjpeg's edge
 * replication and alternating rounding bias (jcsample.c, jcprepct.c).
 */
function downsample(
  src: Uint8Array,
  w: number,
  h: number,
  hr: number,
  vr: number,
  pw: number,
  ph: number,
): Uint8Array {
  const out = new Uint8Array(pw * ph);
  const rowsMade = Math.ceil(h / vr); // rows below are copies of the last one
  for (let y = 0; y < ph; y++) {
    const sy = Math.min(y, rowsMade - 1) * vr;
    const r0 = Math.min(sy, h - 1) * w;
    const r1 = Math.min(sy + 1, h - 1) * w;
    for (let x = 0; x < pw; x++) {
      const sx = x * hr;
      const c0 = Math.min(sx, w - 1);
      const c1 = Math.min(sx + 1, w - 1);
      let v: number;
      if (hr === 1 && vr === 1) v = src[r0 + c0];
      else if (vr === 1) v = (src[r0 + c0] + src[r0 + c1] + (x & 1)) >> 1;
      else v = (src[r0 + c0] + src[r0 + c1] + src[r1 + c0] + src[r1 + c1] + 1 + (x & 1)) >> 2;
      out[y * pw + x] = v;
    }
  }
  return out;
}

function loadBlock(s: Uint8Array, stride: number, x0: number, y0: number, d: Int32Array): void {
  for (let y = 0; y < 8; y++) {
    const o = (y0 + y) * stride + x0;
    for (let x = 0; x < 8; x++) d[y * 8 + x] = s[o + x] - 128;
  }
}

/** Huffman-codes one block (jchuff.c encode_one_block); returns the new DC predictor. */
function encodeBlock(
  out: ByteWriter,
  b: Int32Array,
  pred: number,
  dc: HuffCodes,
  ac: HuffCodes,
): number {
  const diff = b[0] - pred;
  let nbits = diff === 0 ? 0 : 32 - Math.clz32(Math.abs(diff));
  out.put(dc.code[nbits], dc.size[nbits]);
  if (nbits) out.put(diff < 0 ? diff - 1 : diff, nbits);
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const v = b[NATURAL_ORDER[k]];
    if (v === 0) {
      run++;
      continue;
    }
    for (; run > 15; run -= 16) out.put(ac.code[0xf0], ac.size[0xf0]);
    nbits = 32 - Math.clz32(Math.abs(v));
    const sym = (run << 4) | nbits;
    out.put(ac.code[sym], ac.size[sym]);
    out.put(v < 0 ? v - 1 : v, nbits);
    run = 0;
  }
  if (run > 0) out.put(ac.code[0], ac.size[0]);
  return b[0];
}
