// encodeJpeg() reproduces cjpeg (libjpeg-turbo 2.1.5) byte for byte on the fixture sources, and
// round-trips through decodeJpeg(). Fixtures: tools/make_jpeg_fixtures.sh.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { encodeJpeg, type EncodeJpegOptions } from "../../image/jpeg_encode.ts";
import { decodeJpeg } from "../../image/jpeg_decode.ts";
import type { RgbaImage } from "../../image/rgba_image.ts";

const DIR = new URL("../fixtures/jpeg/", import.meta.url);

/** Reads a binary PPM (P6, maxval 255) as RGBA. */
function readPpm(bytes: Uint8Array): RgbaImage {
  const head = new TextDecoder().decode(bytes.subarray(0, 32));
  const m = head.match(/^P6\s+(\d+)\s+(\d+)\s+255\s/);
  assert(m, "not a binary PPM");
  const [w, h] = [Number(m[1]), Number(m[2])];
  const px = bytes.subarray(m[0].length);
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    data.set(px.subarray(3 * i, 3 * i + 3), 4 * i);
    data[4 * i + 3] = 255;
  }
  return { width: w, height: h, data };
}

const source = (size: string) => readPpm(Deno.readFileSync(new URL(`src_${size}.ppm`, DIR)));

/** [cjpeg output, source size, options equivalent to its cjpeg arguments] */
const CASES: [string, string, EncodeJpegOptions][] = [
  ["base420_50x31", "50x31", { quality: 90, subsampling: "4:2:0" }],
  ["base420_33x17", "33x17", { quality: 90 }],
  ["base422_33x17", "33x17", { quality: 90, subsampling: "4:2:2" }],
  ["base444_16x16", "16x16", { quality: 90, subsampling: "4:4:4" }],
  ["base444_50x31", "50x31", { quality: 90, subsampling: "4:4:4" }],
  ["q100_444_33x17", "33x17", { quality: 100, subsampling: "4:4:4" }],
  ["baseline30_420_17x9", "17x9", { quality: 30, subsampling: "4:2:0" }],
  ["baseline60_422_50x31", "50x31", { quality: 60, subsampling: "4:2:2" }],
];

for (const [name, size, options] of CASES) {
  Deno.test(`encodeJpeg() is byte-identical to cjpeg for ${name}.jpg`, () => {
    const expected = Deno.readFileSync(new URL(`${name}.jpg`, DIR));
    const got = encodeJpeg(source(size), options);
    let first = -1;
    for (let i = 0; i < Math.max(got.length, expected.length) && first < 0; i++) {
      if (got[i] !== expected[i]) first = i;
    }
    assertEquals(
      first,
      -1,
      `first differing byte at ${first} (${got.length} vs ${expected.length})`,
    );
  });
}

Deno.test("encodeJpeg() round-trips a smooth image through decodeJpeg() above PSNR 35 dB", () => {
  const [w, h] = [67, 45];
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 4 * (y * w + x);
      data[i] = 128 + 100 * Math.sin(x / 9);
      data[i + 1] = 128 + 100 * Math.cos(y / 7);
      data[i + 2] = 128 + 80 * Math.sin((x + y) / 11);
      data[i + 3] = 255;
    }
  }
  const img = { width: w, height: h, data };
  for (const subsampling of ["4:4:4", "4:2:2", "4:2:0"] as const) {
    const back = decodeJpeg(encodeJpeg(img, { quality: 95, subsampling }), 1 << 20);
    assertEquals([back.width, back.height], [w, h]);
    let se = 0;
    for (let i = 0; i < img.data.length; i++) se += (img.data[i] - back.data[i]) ** 2;
    const psnr = 10 * Math.log10((255 * 255) / (se / img.data.length));
    assert(psnr > 35, `${subsampling}: PSNR ${psnr.toFixed(1)} dB`);
  }
});

Deno.test("encodeJpeg() handles 1x1 and odd sizes", () => {
  for (const [w, h] of [[1, 1], [1, 17], [17, 1], [9, 9]]) {
    const data = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));
    const back = decodeJpeg(encodeJpeg({ width: w, height: h, data }), 1 << 20);
    assertEquals([back.width, back.height], [w, h]);
  }
});

Deno.test("encodeJpeg() rejects invalid arguments with RangeError", () => {
  const px = new Uint8Array(4);
  assertThrows(() => encodeJpeg({ width: 0, height: 1, data: px }), RangeError, "image size 0x1");
  assertThrows(() => encodeJpeg({ width: 2, height: 1, data: px }), RangeError, "expected 8");
  assertThrows(
    () => encodeJpeg({ width: 1, height: 1, data: px }, { quality: 0 }),
    RangeError,
    "quality 0 is outside 1..100",
  );
});
