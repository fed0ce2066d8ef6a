// decodeImage(): format sniffing by magic bytes, refusal of unsupported formats by name, the
// maxPixels option (validated, default 64 Mi, checked before allocation) and 16-bit PNG scaling.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { decodeImage, DEFAULT_MAX_PIXELS } from "../../image/decode_image.ts";
import { ImageDecodeError } from "../../image/image_decode_error.ts";
import { decodeJpeg } from "../../image/jpeg_decode.ts";
import { decodePng } from "../../image/png_decode.ts";
import { chunk, concat, ihdrData, png, readFixture, zlib } from "./png_helpers.ts";

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

Deno.test("decodeImage() sends PNG files to decodePng()", () => {
  for (const name of ["ct6_8bit", "ct3_4bit_trns", "ct0_16bit_adam7"]) {
    const bytes = readFixture(`${name}.png`);
    assertEquals(decodeImage(bytes), decodePng(bytes, DEFAULT_MAX_PIXELS), name);
  }
});

Deno.test("decodeImage() sends JPEG files to decodeJpeg()", () => {
  const bytes = readFixture("sniff_8x8.jpg");
  const image = decodeImage(bytes);
  assertEquals([image.width, image.height], [8, 8]);
  assertEquals(image, decodeJpeg(bytes, DEFAULT_MAX_PIXELS));
  // A broken JPEG is refused by the JPEG decoder, not reported as an unknown format.
  assertThrows(
    () => decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16])),
    ImageDecodeError,
    "Cannot decode JPEG",
  );
});

Deno.test("decodeImage() refuses a broken PNG through the PNG decoder", () => {
  assertThrows(
    () => decodeImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])),
    ImageDecodeError,
    "Cannot decode PNG: bad signature",
  );
});

Deno.test("decodeImage() names unsupported formats and suggests PNG or JPEG", () => {
  const cases: [string, Uint8Array][] = [
    ["GIF", ascii("GIF89a\x01\x00\x01\x00\x00\x00\x00")],
    ["GIF", ascii("GIF87a\x01\x00\x01\x00")],
    ["WebP", ascii("RIFF\x24\x00\x00\x00WEBPVP8 ")],
    ["BMP", concat(ascii("BM"), new Uint8Array(60))],
    ["TIFF", ascii("II*\x00\x08\x00\x00\x00")],
    ["TIFF", ascii("MM\x00*\x00\x00\x00\x08")],
    ["AVIF", ascii("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00")],
    ["HEIC/HEIF", ascii("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00")],
    ["QOI", ascii("qoif\x00\x00\x00\x01\x00\x00\x00\x01\x04\x00")],
    ["JPEG XL", new Uint8Array([0xff, 0x0a, 0xfa, 0x7f])],
    ["JPEG 2000", ascii("\x00\x00\x00\x0cjP  \r\n\x87\n")],
    ["PSD", ascii("8BPS\x00\x01")],
    ["PNM", ascii("P6\n2 2\n255\n")],
    ["SVG", ascii('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')],
  ];
  for (const [format, bytes] of cases) {
    assertThrows(
      () => decodeImage(bytes),
      ImageDecodeError,
      `${format} images are not supported; convert to PNG or JPEG`,
    );
  }
});

Deno.test("decodeImage() refuses empty and unknown input", () => {
  assertThrows(() => decodeImage(new Uint8Array(0)), ImageDecodeError, "input is empty");
  assertThrows(
    () => decodeImage(new Uint8Array([1, 2, 3, 4, 5])),
    ImageDecodeError,
    'unknown format (first bytes "01 02 03 04 05")',
  );
  assertThrows(() => decodeImage(ascii("hello world")), ImageDecodeError, "unknown format");
  assertThrows(
    () => decodeImage("not bytes" as unknown as Uint8Array),
    TypeError,
    "bytes must be a Uint8Array",
  );
});

Deno.test("decodeImage() validates maxPixels with RangeError", () => {
  const bytes = readFixture("size_1x1.png");
  for (const bad of [0, -5, 1.5, NaN, Infinity, "9" as unknown as number]) {
    assertThrows(
      () => decodeImage(bytes, { maxPixels: bad }),
      RangeError,
      'option "maxPixels" must be a positive integer',
    );
  }
  assertEquals(DEFAULT_MAX_PIXELS, 64 * 2 ** 20);
});

Deno.test("decodeImage() applies maxPixels to the header size", () => {
  const bytes = readFixture("ct6_8bit.png"); // 16x9 = 144 pixels
  assertEquals(decodeImage(bytes, { maxPixels: 144 }).width, 16);
  assertThrows(
    () => decodeImage(bytes, { maxPixels: 143 }),
    ImageDecodeError,
    "16x9 image exceeds the limit of 143 pixels",
  );
});

Deno.test("decodeImage() refuses a 100000x100000 PNG header before allocating", () => {
  const file = png(
    chunk("IHDR", ihdrData(100000, 100000, 8, 6)),
    chunk("IDAT", zlib(new Uint8Array(64))),
    chunk("IEND"),
  );
  const start = performance.now();
  assertThrows(
    () => decodeImage(file),
    ImageDecodeError,
    "100000x100000 image exceeds the limit of 67108864 pixels",
  );
  // 10^10 pixels could not even be allocated; refusing from the header takes microseconds.
  assert(performance.now() - start < 1000, "refusing the oversized header took too long");
  // Just under the limit: the header passes, and the missing data is what gets refused.
  const under = png(
    chunk("IHDR", ihdrData(8192, 8192, 16, 6)),
    chunk("IDAT", zlib(new Uint8Array(64))),
    chunk("IEND"),
  );
  assertThrows(() => decodeImage(under), ImageDecodeError, "too little image data");
});

Deno.test("decodeImage() scales 16-bit PNG samples as round(v / 257)", () => {
  const rgba16 = [0, 128, 129, 65535, 25828, 25829, 65406, 65407];
  const raw = new Uint8Array(1 + 16);
  rgba16.forEach((v, i) => {
    raw[1 + 2 * i] = v >> 8;
    raw[2 + 2 * i] = v & 255;
  });
  const file = png(chunk("IHDR", ihdrData(2, 1, 16, 6)), chunk("IDAT", zlib(raw)), chunk("IEND"));
  assertEquals(Array.from(decodeImage(file).data), [0, 0, 1, 255, 100, 101, 254, 255]);
});
