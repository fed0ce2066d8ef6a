// PNG decoder (W3C PNG Specification, 3rd edition) on fflate's streaming Inflate: colour types
// 0/2/3/4/6 at every allowed bit depth, tRNS, Adam7, all five filters, CRC and Adler-32 checks.
// The header fixes the decompressed size, so inflate output is capped there: a zlib bomb costs at
// most that many bytes, and a lying header costs only what its data really inflates to.

import { ImageDecodeError } from "./image_decode_error.ts";
import { crc32 } from "./png_crc.ts";
import { inflateImageData } from "./png_inflate.ts";
import { convertRow, type PngHeader, sampleTable, unfilter } from "./png_pixels.ts";
import type { RgbaImage } from "./rgba_image.ts";

/** The 8 bytes every PNG file starts with. */
export const PNG_SIGNATURE: Uint8Array = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);

/** Allowed bit depths per colour type (PNG spec table 11.1). */
const BIT_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Adam7 passes: x0, y0, dx, dy. */
const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  width: number;
  height: number;
}

function fail(message: string): never {
  throw new ImageDecodeError(`Cannot decode PNG: ${message}`);
}

function readU32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (v) => v.toString(16).padStart(2, "0")).join(" ");
}

/** Allocates or refuses with an ImageDecodeError (a size the engine cannot allocate). */
function allocate(size: number, what: string): Uint8Array {
  try {
    return new Uint8Array(size);
  } catch {
    return fail(`cannot allocate ${size} bytes for ${what}`);
  }
}

/**
 * Decodes a PNG file to 8-bit RGBA (not premultiplied). 16-bit samples become `round(v / 257)`;
 * 1/2/4-bit greys are scaled to 0..255; tRNS becomes alpha 0 or the palette's alpha; palette
 * indices past the end of PLTE decode as opaque black. Ancillary chunks other than tRNS (gamma,
 * colour profiles, text, APNG frames) are checked for CRC and otherwise ignored.
 *
 * @param bytes the whole file
 * @param maxPixels refuse images with more than this many pixels, before allocating for them
 * @returns the decoded image
 * @throws {ImageDecodeError} for a corrupt, truncated, unsupported or too large file
 * @throws {RangeError} if `maxPixels` is not a positive integer
 * @example
 * ```ts
 * import { decodePng } from "./png_decode.ts";
 * const image = decodePng(await Deno.readFile("in.png"), 1 << 26);
 * console.log(image.width, image.height, image.data.length);
 * ```
 */
export function decodePng(bytes: Uint8Array, maxPixels: number): RgbaImage {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot decode PNG: bytes must be a Uint8Array, got ${typeof bytes}`);
  }
  if (!Number.isSafeInteger(maxPixels) || maxPixels <= 0) {
    throw new RangeError(
      `Cannot decode PNG: maxPixels must be a positive integer, got "${maxPixels}"`,
    );
  }
  if (bytes.length < 8 || PNG_SIGNATURE.some((v, i) => bytes[i] !== v)) {
    fail(`bad signature "${hex(bytes.subarray(0, 8))}", expected "${hex(PNG_SIGNATURE)}"`);
  }

  let header: PngHeader | undefined;
  let palette: Uint8Array | undefined; // RGBA, 4 bytes an entry
  let paletteSize = 0;
  let transparent: number[] | undefined; // the tRNS sample values for colour types 0 and 2
  let seenTrns = false;
  const idat: Uint8Array[] = [];
  let idatState = 0; // 0: none yet, 1: inside the IDAT run, 2: run ended
  let sawEnd = false;

  let pos = 8;
  while (pos < bytes.length) {
    if (bytes.length - pos < 12) {
      fail(`file ends inside a chunk header at offset ${pos} (${bytes.length - pos} bytes left)`);
    }
    const length = readU32(bytes, pos);
    const typeBytes = bytes.subarray(pos + 4, pos + 8);
    if (!typeBytes.every((c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) {
      fail(`bad chunk type "${hex(typeBytes)}" at offset ${pos}`);
    }
    const type = String.fromCharCode(...typeBytes);
    if (length > 0x7fffffff) fail(`chunk "${type}" length ${length} exceeds 2^31-1`);
    if (length > bytes.length - pos - 12) {
      fail(
        `chunk "${type}" length ${length} runs past end of file at offset ${pos} ` +
          `(${bytes.length - pos - 12} bytes left)`,
      );
    }
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    if (crc32(bytes, pos + 4, pos + 8 + length) !== readU32(bytes, pos + 8 + length)) {
      fail(`bad CRC in chunk "${type}" at offset ${pos}`);
    }
    pos += 12 + length;

    if (header === undefined && type !== "IHDR") fail(`first chunk is "${type}", expected "IHDR"`);
    if (idatState === 1 && type !== "IDAT") idatState = 2;
    switch (type) {
      case "IHDR":
        if (header !== undefined) fail("duplicate IHDR chunk");
        header = parseHeader(data, maxPixels);
        break;
      case "PLTE": {
        const h = header!;
        if (h.colourType === 0 || h.colourType === 4) {
          fail(`PLTE chunk in a greyscale image (colour type ${h.colourType})`);
        }
        if (idatState !== 0) fail("PLTE chunk after IDAT");
        if (palette !== undefined) fail("duplicate PLTE chunk");
        if (length === 0 || length % 3 !== 0 || length > 768) {
          fail(`PLTE length ${length} is not a multiple of 3 between 3 and 768`);
        }
        paletteSize = length / 3;
        palette = new Uint8Array(256 * 4); // entries past paletteSize stay opaque black
        for (let i = 0; i < 256; i++) {
          if (i < paletteSize) palette.set(data.subarray(i * 3, i * 3 + 3), i * 4);
          palette[i * 4 + 3] = 255;
        }
        break;
      }
      case "tRNS": {
        const h = header!;
        if (idatState !== 0) fail("tRNS chunk after IDAT");
        if (seenTrns) fail("duplicate tRNS chunk");
        seenTrns = true;
        if (h.colourType === 3) {
          if (palette === undefined) fail("tRNS chunk before PLTE");
          // Entries past the palette are meaningless; libpng ignores them too.
          for (let i = 0; i < Math.min(length, paletteSize); i++) palette[i * 4 + 3] = data[i];
        } else if (h.colourType === 0 || h.colourType === 2) {
          const expected = h.colourType === 0 ? 2 : 6;
          if (length !== expected) {
            fail(`tRNS length ${length}, expected ${expected} for colour type ${h.colourType}`);
          }
          transparent = [];
          for (let i = 0; i < length; i += 2) transparent.push((data[i] << 8) | data[i + 1]);
        }
        // Colour types 4 and 6 carry their own alpha: tRNS is not allowed and is ignored.
        break;
      }
      case "IDAT":
        if (idatState === 2) fail("IDAT chunks are not consecutive");
        if (header!.colourType === 3 && palette === undefined) {
          fail("palette image (colour type 3) without PLTE chunk before IDAT");
        }
        idatState = 1;
        idat.push(data);
        break;
      case "IEND":
        sawEnd = true;
        break;
      default:
        // Bit 5 of the first letter clear (upper case) marks a chunk needed to show the image.
        if ((typeBytes[0] & 0x20) === 0) fail(`unknown critical chunk "${type}"`);
    }
    if (sawEnd) break;
  }
  if (header === undefined) fail("no IHDR chunk");
  if (idat.length === 0) fail("no IDAT chunk");
  if (!sawEnd) fail("missing IEND chunk");

  const passes = imagePasses(header);
  const bitsPerPixel = CHANNELS[header.colourType] * header.bitDepth;
  let expected = 0;
  for (const p of passes) expected += p.height * (1 + rowBytes(p.width, bitsPerPixel));
  const raw = inflateImageData(idat, expected);

  const h = header;
  const out = allocate(h.width * h.height * 4, `a ${h.width}x${h.height} image`);
  const lut = sampleTable(h, palette, transparent);
  const filterBpp = Math.max(1, bitsPerPixel >> 3);
  let offset = 0;
  passes.forEach((p, index) => {
    const stride = rowBytes(p.width, bitsPerPixel);
    unfilter(
      raw,
      offset,
      stride,
      p.height,
      filterBpp,
      h.interlaced ? ` of Adam7 pass ${index + 1}` : "",
    );
    for (let y = 0; y < p.height; y++) {
      const row = raw.subarray(offset + y * (stride + 1) + 1, offset + (y + 1) * (stride + 1));
      const outStart = ((p.y0 + y * p.dy) * h.width + p.x0) * 4;
      convertRow(row, p.width, out, outStart, p.dx * 4, h, lut, transparent);
    }
    offset += p.height * (stride + 1);
  });
  return { width: header.width, height: header.height, data: out };
}

function parseHeader(data: Uint8Array, maxPixels: number): PngHeader {
  if (data.length !== 13) fail(`IHDR length ${data.length}, expected 13`);
  const width = readU32(data, 0);
  const height = readU32(data, 4);
  const [bitDepth, colourType, compression, filter, interlace] = data.subarray(8, 13);
  if (width === 0 || height === 0) fail(`zero size ${width}x${height}`);
  if (width > 0x7fffffff || height > 0x7fffffff) {
    fail(`size ${width}x${height} exceeds 2^31-1 in a dimension`);
  }
  const depths = BIT_DEPTHS[colourType];
  if (depths === undefined) fail(`bad colour type ${colourType}`);
  if (!depths.includes(bitDepth)) fail(`bad bit depth ${bitDepth} for colour type ${colourType}`);
  if (compression !== 0) fail(`unknown compression method ${compression}`);
  if (filter !== 0) fail(`unknown filter method ${filter}`);
  if (interlace > 1) fail(`unknown interlace method ${interlace}`);
  if (width * height > maxPixels) {
    fail(`${width}x${height} image exceeds the limit of ${maxPixels} pixels (maxPixels)`);
  }
  return { width, height, bitDepth, colourType, interlaced: interlace === 1 };
}

function rowBytes(width: number, bitsPerPixel: number): number {
  return Math.ceil((width * bitsPerPixel) / 8);
}

function imagePasses(h: PngHeader): Pass[] {
  if (!h.interlaced) return [{ x0: 0, y0: 0, dx: 1, dy: 1, width: h.width, height: h.height }];
  return ADAM7.map(([x0, y0, dx, dy]) => {
    const width = h.width > x0 ? Math.ceil((h.width - x0) / dx) : 0;
    const height = h.height > y0 ? Math.ceil((h.height - y0) / dy) : 0;
    // An empty pass has no rows at all, not even filter bytes.
    const empty = width === 0 || height === 0;
    return { x0, y0, dx, dy, width: empty ? 0 : width, height: empty ? 0 : height };
  });
}
