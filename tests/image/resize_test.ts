// resizeImage(): constant images stay constant, downscaling averages (antialiasing), an
// upscale-then-downscale round trip stays close, alpha is premultiplied, sizes are validated, and
// opaque results match Pillow's (references from tools/make_png_fixtures.py) within 1.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { decodePng } from "../../image/png_decode.ts";
import type { RgbaImage } from "../../image/rgba_image.ts";
import { type ResizeFilter, resizeImage } from "../../image/resize.ts";
import { readFixture } from "./png_helpers.ts";

const FILTERS: ResizeFilter[] = ["lanczos3", "bicubic"];

function constant(width: number, height: number, rgba: number[]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set(rgba, i);
  return { width, height, data };
}

function checker(size: number): RgbaImage {
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = (x + y) % 2 ? 255 : 0;
      data.set([v, v, v, 255], (y * size + x) * 4);
    }
  }
  return { width: size, height: size, data };
}

function smooth(width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width, v = y / height;
      data.set([
        128 + 100 * Math.sin(2 * Math.PI * u),
        128 + 100 * Math.cos(2 * Math.PI * v),
        255 * u * v,
        255,
      ], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

Deno.test("resizeImage() keeps a constant image constant", () => {
  for (const filter of FILTERS) {
    for (const rgba of [[10, 200, 37, 255], [90, 40, 250, 128], [0, 0, 0, 0]]) {
      const image = constant(13, 7, rgba);
      for (const [w, h] of [[5, 3], [40, 21], [13, 20], [1, 1], [27, 2]]) {
        const out = resizeImage(image, w, h, { filter });
        assertEquals([out.width, out.height], [w, h]);
        assertEquals(out.data, constant(w, h, rgba).data, `${filter} ${rgba} to ${w}x${h}`);
      }
    }
  }
});

Deno.test("resizeImage() averages a 2x2 checker to mid grey", () => {
  for (const filter of FILTERS) {
    const out = resizeImage(checker(2), 1, 1, { filter });
    assert(out.data[0] === 127 || out.data[0] === 128, `${filter}: ${out.data}`);
    assertEquals(out.data[0], out.data[1]);
    assertEquals(out.data[3], 255);
    // A larger checker halved: away from the edges every pixel is the average, not aliased.
    const big = resizeImage(checker(32), 16, 16, { filter });
    for (let y = 4; y < 12; y++) {
      for (let x = 4; x < 12; x++) {
        const v = big.data[(y * 16 + x) * 4];
        assert(Math.abs(v - 127.5) <= 1, `${filter}: pixel ${x},${y} is ${v}`);
      }
    }
  }
});

Deno.test("resizeImage() keeps the mean brightness of a thin line when downscaling by 3", () => {
  const image = constant(30, 30, [0, 0, 0, 255]);
  for (let y = 0; y < 30; y++) image.data.set([255, 255, 255, 255], (y * 30 + 13) * 4);
  const out = resizeImage(image, 10, 10);
  let sum = 0;
  for (let i = 0; i < out.data.length; i += 4) sum += out.data[i];
  assert(Math.abs(sum / 100 - 255 / 30) < 0.5, `mean ${sum / 100}, expected ${255 / 30}`);
});

Deno.test("resizeImage() upscale then downscale stays close to the original", () => {
  const image = smooth(24, 16);
  for (const filter of FILTERS) {
    const back = resizeImage(resizeImage(image, 61, 37, { filter }), 24, 16, { filter });
    let total = 0, worst = 0;
    for (let i = 0; i < image.data.length; i++) {
      const d = Math.abs(back.data[i] - image.data[i]);
      total += d;
      worst = Math.max(worst, d);
    }
    const mean = total / image.data.length;
    assert(mean < 1.5 && worst <= 8, `${filter}: mean error ${mean}, worst ${worst}`);
  }
});

Deno.test("resizeImage() works on premultiplied alpha: transparent colour does not bleed", () => {
  // Transparent red beside opaque blue: the average is half-transparent pure blue.
  const image = { width: 2, height: 1, data: new Uint8Array([255, 0, 0, 0, 0, 0, 255, 255]) };
  const out = resizeImage(image, 1, 1);
  assertEquals(Array.from(out.data), [0, 0, 255, 128]);
});

Deno.test("resizeImage() returns an equal copy for the same size", () => {
  const image = smooth(9, 5);
  image.data[3] = 17;
  const out = resizeImage(image, 9, 5);
  assertEquals(out, image);
  assert(out.data !== image.data, "the copy must not share the input buffer");
});

Deno.test("resizeImage() validates sizes, data length and filter", () => {
  const image = constant(4, 4, [1, 2, 3, 4]);
  for (const bad of [0, -3, 1.5, NaN, Infinity]) {
    assertThrows(() => resizeImage(image, bad, 4), RangeError, "width must be an integer from 1");
    assertThrows(() => resizeImage(image, 4, bad), RangeError, "height must be an integer from 1");
  }
  assertThrows(
    () => resizeImage(image, "4" as unknown as number, 4),
    TypeError,
    "width must be a number",
  );
  assertThrows(
    () => resizeImage({ width: 4, height: 4, data: new Uint8Array(63) }, 2, 2),
    RangeError,
    "data has 63 bytes, expected 64 for a 4x4 RGBA image",
  );
  assertThrows(
    () => resizeImage(image, 2, 2, { filter: "nearest" as ResizeFilter }),
    RangeError,
    'unknown filter "nearest"',
  );
});

Deno.test("resizeImage() matches Pillow's LANCZOS and BICUBIC within 1 on an opaque image", () => {
  const manifest: { resize_reference: string; resize_cases: string[] } = JSON.parse(
    new TextDecoder().decode(readFixture("manifest.json")),
  );
  const src = decodePng(readFixture("resize_src.png"), 1 << 20);
  assertEquals(manifest.resize_cases.length, 6);
  for (const name of manifest.resize_cases) {
    const [, filter, size] = name.match(/^resize_pillow_(\w+?)_(\d+x\d+)\.rgba$/)!;
    const [w, h] = size.split("x").map(Number);
    const want = readFixture(name);
    const got = resizeImage(src, w, h, { filter: filter as ResizeFilter }).data;
    assertEquals(got.length, want.length, name);
    const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
    assert(worst <= 1, `${name}: differs from ${manifest.resize_reference} by up to ${worst}`);
  }
});
