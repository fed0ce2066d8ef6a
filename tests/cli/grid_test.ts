// image/grid.ts (lives under tests/cli/ with the CLI that uses it): side-by-side placement, gaps,
// scaling to one height, and argument checks.

import { assertEquals, assertThrows } from "@std/assert";
import { sideBySide } from "../../image/grid.ts";
import type { RgbaImage } from "../../image/rgba_image.ts";

function solid(width: number, height: number, rgba: number[]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set(rgba, i);
  return { width, height, data };
}

const px = (im: RgbaImage, x: number, y: number) =>
  Array.from(im.data.subarray((y * im.width + x) * 4, (y * im.width + x) * 4 + 4));

Deno.test("sideBySide() places images left to right with gaps of the background colour", () => {
  const red = solid(5, 3, [255, 0, 0, 255]), blue = solid(2, 3, [0, 0, 255, 255]);
  const g = sideBySide([red, blue, red], { gap: 2, background: [0, 255, 0, 255] });
  assertEquals([g.width, g.height], [5 + 2 + 2 + 2 + 5, 3]);
  assertEquals(px(g, 4, 2), [255, 0, 0, 255]);
  assertEquals(px(g, 5, 0), [0, 255, 0, 255]);
  assertEquals(px(g, 6, 1), [0, 255, 0, 255]);
  assertEquals(px(g, 7, 1), [0, 0, 255, 255]);
  assertEquals(px(g, 9, 1), [0, 255, 0, 255]);
  assertEquals(px(g, 15, 2), [255, 0, 0, 255]);
  const d = sideBySide([red, red, red]);
  assertEquals([d.width, d.height], [3 * 5 + 2 * 4, 3]);
  assertEquals(px(d, 6, 0), [255, 255, 255, 255]);
});

Deno.test("sideBySide() scales images to one height, keeping their aspect ratio", () => {
  const g = sideBySide([solid(8, 8, [10, 20, 30, 255]), solid(8, 4, [10, 20, 30, 255])], {
    gap: 0,
  });
  assertEquals([g.width, g.height], [8 + 16, 8]);
  assertEquals(px(g, 20, 5), [10, 20, 30, 255]);
  const h = sideBySide([solid(8, 8, [0, 0, 0, 255])], { height: 4 });
  assertEquals([h.width, h.height], [4, 4]);
});

Deno.test("sideBySide() refuses no images and bad options", () => {
  assertThrows(() => sideBySide([]), RangeError, "at least one image");
  assertThrows(() => sideBySide([solid(1, 1, [0, 0, 0, 0])], { gap: -1 }), RangeError, "gap");
  assertThrows(() => sideBySide([solid(1, 1, [0, 0, 0, 0])], { height: 0 }), RangeError, "height");
  assertThrows(
    () => sideBySide([solid(1, 1, [0, 0, 0, 0])], { background: [0, 0, 300, 0] }),
    RangeError,
    "background",
  );
});
