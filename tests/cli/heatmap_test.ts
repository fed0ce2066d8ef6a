// image/heatmap.ts (tested under tests/cli/ with the CLI that uses it): the Turbo colour map, grey
// images as heat maps, and the overlay at the image's size.

import { assertEquals, assertThrows } from "@std/assert";
import { heatmapFromGrey, overlayHeatmap, turbo } from "../../image/heatmap.ts";

Deno.test("turbo() runs from dark, through blue and green, to dark red, clamping its input", () => {
  const [r0, g0, b0] = turbo(0), [rb, gb, bb] = turbo(0.15);
  const [r5, g5, b5] = turbo(0.5), [r1, g1, b1] = turbo(1);
  assertEquals(r0 + g0 + b0 < 150, true);
  assertEquals(bb > rb && bb > gb, true);
  assertEquals(g5 > r5 && g5 > b5, true);
  assertEquals(r1 > g1 && r1 > b1, true);
  assertEquals(turbo(-3), turbo(0));
  assertEquals(turbo(7), turbo(1));
  assertEquals(turbo(NaN), turbo(0));
});

Deno.test("heatmapFromGrey() reads the red channel as [0, 1]", () => {
  const h = heatmapFromGrey({
    width: 2,
    height: 1,
    data: new Uint8Array([0, 0, 0, 255, 255, 1, 2, 255]),
  });
  assertEquals([h.width, h.height, Array.from(h.data)], [2, 1, [0, 1]]);
});

Deno.test("overlayHeatmap() blends the upsampled colour map over the image at its size", () => {
  const image = { width: 6, height: 4, data: new Uint8Array(6 * 4 * 4).fill(100) };
  for (let i = 3; i < image.data.length; i += 4) image.data[i] = 200;
  const heat = { width: 3, height: 2, data: new Float32Array(6).fill(1) };
  const out = overlayHeatmap(image, heat);
  assertEquals([out.width, out.height, out.data.length], [6, 4, 96]);
  const [r, g, b] = turbo(1);
  const mix = (c: number) => Math.round(0.5 * 100 + 0.5 * c);
  assertEquals(Array.from(out.data.subarray(0, 4)), [mix(r), mix(g), mix(b), 200]);
  const clear = overlayHeatmap(image, heat, { opacity: 0 });
  assertEquals(clear.data, image.data);
});

Deno.test("overlayHeatmap() refuses a heat map of the wrong length and a bad opacity", () => {
  const image = { width: 2, height: 2, data: new Uint8Array(16) };
  assertThrows(
    () => overlayHeatmap(image, { width: 2, height: 2, data: new Float32Array(3) }),
    RangeError,
    "3 values, expected 4",
  );
  const heat = { width: 1, height: 1, data: new Float32Array(1) };
  assertThrows(() => overlayHeatmap(image, heat, { opacity: 2 }), RangeError, "opacity");
});
