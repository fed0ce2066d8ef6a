// PNG encoder for RgbaImage: always 8-bit RGBA, not interlaced, one filter a row chosen by
// libpng's heuristic (smallest sum of absolute values of the filtered bytes, read as signed),
// deflated with fflate's zlibSync.

import { zlibSync } from "fflate";
import { crc32 } from "./png_crc.ts";
import { PNG_SIGNATURE } from "./png_decode.ts";
import type { RgbaImage } from "./rgba_image.ts";

/** IDAT chunks are cut at this size; any size up to 2^31-1 is valid PNG. */
const IDAT_CHUNK_SIZE = 1 << 20;

/**
 * Encodes an RGBA8 image as a PNG file (colour type 6, bit depth 8, no interlacing).
 *
 * @param image the pixels; `data` must hold exactly `width * height * 4` bytes
 * @returns the PNG file bytes
 * @throws {TypeError} if `image` or `image.data` has the wrong type
 * @throws {RangeError} if a dimension is not an integer in 1..2^31-1 or `data` has the wrong length
 * @example
 * ```ts
 * import { encodePng } from "./encode_png.ts";
 * const red = { width: 1, height: 1, data: new Uint8Array([255, 0, 0, 255]) };
 * await Deno.writeFile("red.png", encodePng(red));
 * ```
 */
export function encodePng(image: RgbaImage): Uint8Array {
  if (typeof image !== "object" || image === null) {
    throw new TypeError(`Cannot encode PNG: image must be an object, got ${image}`);
  }
  const { width, height, data } = image;
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (typeof v !== "number") {
      throw new TypeError(`Cannot encode PNG: ${name} must be a number, got ${typeof v}`);
    }
    if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) {
      throw new RangeError(
        `Cannot encode PNG: ${name} must be an integer from 1 to 2^31-1, got "${v}"`,
      );
    }
  }
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot encode PNG: data must be a Uint8Array, got ${
        data === null ? "null" : (data as object)?.constructor?.name ?? typeof data
      }`,
    );
  }
  const stride = width * 4;
  if (data.length !== stride * height) {
    throw new RangeError(
      `Cannot encode PNG: data has ${data.length} bytes, expected ${
        stride * height
      } for a ${width}x${height} RGBA image`,
    );
  }

  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const cur = y * stride;
    const prev = y > 0 ? cur - stride : -1;
    const type = bestFilter(data, cur, prev, stride);
    filterRow(data, cur, prev, stride, type, raw, y * (stride + 1));
  }
  const zlib = zlibSync(raw, { level: 6 });

  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 6, 0, 0, 0], 8); // bit depth 8, RGBA, deflate, adaptive filters, no interlace
  const chunks: Uint8Array[] = [PNG_SIGNATURE.slice(), chunk("IHDR", header)];
  for (let i = 0; i < zlib.length; i += IDAT_CHUNK_SIZE) {
    chunks.push(chunk("IDAT", zlib.subarray(i, i + IDAT_CHUNK_SIZE)));
  }
  chunks.push(chunk("IEND", new Uint8Array(0)));
  let size = 0;
  for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** Length, type, data and CRC of one chunk. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 12);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** |v| of a filtered byte read as signed, the cost libpng's heuristic sums. */
function cost(v: number): number {
  v &= 255;
  return v < 128 ? v : 256 - v;
}

/** The filter type (0..4) whose output for this row has the smallest sum of costs. */
function bestFilter(data: Uint8Array, cur: number, prev: number, stride: number): number {
  let none = 0, sub = 0, up = 0, avg = 0, pae = 0;
  for (let i = 0; i < stride; i++) {
    const x = data[cur + i];
    const left = i >= 4 ? data[cur + i - 4] : 0;
    const above = prev >= 0 ? data[prev + i] : 0;
    const upLeft = i >= 4 && prev >= 0 ? data[prev + i - 4] : 0;
    none += cost(x);
    sub += cost(x - left);
    up += cost(x - above);
    avg += cost(x - ((left + above) >> 1));
    pae += cost(x - paeth(left, above, upLeft));
  }
  const sums = [none, sub, up, avg, pae];
  let best = 0;
  for (let t = 1; t < 5; t++) if (sums[t] < sums[best]) best = t;
  return best;
}

/** Writes the filter-type byte and the row filtered with `type` to `out[at...]`. */
function filterRow(
  data: Uint8Array,
  cur: number,
  prev: number,
  stride: number,
  type: number,
  out: Uint8Array,
  at: number,
): void {
  out[at] = type;
  const o = at + 1;
  for (let i = 0; i < stride; i++) {
    const x = data[cur + i];
    const left = i >= 4 ? data[cur + i - 4] : 0;
    const above = prev >= 0 ? data[prev + i] : 0;
    let pred = 0;
    if (type === 1) pred = left;
    else if (type === 2) pred = above;
    else if (type === 3) pred = (left + above) >> 1;
    else if (type === 4) pred = paeth(left, above, i >= 4 && prev >= 0 ? data[prev + i - 4] : 0);
    out[o + i] = x - pred;
  }
}
