// decodePng(): conformance against ImageMagick's pixels for the fixtures made by
// tools/make_png_fixtures.py (every colour type and bit depth, tRNS, Adam7, each filter, split
// IDAT, ancillary chunks), 16-bit scaling, and one refusal test per malformed-input case.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { ImageDecodeError } from "../../image/image_decode_error.ts";
import { decodePng } from "../../image/png_decode.ts";
import {
  chunk,
  concat,
  fixCrc,
  ihdrData,
  listChunks,
  png,
  readFixture,
  rgbaPng,
  zlib,
} from "./png_helpers.ts";

const MAX = 1 << 26;

interface Fixture {
  name: string;
  width: number;
  height: number;
  reference: string;
  description: string;
}

const manifest: { fixtures: Fixture[] } = JSON.parse(
  new TextDecoder().decode(readFixture("manifest.json")),
);

/** The RGBA8 a decoder must give: references in `.rgba16` are scaled as round(v / 257). */
function expectedPixels(f: Fixture): Uint8Array {
  const ref = readFixture(f.reference);
  if (!f.reference.endsWith(".rgba16")) return ref;
  const out = new Uint8Array(ref.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.round(((ref[2 * i] << 8) | ref[2 * i + 1]) / 257);
  }
  return out;
}

Deno.test("decodePng() matches ImageMagick on every fixture in tests/fixtures/png", () => {
  assert(manifest.fixtures.length >= 70, "fixture manifest is unexpectedly short");
  for (const f of manifest.fixtures) {
    const image = decodePng(readFixture(`${f.name}.png`), MAX);
    assertEquals([image.width, image.height], [f.width, f.height], f.name);
    const want = expectedPixels(f);
    assertEquals(image.data.length, want.length, f.name);
    const bad = image.data.findIndex((v, i) => v !== want[i]);
    assert(
      bad < 0,
      `${f.name} (${f.description}): pixel ${bad >> 2} channel ${bad & 3} is ${image.data[bad]}, ` +
        `ImageMagick says ${want[bad]}`,
    );
  }
});

Deno.test("decodePng() fixtures cover every colour type, bit depth, Adam7 and filter", () => {
  const names = new Set(manifest.fixtures.map((f) => f.name));
  for (const n of ["ct0_1bit", "ct0_2bit", "ct0_4bit", "ct0_8bit", "ct0_16bit", "ct2_8bit"]) {
    assert(names.has(n) && names.has(`${n}_adam7`), n);
  }
  for (const n of ["ct2_16bit", "ct3_1bit", "ct3_2bit", "ct3_4bit", "ct3_8bit", "ct4_8bit"]) {
    assert(names.has(n) && names.has(`${n}_adam7`), n);
  }
  for (const n of ["ct4_16bit", "ct6_8bit", "ct6_16bit"]) {
    assert(names.has(n) && names.has(`${n}_adam7`), n);
  }
  for (let f = 0; f < 5; f++) assert(names.has(`filter${f}_ct6_8bit`));
  assert(names.has("ct0_16bit_trns") && names.has("ct2_8bit_trns") && names.has("ct3_8bit_trns"));
  assert(names.has("multi_idat") && names.has("multi_idat_empty_adam7"));
});

Deno.test("decodePng() scales 16-bit samples as round(v / 257)", () => {
  const values = [0, 128, 129, 25828, 25829, 65406, 65407, 65535];
  const raw = new Uint8Array(1 + values.length * 2);
  values.forEach((v, i) => {
    raw[1 + 2 * i] = v >> 8;
    raw[2 + 2 * i] = v & 255;
  });
  const file = png(
    chunk("IHDR", ihdrData(values.length, 1, 16, 0)),
    chunk("IDAT", zlib(raw)),
    chunk("IEND"),
  );
  const image = decodePng(file, MAX);
  const grey = Array.from({ length: values.length }, (_, i) => image.data[i * 4]);
  assertEquals(grey, [0, 0, 1, 100, 101, 254, 255, 255]);
  assert(image.data.every((v, i) => i % 4 !== 3 || v === 255));
});

Deno.test("decodePng() ignores tRNS in colour types 4 and 6 and data after IEND", () => {
  const raw = new Uint8Array([0, 10, 20, 30, 40]);
  const file = concat(
    png(
      chunk("IHDR", ihdrData(1, 1, 8, 6)),
      chunk("tRNS", new Uint8Array(6)),
      chunk("IDAT", zlib(raw)),
      chunk("IEND"),
    ),
    new Uint8Array([1, 2, 3]),
  );
  assertEquals(Array.from(decodePng(file, MAX).data), [10, 20, 30, 40]);
});

Deno.test("decodePng() refuses a maxPixels that is not a positive integer with RangeError", () => {
  const file = readFixture("size_1x1.png");
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assertThrows(() => decodePng(file, bad), RangeError, "maxPixels must be a positive integer");
  }
});

// --- refusals: each malformed input throws ImageDecodeError naming the problem ---------------

const GOOD = rgbaPng(2, 2, new Uint8Array([0, 0, 1, 2, 3, 4, 5, 6, 7, 1, 9, 9, 9, 9, 8, 8, 8, 8]));
const IHDR_RGBA_2X2 = chunk("IHDR", ihdrData(2, 2, 8, 6));
const IDAT_RGBA_2X2 = listChunks(GOOD).find((c) => c.type === "IDAT")!;
const IDAT_CHUNK = GOOD.subarray(
  IDAT_RGBA_2X2.offset,
  IDAT_RGBA_2X2.offset + IDAT_RGBA_2X2.length + 12,
);
const IEND = chunk("IEND");

function refuses(file: Uint8Array, message: string, maxPixels = MAX): void {
  assertThrows(() => decodePng(file, maxPixels), ImageDecodeError, message);
}

/** A file with the given IHDR data and a zlib stream of `raw`. */
function withHeader(header: Uint8Array, raw: Uint8Array, ...extra: Uint8Array[]): Uint8Array {
  return png(chunk("IHDR", header), ...extra, chunk("IDAT", zlib(raw)), IEND);
}

Deno.test("decodePng() accepts the hand-built file the refusal tests start from", () => {
  const image = decodePng(GOOD, MAX);
  assertEquals(Array.from(image.data.subarray(0, 8)), [0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals(Array.from(image.data.subarray(8)), [9, 9, 9, 9, 17, 17, 17, 17]);
});

Deno.test("decodePng() refuses a bad signature", () => {
  refuses(new Uint8Array(0), "bad signature");
  refuses(new Uint8Array([137, 80, 78, 71]), "bad signature");
  const crlf = GOOD.slice();
  crlf[4] = 10; // a "text mode" transfer turned \r\n into \n
  refuses(crlf, "bad signature");
});

Deno.test("decodePng() refuses a bad CRC and names the chunk", () => {
  for (const c of listChunks(GOOD)) {
    const file = GOOD.slice();
    file[c.offset + 8 + c.length] ^= 1;
    refuses(file, `bad CRC in chunk "${c.type}"`);
  }
  const data = GOOD.slice();
  data[IDAT_RGBA_2X2.offset + 10] ^= 0x40;
  refuses(data, 'bad CRC in chunk "IDAT"');
});

Deno.test("decodePng() refuses truncated files and chunk lengths past end of file", () => {
  for (const cut of [9, 20, 33, 40, GOOD.length - 12, GOOD.length - 1]) {
    assertThrows(() => decodePng(GOOD.subarray(0, cut), MAX), ImageDecodeError);
  }
  refuses(GOOD.subarray(0, 15), "file ends inside a chunk header at offset 8");
  refuses(GOOD.subarray(0, 40), "file ends inside a chunk header at offset 33");
  refuses(GOOD.subarray(0, 25), 'chunk "IHDR" length 13 runs past end of file');
  const lying = GOOD.slice();
  new DataView(lying.buffer).setUint32(IDAT_RGBA_2X2.offset, 100000);
  refuses(lying, 'chunk "IDAT" length 100000 runs past end of file');
  const huge = GOOD.slice();
  new DataView(huge.buffer).setUint32(IDAT_RGBA_2X2.offset, 0x80000000);
  refuses(huge, "exceeds 2^31-1");
  refuses(GOOD.subarray(0, GOOD.length - 12), "missing IEND chunk");
});

Deno.test("decodePng() refuses bad chunk types and a first chunk other than IHDR", () => {
  refuses(png(chunk("IH#R", ihdrData(2, 2, 8, 6))), "bad chunk type");
  refuses(png(chunk("IDAT", new Uint8Array(4)), IHDR_RGBA_2X2), 'first chunk is "IDAT"');
  refuses(png(), "no IHDR chunk");
  refuses(png(IHDR_RGBA_2X2, IHDR_RGBA_2X2, IDAT_CHUNK, IEND), "duplicate IHDR chunk");
  refuses(png(chunk("IHDR", new Uint8Array(12)), IDAT_CHUNK, IEND), "IHDR length 12, expected 13");
});

Deno.test("decodePng() refuses zero, oversized and over-limit dimensions", () => {
  const raw = new Uint8Array(9);
  refuses(withHeader(ihdrData(0, 2, 8, 6), raw), "zero size 0x2");
  refuses(withHeader(ihdrData(2, 0, 8, 6), raw), "zero size 2x0");
  refuses(withHeader(ihdrData(0x80000000, 1, 8, 6), raw), "exceeds 2^31-1");
  refuses(withHeader(ihdrData(2, 2, 8, 6), raw), "exceeds the limit of 3 pixels", 3);
  refuses(withHeader(ihdrData(100000, 100000, 8, 6), raw), "100000x100000 image exceeds the limit");
});

Deno.test("decodePng() refuses bad bit depths, colour types and methods", () => {
  const raw = new Uint8Array(9);
  refuses(withHeader(ihdrData(2, 2, 3, 2), raw), "bad bit depth 3 for colour type 2");
  refuses(withHeader(ihdrData(2, 2, 4, 2), raw), "bad bit depth 4 for colour type 2");
  refuses(withHeader(ihdrData(2, 2, 16, 3), raw), "bad bit depth 16 for colour type 3");
  refuses(withHeader(ihdrData(2, 2, 1, 6), raw), "bad bit depth 1 for colour type 6");
  refuses(withHeader(ihdrData(2, 2, 8, 5), raw), "bad colour type 5");
  refuses(withHeader(ihdrData(2, 2, 8, 6, 0, 1), raw), "unknown compression method 1");
  refuses(withHeader(ihdrData(2, 2, 8, 6, 0, 0, 1), raw), "unknown filter method 1");
  refuses(withHeader(ihdrData(2, 2, 8, 6, 2), raw), "unknown interlace method 2");
});

Deno.test("decodePng() refuses palette images without PLTE and misplaced or bad PLTE", () => {
  const raw = new Uint8Array([0, 0, 0, 0]);
  const hdr = ihdrData(2, 2, 8, 3);
  refuses(withHeader(hdr, raw), "palette image (colour type 3) without PLTE");
  refuses(
    withHeader(ihdrData(2, 2, 8, 0), raw, chunk("PLTE", new Uint8Array(3))),
    "PLTE chunk in a greyscale image",
  );
  refuses(withHeader(hdr, raw, chunk("PLTE", new Uint8Array(4))), "PLTE length 4");
  refuses(withHeader(hdr, raw, chunk("PLTE", new Uint8Array(0))), "PLTE length 0");
  refuses(
    withHeader(hdr, raw, chunk("PLTE", new Uint8Array(3)), chunk("PLTE", new Uint8Array(3))),
    "duplicate PLTE chunk",
  );
  refuses(
    png(chunk("IHDR", ihdrData(2, 2, 8, 2)), IDAT_CHUNK, chunk("PLTE", new Uint8Array(3)), IEND),
    "PLTE chunk after IDAT",
  );
});

Deno.test("decodePng() refuses misplaced or wrong-sized tRNS", () => {
  const raw = new Uint8Array([0, 0, 0, 0]);
  const hdr = ihdrData(2, 2, 8, 3);
  refuses(
    withHeader(hdr, raw, chunk("tRNS", new Uint8Array(1)), chunk("PLTE", new Uint8Array(3))),
    "tRNS chunk before PLTE",
  );
  refuses(
    withHeader(ihdrData(2, 2, 8, 0), new Uint8Array(6), chunk("tRNS", new Uint8Array(6))),
    "tRNS length 6, expected 2 for colour type 0",
  );
  refuses(
    withHeader(ihdrData(2, 2, 8, 2), new Uint8Array(14), chunk("tRNS", new Uint8Array(2))),
    "tRNS length 2, expected 6 for colour type 2",
  );
  refuses(
    png(IHDR_RGBA_2X2, IDAT_CHUNK, chunk("tRNS", new Uint8Array(0)), IEND),
    "tRNS chunk after IDAT",
  );
});

Deno.test("decodePng() refuses unknown critical chunks and skips unknown ancillary ones", () => {
  refuses(
    png(IHDR_RGBA_2X2, chunk("ABCD", new Uint8Array(2)), IDAT_CHUNK, IEND),
    'unknown critical chunk "ABCD"',
  );
  const ok = png(IHDR_RGBA_2X2, chunk("abCD", new Uint8Array(2)), IDAT_CHUNK, IEND);
  assertEquals(decodePng(ok, MAX).data, decodePng(GOOD, MAX).data);
});

Deno.test("decodePng() refuses missing and non-consecutive IDAT chunks", () => {
  refuses(png(IHDR_RGBA_2X2, IEND), "no IDAT chunk");
  const z = zlib(new Uint8Array(18));
  refuses(
    png(
      IHDR_RGBA_2X2,
      chunk("IDAT", z.subarray(0, 5)),
      chunk("tEXt", new Uint8Array(1)),
      chunk("IDAT", z.subarray(5)),
      IEND,
    ),
    "IDAT chunks are not consecutive",
  );
});

Deno.test("decodePng() refuses bad zlib streams", () => {
  const z = zlib(new Uint8Array(18));
  const withIdat = (data: Uint8Array) => png(IHDR_RGBA_2X2, chunk("IDAT", data), IEND);
  refuses(withIdat(new Uint8Array([0x78])), "bad zlib stream");
  refuses(withIdat(concat(new Uint8Array([0x79, 0x9c]), z.subarray(2))), "bad zlib stream");
  refuses(withIdat(concat(new Uint8Array([0x78, 0x9d]), z.subarray(2))), "bad zlib stream");
  refuses(withIdat(concat(new Uint8Array([0x78, 0xbb]), z.subarray(2))), "preset dictionary");
  // BTYPE 3 is reserved: fflate reports an invalid block type.
  refuses(withIdat(new Uint8Array([0x78, 0x9c, 0x07, 0, 0, 0, 0, 0])), "bad zlib stream");
  const badAdler = z.slice();
  badAdler[badAdler.length - 1] ^= 1;
  refuses(withIdat(badAdler), "Adler-32 checksum mismatch");
  // A truncated stream (the last 4 bytes read as the checksum are deflate data).
  const noise = new Uint8Array(8 * 33).map((_, i) => (i % 33 === 0 ? 0 : (i * 7919) % 251));
  const big = zlib(noise);
  refuses(
    png(chunk("IHDR", ihdrData(8, 8, 8, 6)), chunk("IDAT", big.subarray(0, big.length - 30)), IEND),
    "bad zlib stream (unexpected EOF)",
  );
});

Deno.test("decodePng() refuses too little and too much image data", () => {
  refuses(
    withHeader(ihdrData(2, 2, 8, 6), new Uint8Array(17)),
    "too little image data: 17 bytes, expected 18",
  );
  refuses(withHeader(ihdrData(2, 2, 8, 6), new Uint8Array(0)), "too little image data: 0 bytes");
  // A zlib bomb: 64 MiB of zeros for a 2x2 header. Refused after the first inflate step.
  const bomb = zlib(new Uint8Array(64 << 20));
  refuses(png(IHDR_RGBA_2X2, chunk("IDAT", bomb), IEND), "too much image data");
});

Deno.test("decodePng() refuses a header that lies about the size without allocating for it", () => {
  // 8192x8192 RGBA16 would need 512 MiB of scanlines; only 18 bytes of data exist.
  const file = withHeader(ihdrData(8192, 8192, 16, 6), new Uint8Array(18));
  refuses(file, "too little image data: 18 bytes", 8192 * 8192);
});

Deno.test("decodePng() refuses bad filter types and names the row and pass", () => {
  refuses(
    withHeader(
      ihdrData(2, 2, 8, 6),
      new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 5, 0, 0, 0, 0, 0, 0, 0, 0]),
    ),
    "bad filter type 5 in row 1",
  );
  // 1x1 Adam7 has only pass 1: one row of filter byte + one grey sample.
  refuses(
    withHeader(ihdrData(1, 1, 8, 0, 1), new Uint8Array([9, 0])),
    "bad filter type 9 in row 0 of Adam7 pass 1",
  );
});

Deno.test("decodePng() refusal of a fixed-up header still checks the CRC first", () => {
  const file = GOOD.slice();
  new DataView(file.buffer).setUint32(16, 100000);
  refuses(file, 'bad CRC in chunk "IHDR"');
  fixCrc(file, 8);
  refuses(file, "100000x2 image exceeds the limit of 4 pixels", 4);
});
