// Keeping the background (pipeline/keep_background.ts): the soft mask against hand-computed
// bilinear values (exact up to f32 rounding, 1e-6), range normalisation, skipped flat maps and the
// band; the geometric mean within phrases; the blend; phrase boundaries and the choice of phrases;
// and edit() on the tiny fixture model, where the output equals the input wherever the mask is 0
// and the unblended edit wherever it is 1.

import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  blendImages,
  editMask,
  editPhrases,
  phraseAround,
} from "../../pipeline/keep_background.ts";
import { promptWords } from "../../pipeline/p2p.ts";
import { edit } from "../../pipeline/edit.ts";
import { resolveEditOptions } from "../../pipeline/resolve_options.ts";
import { assertClose, GPU_TEST } from "../_harness.ts";
import { testImage, tinyPipeline } from "./_tiny_pipeline.ts";

const TOL = { atol: 1e-6, rtol: 0 };
const GRID = { h: 2, w: 2 }, SIZE = { width: 4, height: 4 }, FULL = { low: 0, high: 1 };

Deno.test("editMask() resamples a range-normalised map bilinearly at pixel centres", () => {
  // 2×2 → 4×4: pixel x samples cell coordinate clamp(x/2 − 0.25, 0, 1) = 0, .25, .75, 1
  const want = [
    [0, 0.25, 0.75, 1],
    [0, 0.1875, 0.5625, 0.75],
    [0, 0.0625, 0.1875, 0.25],
    [0, 0, 0, 0],
  ].flat();
  assertClose(editMask(new Float32Array([0, 1, 0, 0]), 1, GRID, SIZE, FULL), want, TOL);
  // any offset and positive scale normalise away
  assertClose(editMask(new Float32Array([5, 9, 5, 5]), 1, GRID, SIZE, FULL), want, TOL);
});

Deno.test("editMask() maps through the band, takes the max over maps and skips flat ones", () => {
  const band = editMask(new Float32Array([0, 1, 0, 0]), 1, GRID, SIZE, { low: 0.5, high: 0.7 });
  // 0.5625 → 0.3125, 0.75 → 1 (clamped), 0.25 → 0
  assertClose(Array.from(band.subarray(4, 8)), [0, 0, 0.3125, 1], TOL);
  assertEquals(Array.from(band.subarray(8, 12)), [0, 0, 0, 0]);
  const two = editMask(new Float32Array([0, 1, 0, 0, 0, 0, 0, 1]), 2, GRID, SIZE, FULL);
  assertClose(Array.from(two.subarray(12, 16)), [0, 0.25, 0.75, 1], TOL); // the second map's row
  assertClose(Array.from(two.subarray(0, 4)), [0, 0.25, 0.75, 1], TOL); // the first map's row
  const flat = editMask(new Float32Array([0, 1, 0, 0, 3, 3, 3, 3]), 2, GRID, SIZE, FULL);
  assertEquals(flat, editMask(new Float32Array([0, 1, 0, 0]), 1, GRID, SIZE, FULL));
  assertEquals(Array.from(editMask(new Float32Array(4).fill(2), 1, GRID, SIZE, FULL)), [
    ...new Array(16).fill(1),
  ]);
  assertThrows(
    () => editMask(new Float32Array(3), 1, GRID, SIZE, FULL),
    RangeError,
    "3 map values",
  );
  assertThrows(
    () => editMask(new Float32Array(4), 1, GRID, SIZE, { low: 0.5, high: 0.5 }),
    RangeError,
    "band 0.5..0.5 is empty",
  );
});

Deno.test("blendImages() keeps the input at 0, the edit at 1 and rounds between", () => {
  const img = (v: number) => ({ width: 3, height: 1, data: new Uint8Array(12).fill(v) });
  const out = blendImages(img(200), img(100), new Float32Array([0, 1, 0.26]));
  assertEquals(Array.from(out.data), [
    ...[100, 100, 100, 100],
    ...[200, 200, 200, 200],
    ...[126, 126, 126, 126], // 0.26·200 + 0.74·100 = 126
  ]);
  assertThrows(
    () =>
      blendImages(img(1), { width: 1, height: 3, data: new Uint8Array(12) }, new Float32Array(3)),
    RangeError,
    "input 1x3",
  );
});

Deno.test("editMask() takes the geometric mean within a phrase and the max across phrases", () => {
  // two words lighting different cells, and one that lights both
  const maps = new Float32Array([0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1]);
  const at = (m: Float32Array, y: number, x: number) => m[y * 4 + x];
  const pair = editMask(maps, 3, GRID, SIZE, FULL, [[1, 2]]);
  // at pixel (3, 3) word 1 is 1 and word 2 is 1; at (0, 3) word 1 is 0: the phrase keeps only where both light
  assertClose([at(pair, 3, 3), at(pair, 0, 3)], [1, 0], TOL);
  // at (2, 3): word 1 is 0.75 and word 2 is 1 (bilinear, see above), so √0.75
  assertClose([at(pair, 2, 3)], [Math.sqrt(0.75)], TOL);
  const two = editMask(maps, 3, GRID, SIZE, FULL, [[0], [1, 2]]);
  assertClose([at(two, 0, 3), at(two, 3, 3), at(two, 3, 0)], [1, 1, 0], TOL);
  // the default is one phrase per row; a flat word leaves its phrase
  assertEquals(
    editMask(maps, 3, GRID, SIZE, FULL, [[0], [1], [2]]),
    editMask(maps, 3, GRID, SIZE, FULL),
  );
  const flat = new Float32Array([0, 1, 0, 0, 2, 2, 2, 2]);
  assertEquals(
    editMask(flat, 2, GRID, SIZE, FULL, [[0, 1]]),
    editMask(flat.subarray(0, 4), 1, GRID, SIZE, FULL),
  );
  assertThrows(
    () => editMask(maps, 3, GRID, SIZE, FULL, [[0, 3]]),
    RangeError,
    "phrase row 3 is not one of 3 maps",
  );
});

Deno.test("phraseAround() takes the run of words between link words and punctuation", () => {
  const words = promptWords("a red star and a green star, big on a striped blue background");
  assertEquals(phraseAround(words, 2), [1, 2]); // red star
  assertEquals(phraseAround(words, 1), [1, 2]);
  assertEquals(phraseAround(words, 6), [5, 6]); // green star, (the comma ends it)
  assertEquals(phraseAround(words, 7), [7]); // big
  assertEquals(phraseAround(words, 11), [10, 11, 12]); // striped blue background
  assertEquals(phraseAround(words, 3), [3]); // a link word is its own phrase
  assertEquals(phraseAround(promptWords("The Cat"), 1), [1]);
});

Deno.test("editPhrases() brings each changed word's phrase, in its own prompt and row", () => {
  const rows = { source: 0, target: 2 };
  const one = (w: string[]) => ["▁" + w[0], ...w.slice(1).map((x) => "▁" + x), "</s>"];
  // every word one token, except "star" in two
  const src = "a red star and a red square", tgt = "a red circle and a red square";
  const sp = ["▁a", "▁red", "▁st", "ar", "▁and", "▁a", "▁red", "▁square", "</s>"];
  const tp = one(promptWords(tgt));
  const swap = editPhrases({ source: src, target: tgt }, { source: sp, target: tp }, rows);
  assertEquals(swap.words, [
    { row: 0, start: 1, end: 2 }, // red
    { row: 0, start: 2, end: 4 }, // star
    { row: 2, start: 1, end: 2 }, // red
    { row: 2, start: 2, end: 3 }, // circle
  ]);
  assertEquals(swap.phrases, [[0, 1], [2, 3]]);
  // both words of one phrase changed: the phrase once per row
  const both = editPhrases(
    { source: "a red star", target: "a blue moon" },
    { source: one(["a", "red", "star"]), target: one(["a", "blue", "moon"]) },
    rows,
  );
  assertEquals(both.phrases, [[0, 1], [2, 3]]);
  // an inserted word: the target words the source lacks, with their phrase
  const longer = editPhrases(
    { source: "a red star", target: "a big blue star" },
    { source: one(["a", "red", "star"]), target: one(["a", "big", "blue", "star"]) },
    rows,
  );
  assertEquals(longer.words.map((w) => [w.row, w.start]), [[0, 1], [0, 2], [2, 1], [2, 2], [2, 3]]);
  assertEquals(longer.phrases, [[0, 1], [2, 3, 4]]);
  const same = { source: "A red star", target: "a red  star" };
  const red = one(["a", "red", "star"]);
  assertEquals(editPhrases(same, { source: red, target: red }, rows), { words: [], phrases: [] });
  // a changed word past the encoded (truncated) tokens is left out, and so are phrase words past them
  const cut = editPhrases(
    { source: "a red star", target: "a red moon" },
    { source: red, target: ["▁a", "▁red", "</s>"] },
    rows,
  );
  assertEquals(cut, {
    words: [{ row: 0, start: 1, end: 2 }, { row: 0, start: 2, end: 3 }],
    phrases: [[0, 1]],
  });
  const tail = editPhrases(
    { source: "a blue star", target: "a red star" },
    { source: ["▁a", "▁blue", "</s>"], target: ["▁a", "▁red", "</s>"] },
    rows,
  );
  assertEquals(tail.phrases, [[0], [1]]);
});

Deno.test({
  name: "edit() keeps the input where the mask is 0 and the edit where it is 1; " +
    "identical prompts blend nothing",
  ...GPU_TEST,
  async fn() {
    const pipe = await tinyPipeline();
    const base = {
      image: testImage(32, 32, 11),
      sourcePrompt: "a red star",
      targetPrompt: "a blue star",
      steps: 4,
      onWarning: () => {},
    };
    const kept = await edit(pipe, base);
    const plain = await edit(pipe, { ...base, keepBackground: false });
    assertEquals([kept.used.keepBackground, kept.used.backgroundThreshold], [true, 0.5]);
    assertEquals(plain.used.keepBackground, false);
    assertEquals(plain.editMask, undefined);
    const mask = kept.editMask!;
    assertEquals([mask.width, mask.height], [32, 32]);
    let zeros = 0, ones = 0;
    for (let i = 0; i < 32 * 32; i++) {
      const m = mask.data[4 * i];
      for (let c = 4 * i; c < 4 * i + 3; c++) {
        if (m === 0) assertEquals(kept.edited.data[c], base.image.data[c], `pixel ${i} (mask 0)`);
        if (m === 255) {
          const d = Math.abs(kept.edited.data[c] - plain.edited.data[c]);
          assert(d <= 1, `pixel ${i} (mask 1): ${d} levels from the unblended edit`);
        }
      }
      zeros += m === 0 ? 1 : 0;
      ones += m === 255 ? 1 : 0;
    }
    assert(zeros > 0 && ones > 0, `a mixed mask: ${zeros} zeros, ${ones} ones`);
    const same = await edit(pipe, { ...base, targetPrompt: base.sourcePrompt });
    assertEquals(same.editMask, undefined);
    const higher = resolveEditOptions(pipe, { ...base, backgroundThreshold: 0.6 });
    assertEquals([higher.used.backgroundThreshold, higher.keepBackground?.threshold], [0.6, 0.6]);
  },
});
