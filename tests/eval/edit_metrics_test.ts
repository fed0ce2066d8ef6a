import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { readEditSet } from "../../eval/edit_set.ts";
import { psnr, scoreEdit } from "../../eval/edit_metrics.ts";
import type { RgbaImage } from "../../image/rgba_image.ts";

const scenes = await readEditSet(undefined, 24);

Deno.test("readEditSet() loads images, masks and edits of the held-out set", () => {
  assertEquals(scenes.length, 24);
  for (const s of scenes) {
    const n = s.image.width * s.image.height;
    assertEquals(s.masks.length, s.objects.length);
    for (const m of [...s.masks, s.edit.targetMask]) {
      assertEquals(m.length, n);
      assert(m.some((v) => v === 1), `${s.id}: empty mask`);
    }
    assert(s.edit.targetCaption !== s.caption, `${s.id}: the edit changes the caption`);
  }
});

Deno.test("psnr() is infinite for equal images and 20·log10(255/d) for a uniform error d", () => {
  const a: RgbaImage = { width: 2, height: 2, data: new Uint8Array(16).fill(100) };
  const b: RgbaImage = { width: 2, height: 2, data: a.data.map((v) => v + 5) };
  assertEquals(psnr(a, a), Infinity);
  assertAlmostEquals(psnr(a, b), 20 * Math.log10(255 / 5), 1e-9);
  assertEquals(psnr(a, b, new Uint8Array(4)), NaN);
  assertThrows(() => psnr(a, { width: 1, height: 4, data: a.data }), RangeError, "2x2 and 1x4");
});

Deno.test("scoreEdit() accepts the ideal edit and rejects the unedited input", () => {
  let ideal = 0, unchanged = 0;
  for (const s of scenes) {
    const good = scoreEdit(s, s.edit.targetImage, s.image);
    ideal += good.success ? 1 : 0;
    assertEquals(good.reconstructionPsnr, Infinity);
    // the generator renders the target scene from the same background: outside the two masks
    // the ideal edit matches the input up to anti-aliasing at the mask edges
    assert(good.backgroundPsnr > 30, `${s.id}: background PSNR ${good.backgroundPsnr}`);
    if (s.edit.kind === "colour") assertEquals(good.shapeKept, true);
    else assertEquals(good.shapeKept, null);
    const none = scoreEdit(s, s.image, s.image);
    unchanged += none.success ? 1 : 0;
    assertEquals(none.backgroundPsnr, Infinity);
  }
  // the checker is >= 95% accurate on ground truth; the input never shows the target object
  assert(ideal >= 23, `ideal edits scored successful: ${ideal}/24`);
  assertEquals(unchanged, 0);
});
