// eval/checker.ts: colour and shape classification of scene objects. The accuracy test runs on
// tests/fixtures/scenes/checker/subset.{bin.gz,json} (100 scenes of stream 3 and their edit
// targets, written by `tools/scenes/generate.py raw --stream 3 --count 100 --targets`).

import { assert, assertAlmostEquals, assertEquals, assertGreaterOrEqual } from "@std/assert";
import {
  classifyColour,
  classifyInRegion,
  classifyShape,
  classifyShapeSoft,
  COLOUR_HUES,
  COLOURS,
  dilate,
  nearestColour,
  rasterizeShape,
  rgbToHsv,
  SHAPES,
} from "../../eval/checker.ts";
import { checkerAccuracy } from "../../eval/checker_accuracy.ts";
import { objectMask, readRawScenes } from "../../eval/scene_set.ts";
import type { RgbaImage } from "../../image/rgba_image.ts";

const FIXTURES = new URL("../fixtures/scenes/checker/", import.meta.url);

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h / 60) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)].map((x) => Math.round(x * 255)) as [number, number, number];
}

function flatImage(
  width: number,
  height: number,
  bg: [number, number, number],
  fg: [number, number, number],
  mask: Uint8Array,
): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const c = mask[i] ? fg : bg;
    data.set([c[0], c[1], c[2], 255], 4 * i);
  }
  return { width, height, data };
}

Deno.test("rgbToHsv() matches known colours", () => {
  assertEquals(rgbToHsv(255, 0, 0), [0, 1, 1]);
  assertEquals(rgbToHsv(0, 255, 0), [120, 1, 1]);
  assertEquals(rgbToHsv(0, 0, 255), [240, 1, 1]);
  const [h, s, v] = rgbToHsv(128, 128, 128);
  assertEquals([h, s], [0, 0]);
  assertAlmostEquals(v, 128 / 255, 1e-12);
});

Deno.test("nearestColour() maps every centre hue to its name and wraps around 360", () => {
  for (const c of COLOURS) assertEquals(nearestColour(COLOUR_HUES[c]).colour, c);
  assertEquals(nearestColour(355).colour, "red");
  assertEquals(nearestColour(350).colour, "red");
});

Deno.test("classifyColour() takes the median hue of saturated pixels only", () => {
  const w = 16, h = 16;
  const mask = new Uint8Array(w * h).fill(1);
  for (const c of COLOURS) {
    const img = flatImage(w, h, [0, 0, 0], hsvToRgb(COLOUR_HUES[c], 0.9, 0.9), mask);
    // a third of the pixels washed out to grey: they must not vote
    for (let i = 0; i < w * h; i += 3) img.data.set([140, 140, 140], 4 * i);
    const r = classifyColour(img, mask);
    assertEquals(r.colour, c);
    assert(r.hueError < 2, `hue error ${r.hueError} for ${c}`);
  }
  const grey = flatImage(w, h, [90, 90, 90], [90, 90, 90], mask);
  assertEquals(classifyColour(grey, mask).colour, null);
});

Deno.test("classifyShape() recognises every template at several sizes and aspect ratios", () => {
  const w = 64, h = 64;
  for (const s of SHAPES) {
    for (
      const box of [{ x: 5, y: 7, w: 18, h: 18 }, { x: 20, y: 10, w: 37, h: 37 }, {
        x: 3,
        y: 30,
        w: 26,
        h: 20,
      }]
    ) {
      const mask = rasterizeShape(s, box, w, h);
      const r = classifyShape(mask, w, h);
      assertEquals(r.shape, s, `${s} at ${JSON.stringify(box)}: ${JSON.stringify(r.scores)}`);
      assertGreaterOrEqual(r.iou, 0.9);
    }
  }
  assertEquals(classifyShape(new Uint8Array(w * h), w, h).shape, null);
});

Deno.test("classifyShapeSoft() recognises blurred shapes from their soft alpha", () => {
  const w = 48, h = 48;
  for (const s of SHAPES) {
    const mask = rasterizeShape(s, { x: 10, y: 12, w: 24, h: 24 }, w, h);
    // 3x3 box blur, as a stand-in for what an autoencoder does to edges
    const alpha = new Float32Array(w * h);
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        let acc = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) acc += mask[(y + dy) * w + x + dx];
        }
        alpha[y * w + x] = acc / 9;
      }
    }
    const r = classifyShapeSoft(alpha, w, h);
    assertEquals(r.shape, s, `${s}: ${JSON.stringify(r.scores)}`);
  }
});

Deno.test("classifyInRegion() segments a saturated object off a striped background", () => {
  const w = 48, h = 40;
  const mask = rasterizeShape("star", { x: 12, y: 8, w: 22, h: 22 }, w, h);
  const img = flatImage(w, h, [0, 0, 0], hsvToRgb(COLOUR_HUES.purple, 0.85, 0.95), mask);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (mask[y * w + x]) continue;
      const v = Math.floor(x / 5) % 2 === 0 ? 200 : 150;
      img.data.set([v, v, v - 20], 4 * (y * w + x));
    }
  }
  const r = classifyInRegion(img, dilate(mask, w, h, 4));
  assertEquals([r.colour, r.shape], ["purple", "star"]);
  let diff = 0;
  for (let i = 0; i < mask.length; i++) diff += mask[i] !== r.mask[i] ? 1 : 0;
  assertEquals(diff, 0);
});

Deno.test("rasterizeShape() reproduces the generator's masks", async () => {
  const scenes = await readRawScenes(
    new URL("subset.bin.gz", FIXTURES).pathname,
    new URL("subset.json", FIXTURES).pathname,
  );
  // the template fitted to a ground-truth mask's box must overlap it almost exactly
  let worst = 1;
  for (const sc of scenes.slice(0, 40)) {
    sc.objects.forEach((o, k) => {
      const r = classifyShape(objectMask(sc, k), sc.image.width, sc.image.height);
      worst = Math.min(worst, r.scores[o.shape]);
    });
  }
  assertGreaterOrEqual(worst, 0.9);
});

Deno.test("checker accuracy is at least 95% on ground-truth scenes, true masks and segmented", async () => {
  const scenes = await readRawScenes(
    new URL("subset.bin.gz", FIXTURES).pathname,
    new URL("subset.json", FIXTURES).pathname,
  );
  assertEquals(scenes.length, 200);
  assert(scenes.some((s) => s.image.width !== s.image.height), "the subset has non-square scenes");
  const r = checkerAccuracy(scenes);
  assertGreaterOrEqual(r.objects, 250);
  const figures = `${JSON.stringify({ ...r, failures: r.failures.slice(0, 3) })}`;
  assertGreaterOrEqual(r.colourTrueMask, 0.95, figures);
  assertGreaterOrEqual(r.shapeTrueMask, 0.95, figures);
  assertGreaterOrEqual(r.colourSegmented, 0.95, figures);
  assertGreaterOrEqual(r.shapeSegmented, 0.95, figures);
});
