// Conformance of decodeJpeg() against libjpeg-turbo 2.1.5: every fixture in tests/fixtures/jpeg/
// (made by tools/make_jpeg_fixtures.sh) must decode within 2 levels per channel of `djpeg` (fancy
// upsampling, the default) and, with `fancyUpsampling: false`, of `djpeg -nosmooth`. EXIF cases
// compare against djpeg's pixels rotated by ImageMagick's -auto-orient.

import { assert, assertEquals } from "@std/assert";
import { decodeJpeg } from "../../image/jpeg_decode.ts";
import type { RgbaImage } from "../../image/rgba_image.ts";

const DIR = new URL("../fixtures/jpeg/", import.meta.url);
const TOLERANCE = 2;

/** Reads a binary PGM (P5) or PPM (P6) with maxval 255 as RGBA. */
function readPnm(bytes: Uint8Array): RgbaImage {
  const fields: string[] = [];
  let p = 0;
  while (fields.length < 4) {
    while (p < bytes.length && /\s/.test(String.fromCharCode(bytes[p]))) p++;
    if (bytes[p] === 0x23) {
      while (p < bytes.length && bytes[p] !== 0x0a) p++;
      continue;
    }
    let s = "";
    while (p < bytes.length && !/\s/.test(String.fromCharCode(bytes[p]))) {
      s += String.fromCharCode(bytes[p++]);
    }
    fields.push(s);
  }
  p++; // the single whitespace byte after maxval
  const [magic, w, h, maxval] = [fields[0], Number(fields[1]), Number(fields[2]), fields[3]];
  assert(magic === "P5" || magic === "P6", `unexpected PNM magic ${magic}`);
  assertEquals(maxval, "255");
  const channels = magic === "P5" ? 1 : 3;
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) {
      data[i * 4 + c] = bytes[p + i * channels + (channels === 1 ? 0 : c)];
    }
    data[i * 4 + 3] = 255;
  }
  return { width: w, height: h, data };
}

function maxDiff(a: RgbaImage, b: RgbaImage): number {
  assertEquals([a.width, a.height], [b.width, b.height], "image size");
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

const exists = (name: string) => {
  try {
    Deno.statSync(new URL(name, DIR));
    return true;
  } catch {
    return false;
  }
};

const names = [...Deno.readDirSync(DIR)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".jpg"))
  .map((n) => n.slice(0, -4))
  .filter((n) => exists(`${n}.ref.ppm`) || exists(`${n}.ref.pgm`))
  .sort();

Deno.test("decodeJpeg() fixtures cover the cases the fixture script makes", () => {
  assert(names.length >= 50, `only ${names.length} fixtures found in ${DIR.pathname}`);
  for (const prefix of ["base420", "prog", "restart", "exif8", "gray", "truncated", "tiny"]) {
    assert(names.some((n) => n.startsWith(prefix)), `no fixture starting with "${prefix}"`);
  }
});

for (const name of names) {
  Deno.test(`decodeJpeg() matches djpeg on ${name}.jpg within ${TOLERANCE} levels`, () => {
    const jpeg = Deno.readFileSync(new URL(`${name}.jpg`, DIR));
    const refFile = exists(`${name}.ref.ppm`) ? `${name}.ref.ppm` : `${name}.ref.pgm`;
    const ref = readPnm(Deno.readFileSync(new URL(refFile, DIR)));
    const smoothFile = refFile.replace(".ref.", ".nosmooth.");
    const nosmooth = exists(smoothFile)
      ? readPnm(Deno.readFileSync(new URL(smoothFile, DIR)))
      : ref;

    const fancy = decodeJpeg(jpeg, 1 << 20);
    const d1 = maxDiff(fancy, ref);
    assert(d1 <= TOLERANCE, `${name}: max abs diff ${d1} to djpeg exceeds ${TOLERANCE}`);
    const box = decodeJpeg(jpeg, 1 << 20, { fancyUpsampling: false });
    const d2 = maxDiff(box, nosmooth);
    assert(d2 <= TOLERANCE, `${name}: max abs diff ${d2} to djpeg -nosmooth exceeds ${TOLERANCE}`);
    for (let i = 3; i < fancy.data.length; i += 4) assertEquals(fancy.data[i], 255);
  });
}

Deno.test("decodeJpeg() applyExifOrientation: false keeps the stored orientation", () => {
  const jpeg = Deno.readFileSync(new URL("exif6_33x17.jpg", DIR));
  const raw = decodeJpeg(jpeg, 1 << 20, { applyExifOrientation: false });
  const plain = decodeJpeg(Deno.readFileSync(new URL("base420_33x17.jpg", DIR)), 1 << 20);
  assertEquals([raw.width, raw.height], [33, 17]);
  assertEquals(maxDiff(raw, plain), 0);
  const turned = decodeJpeg(jpeg, 1 << 20);
  assertEquals([turned.width, turned.height], [17, 33]);
});

Deno.test("decodeJpeg() keeps what a progressive file cut short holds, as libjpeg does", () => {
  const partial = decodeJpeg(Deno.readFileSync(new URL("partialprog_50x31.jpg", DIR)), 1 << 20);
  const full = decodeJpeg(Deno.readFileSync(new URL("prog420_50x31.jpg", DIR)), 1 << 20);
  assertEquals([partial.width, partial.height], [50, 31]);
  // The early scans (DC and the first AC bands) arrived: a coarse but recognisable picture.
  let sum = 0;
  for (let i = 0; i < full.data.length; i++) sum += Math.abs(full.data[i] - partial.data[i]);
  const mean = sum / full.data.length;
  assert(mean < 12, `mean abs diff ${mean} to the complete file is too large`);
});
