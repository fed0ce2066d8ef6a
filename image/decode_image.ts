// The one entry point for reading an image file: sniffs the format from its magic bytes, hands PNG
// and JPEG to their decoders, and refuses everything else with an ImageDecodeError that names the
// format, so the CLI can tell the user what to convert.

import { ImageDecodeError } from "./image_decode_error.ts";
import { decodeJpeg } from "./jpeg_decode.ts";
import { decodePng } from "./png_decode.ts";
import type { RgbaImage } from "./rgba_image.ts";

/** Default `maxPixels`: 64 Mi pixels (256 MiB of RGBA8), e.g. 8192x8192. */
export const DEFAULT_MAX_PIXELS = 67108864;

/** Options for {@linkcode decodeImage}. */
export interface DecodeImageOptions {
  /**
   * Refuse images with more than this many pixels, checked from the file header before any
   * pixel memory is allocated. A positive integer; default {@linkcode DEFAULT_MAX_PIXELS}.
   */
  maxPixels?: number;
}

function startsWith(bytes: Uint8Array, at: number, magic: string | number[]): boolean {
  const m = typeof magic === "string" ? Array.from(magic, (c) => c.charCodeAt(0)) : magic;
  if (bytes.length < at + m.length) return false;
  return m.every((v, i) => bytes[at + i] === v);
}

/** Names a format we recognise but do not decode, or returns undefined. */
function unsupportedFormat(b: Uint8Array): string | undefined {
  if (startsWith(b, 0, "GIF87a") || startsWith(b, 0, "GIF89a")) return "GIF";
  if (startsWith(b, 0, "RIFF") && startsWith(b, 8, "WEBP")) return "WebP";
  if (startsWith(b, 0, "II*\0") || startsWith(b, 0, "MM\0*")) return "TIFF";
  if (startsWith(b, 0, "II+\0") || startsWith(b, 0, "MM\0+")) return "BigTIFF";
  if (startsWith(b, 0, "qoif")) return "QOI";
  if (startsWith(b, 0, [0xff, 0x0a]) || startsWith(b, 4, "JXL \r\n\x87\n")) return "JPEG XL";
  if (startsWith(b, 4, "jP  \r\n\x87\n") || startsWith(b, 0, [0xff, 0x4f, 0xff, 0x51])) {
    return "JPEG 2000";
  }
  if (startsWith(b, 4, "ftyp")) {
    const brand = String.fromCharCode(...b.subarray(8, 12));
    if (brand === "avif" || brand === "avis") return "AVIF";
    if (["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"].includes(brand)) {
      return "HEIC/HEIF";
    }
  }
  if (startsWith(b, 0, "8BPS")) return "PSD";
  if (startsWith(b, 0, [0x76, 0x2f, 0x31, 0x01])) return "OpenEXR";
  if (startsWith(b, 0, "#?RADIANCE") || startsWith(b, 0, "#?RGBE")) return "Radiance HDR";
  if (startsWith(b, 0, [0, 0, 1, 0]) && b.length > 6 && b[4] + b[5] > 0) return "ICO";
  if (startsWith(b, 0, "BM") && b.length >= 26) return "BMP";
  if (
    b.length >= 3 && b[0] === 0x50 && b[1] >= 0x31 && b[1] <= 0x37 &&
    /\s/.test(String.fromCharCode(b[2]))
  ) {
    return "PNM";
  }
  const head = new TextDecoder().decode(b.subarray(0, 256)).trimStart().toLowerCase();
  if (head.startsWith("<svg") || (head.startsWith("<?xml") && head.includes("<svg"))) return "SVG";
  return undefined;
}

/**
 * Decodes a PNG or JPEG file to 8-bit RGBA, chosen by the file's magic bytes (not its name).
 * Other formats (GIF, WebP, BMP, TIFF, HEIC, AVIF, QOI, ...) are refused with an
 * `ImageDecodeError` that names them.
 *
 * @param bytes the whole file
 * @param options `maxPixels`: the size limit, checked before pixel memory is allocated
 * @returns the decoded image, not premultiplied; 16-bit PNG samples become `round(v / 257)`
 * @throws {ImageDecodeError} for an empty, unknown, unsupported, corrupt or too large file
 * @throws {RangeError} if `options.maxPixels` is not a positive integer
 * @example
 * ```ts
 * import { decodeImage } from "./decode_image.ts";
 * const image = decodeImage(await Deno.readFile("photo.jpg"), { maxPixels: 4096 * 4096 });
 * console.log(`${image.width}x${image.height}`);
 * ```
 */
export function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): RgbaImage {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot decode image: bytes must be a Uint8Array, got ${typeof bytes}`);
  }
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!Number.isSafeInteger(maxPixels) || maxPixels <= 0) {
    throw new RangeError(
      `Cannot decode image: option "maxPixels" must be a positive integer, got "${maxPixels}"`,
    );
  }
  if (bytes.length === 0) throw new ImageDecodeError("Cannot decode image: input is empty");
  if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47])) return decodePng(bytes, maxPixels);
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return decodeJpeg(bytes, maxPixels);
  const format = unsupportedFormat(bytes);
  if (format !== undefined) {
    throw new ImageDecodeError(
      `Cannot decode image: ${format} images are not supported; convert to PNG or JPEG`,
    );
  }
  const first = Array.from(bytes.subarray(0, 8), (v) => v.toString(16).padStart(2, "0"));
  throw new ImageDecodeError(
    `Cannot decode image: unknown format (first bytes "${first.join(" ")}"); ` +
      "expected PNG or JPEG",
  );
}
