// encodePng(): exact round trips through decodePng, the file structure (signature, IHDR fields,
// CRCs checked with a separately written CRC-32, chunk order), filter choice, and validation.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { unzlibSync } from "fflate";
import { encodePng } from "../../image/encode_png.ts";
import { crc32 } from "../../image/png_crc.ts";
import { decodePng } from "../../image/png_decode.ts";
import type { RgbaImage } from "../../image/rgba_image.ts";
import { crc, listChunks, mulberry32, SIGNATURE } from "./png_helpers.ts";

const MAX = 1 << 26;

function noiseImage(width: number, height: number, seed: number): RgbaImage {
  const rand = mulberry32(seed);
  const data = new Uint8Array(width * height * 4).map(() => Math.floor(rand() * 256));
  return { width, height, data };
}

function smoothImage(width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data.set([(x * 255) / width, (y * 255) / height, ((x + y) * 3) & 255, 255 - x], i);
    }
  }
  return { width, height, data };
}

Deno.test("crc32() and the test helper's CRC agree with the standard check values", () => {
  const text = new TextEncoder();
  for (const [input, want] of [["123456789", 0xcbf43926], ["IEND", 0xae426082], ["", 0]] as const) {
    assertEquals(crc32(text.encode(input)), want, input);
    assertEquals(crc(text.encode(input)), want, input);
  }
  const bytes = new Uint8Array(1000).map((_, i) => (i * 131) & 255);
  assertEquals(crc32(bytes, 10, 900), crc(bytes.subarray(10, 900)));
});

Deno.test("encodePng() round-trips exactly through decodePng()", () => {
  const images = [
    noiseImage(1, 1, 1),
    noiseImage(7, 5, 2),
    noiseImage(33, 17, 3),
    noiseImage(256, 3, 4),
    noiseImage(1, 40, 5),
    smoothImage(64, 48),
    { width: 3, height: 2, data: new Uint8Array(24) }, // all transparent black
  ];
  for (const image of images) {
    const back = decodePng(encodePng(image), MAX);
    assertEquals([back.width, back.height], [image.width, image.height]);
    assertEquals(back.data, image.data, `${image.width}x${image.height}`);
  }
});

Deno.test("encodePng() writes the signature, an RGBA8 IHDR, valid CRCs and IHDR IDAT IEND", () => {
  const file = encodePng(noiseImage(33, 17, 6));
  assertEquals(file.subarray(0, 8), SIGNATURE);
  const chunks = listChunks(file);
  const last = chunks[chunks.length - 1];
  assertEquals(last.offset + 12 + last.length, file.length, "chunks must cover the whole file");
  assertEquals(chunks[0].type, "IHDR");
  assertEquals(chunks[chunks.length - 1].type, "IEND");
  assert(chunks.slice(1, -1).every((c) => c.type === "IDAT"));
  const view = new DataView(file.buffer, file.byteOffset);
  for (const c of chunks) {
    const stored = view.getUint32(c.offset + 8 + c.length);
    assertEquals(stored, crc(file.subarray(c.offset + 4, c.offset + 8 + c.length)), c.type);
  }
  assertEquals(chunks[0].length, 13);
  assertEquals([view.getUint32(16), view.getUint32(20)], [33, 17]);
  assertEquals(Array.from(file.subarray(24, 29)), [8, 6, 0, 0, 0]);
});

Deno.test("encodePng() picks per-row filters and compresses a gradient well", () => {
  const image = smoothImage(128, 64);
  const file = encodePng(image);
  const idat = listChunks(file).filter((c) => c.type === "IDAT");
  const z = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  let pos = 0;
  for (const c of idat) {
    z.set(file.subarray(c.offset + 8, c.offset + 8 + c.length), pos);
    pos += c.length;
  }
  const raw = unzlibSync(z);
  const stride = 128 * 4 + 1;
  assertEquals(raw.length, stride * 64);
  const filters = Array.from({ length: 64 }, (_, y) => raw[y * stride]);
  assert(filters.every((f) => f <= 4));
  assert(filters.some((f) => f !== 0), "a gradient should not be stored unfiltered");
  assert(file.length < image.data.length / 10, `gradient compressed to only ${file.length} bytes`);
});

Deno.test("encodePng() validates the image with TypeError and RangeError", () => {
  const data = new Uint8Array(16);
  assertThrows(() => encodePng(null as unknown as RgbaImage), TypeError, "image must be an object");
  assertThrows(
    () => encodePng({ width: 2, height: 2, data: [] as unknown as Uint8Array }),
    TypeError,
    "data must be a Uint8Array",
  );
  assertThrows(
    () => encodePng({ width: "2" as unknown as number, height: 2, data }),
    TypeError,
    "width must be a number",
  );
  assertThrows(
    () => encodePng({ width: 0, height: 2, data }),
    RangeError,
    'width must be an integer from 1 to 2^31-1, got "0"',
  );
  assertThrows(
    () => encodePng({ width: 2, height: 1.5, data }),
    RangeError,
    "height must be an integer",
  );
  assertThrows(
    () => encodePng({ width: 2, height: 2, data: new Uint8Array(15) }),
    RangeError,
    "data has 15 bytes, expected 16 for a 2x2 RGBA image",
  );
});
