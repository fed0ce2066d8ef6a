// PNG scanline work after inflate: reversing the five row filters and converting every colour type
// and bit depth (with tRNS) to RGBA8, for one pass of Adam7 or the whole image.

import { ImageDecodeError } from "./image_decode_error.ts";

/** The IHDR fields that shape the pixel data. */
export interface PngHeader {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Bits per sample: 1, 2, 4, 8 or 16. */
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  colourType: number;
  /** Adam7 interlacing. */
  interlaced: boolean;
}

function fail(message: string): never {
  throw new ImageDecodeError(`Cannot decode PNG: ${message}`);
}

/**
 * Reverses the per-row filters in place. Rows start at `offset`, each a filter-type byte then
 * `stride` bytes; `bpp` is the filter's byte distance to the left neighbour.
 *
 * @throws {ImageDecodeError} for a filter type above 4, naming the row and `where` (the pass)
 */
export function unfilter(
  raw: Uint8Array,
  offset: number,
  stride: number,
  rows: number,
  bpp: number,
  where: string,
): void {
  let prev = -1; // start of the previous row's bytes; -1 reads as a row of zeros
  for (let y = 0; y < rows; y++) {
    const rowStart = offset + y * (stride + 1);
    const type = raw[rowStart];
    const s = rowStart + 1;
    const end = s + stride;
    switch (type) {
      case 0:
        break;
      case 1:
        for (let i = s + bpp; i < end; i++) raw[i] += raw[i - bpp];
        break;
      case 2:
        if (prev >= 0) { for (let i = 0; i < stride; i++) raw[s + i] += raw[prev + i]; }
        break;
      case 3:
        if (prev < 0) {
          for (let i = s + bpp; i < end; i++) raw[i] += raw[i - bpp] >> 1;
        } else {
          for (let i = 0; i < bpp && i < stride; i++) raw[s + i] += raw[prev + i] >> 1;
          for (let i = bpp; i < stride; i++) {
            raw[s + i] += (raw[s + i - bpp] + raw[prev + i]) >> 1;
          }
        }
        break;
      case 4:
        if (prev < 0) {
          // Paeth with no row above always picks the left neighbour: the same as Sub.
          for (let i = s + bpp; i < end; i++) raw[i] += raw[i - bpp];
        } else {
          for (let i = 0; i < bpp && i < stride; i++) raw[s + i] += raw[prev + i];
          for (let i = bpp; i < stride; i++) {
            const left = raw[s + i - bpp], up = raw[prev + i], upLeft = raw[prev + i - bpp];
            const p = left + up - upLeft;
            const pa = Math.abs(p - left), pb = Math.abs(p - up), pc = Math.abs(p - upLeft);
            raw[s + i] += pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
          }
        }
        break;
      default:
        fail(`bad filter type ${type} in row ${y}${where}`);
    }
    prev = s;
  }
}

/**
 * Sample value to RGBA (4 bytes an entry) for palette images and greys of 8 bits or fewer, which
 * then share one unpacking loop; undefined for the other formats.
 */
export function sampleTable(
  h: PngHeader,
  palette: Uint8Array | undefined,
  transparent: number[] | undefined,
): Uint8Array | undefined {
  if (h.colourType === 3) return palette;
  if (h.colourType !== 0 || h.bitDepth === 16) return undefined;
  const lut = new Uint8Array(256 * 4);
  const max = (1 << h.bitDepth) - 1;
  for (let v = 0; v <= max; v++) {
    lut[v * 4] = lut[v * 4 + 1] = lut[v * 4 + 2] = (v * 255) / max; // 255 / max is an integer
    lut[v * 4 + 3] = transparent !== undefined && transparent[0] === v ? 0 : 255;
  }
  return lut;
}

function scale16(v: number): number {
  return ((v + 128) / 257) | 0; // round(v / 257)
}

/**
 * Writes `count` pixels of one unfiltered row as RGBA8 into `out` from `outStart`, `outStep` bytes
 * apart. `lut` comes from {@linkcode sampleTable}; `transparent` holds the tRNS sample values.
 */
export function convertRow(
  row: Uint8Array,
  count: number,
  out: Uint8Array,
  outStart: number,
  outStep: number,
  h: PngHeader,
  lut: Uint8Array | undefined,
  transparent: number[] | undefined,
): void {
  const depth = h.bitDepth;
  let o = outStart;
  if (lut !== undefined) {
    const perByte = 8 / depth;
    const mask = (1 << depth) - 1;
    for (let x = 0; x < count; x++, o += outStep) {
      const shift = 8 - depth * ((x % perByte) + 1);
      const v = (row[(x / perByte) | 0] >> shift) & mask;
      out[o] = lut[v * 4];
      out[o + 1] = lut[v * 4 + 1];
      out[o + 2] = lut[v * 4 + 2];
      out[o + 3] = lut[v * 4 + 3];
    }
    return;
  }
  const t = transparent;
  if (depth === 8) {
    switch (h.colourType) {
      case 2:
        for (let x = 0, i = 0; x < count; x++, i += 3, o += outStep) {
          const r = row[i], g = row[i + 1], b = row[i + 2];
          out[o] = r;
          out[o + 1] = g;
          out[o + 2] = b;
          out[o + 3] = t !== undefined && t[0] === r && t[1] === g && t[2] === b ? 0 : 255;
        }
        return;
      case 4:
        for (let x = 0, i = 0; x < count; x++, i += 2, o += outStep) {
          out[o] = out[o + 1] = out[o + 2] = row[i];
          out[o + 3] = row[i + 1];
        }
        return;
      default: // 6
        for (let x = 0, i = 0; x < count; x++, i += 4, o += outStep) {
          out[o] = row[i];
          out[o + 1] = row[i + 1];
          out[o + 2] = row[i + 2];
          out[o + 3] = row[i + 3];
        }
        return;
    }
  }
  // 16 bits a sample, big-endian.
  const s = (i: number) => (row[i] << 8) | row[i + 1];
  switch (h.colourType) {
    case 0:
      for (let x = 0, i = 0; x < count; x++, i += 2, o += outStep) {
        const v = s(i);
        out[o] = out[o + 1] = out[o + 2] = scale16(v);
        out[o + 3] = t !== undefined && t[0] === v ? 0 : 255;
      }
      return;
    case 2:
      for (let x = 0, i = 0; x < count; x++, i += 6, o += outStep) {
        const r = s(i), g = s(i + 2), b = s(i + 4);
        out[o] = scale16(r);
        out[o + 1] = scale16(g);
        out[o + 2] = scale16(b);
        out[o + 3] = t !== undefined && t[0] === r && t[1] === g && t[2] === b ? 0 : 255;
      }
      return;
    case 4:
      for (let x = 0, i = 0; x < count; x++, i += 4, o += outStep) {
        out[o] = out[o + 1] = out[o + 2] = scale16(s(i));
        out[o + 3] = scale16(s(i + 2));
      }
      return;
    default: // 6
      for (let x = 0, i = 0; x < count; x++, i += 8, o += outStep) {
        out[o] = scale16(s(i));
        out[o + 1] = scale16(s(i + 2));
        out[o + 2] = scale16(s(i + 4));
        out[o + 3] = scale16(s(i + 6));
      }
  }
}
