// localBlendWordMaps() and localBlendMask() against their CPU references on seeded random
// inputs. Word maps: |gpu - ref| <= atol + rtol·|ref| with f32 atol 1e-5, rtol 1e-4 (f16 probs:
// atol 1e-3, rtol 1e-2, reference fed the same f16-rounded values). Masks are 0/1 and must match
// exactly (both sides compare pooled > f32(threshold·max)).

import { assertEquals, assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { roundToF16 } from "../../tensor/dtype.ts";
import { localBlendMask, localBlendWordMaps } from "../../kernels/local_blend.ts";
import { localBlendMaskRef, localBlendWordMapsRef } from "../../kernels/local_blend_ref.ts";
import { assertClose, F16_TOL, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";

const WORDS = [{ row: 0, start: 1, end: 3 }, { row: 2, start: 0, end: 1 }, {
  row: 1,
  start: 4,
  end: 4,
}];

Deno.test({
  name: "localBlendWordMaps() matches localBlendWordMapsRef() on [3, 5, 37, 7] (f32 and f16 probs)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const dims = { heads: 5, n: 37, keys: 7 };
    for (const dtype of ["f32", "f16"] as const) {
      if (dtype === "f16" && !gpu.f16) continue;
      let p = randomArray(3 * 5 * 37 * 7, 1, 0, 1);
      if (dtype === "f16") p = roundToF16(p);
      const acc = randomArray(WORDS.length * 37, 2, 0, 4);
      const tp = Tensor.from(gpu, p, [3, 5, 37, 7], dtype);
      const ta = Tensor.from(gpu, acc, [WORDS.length, 37]);
      const y = localBlendWordMaps(tp, ta, WORDS);
      assertEquals(y.shape, [WORDS.length, 37]);
      const ref = localBlendWordMapsRef(p, dims, acc, WORDS);
      assertClose(await y.toArray(), ref, dtype === "f32" ? F32_TOL : F16_TOL, dtype);
      for (const t of [tp, ta, y]) t.dispose();
    }
  },
});

Deno.test({
  name: "localBlendMask() equals localBlendMaskRef() exactly on random maps, odd grids, 1-2 rows",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const cases = [
      { rows: 2, h: 4, w: 4, patch: 2, threshold: 0.3 },
      { rows: 1, h: 7, w: 13, patch: 2, threshold: 0.5 },
      { rows: 2, h: 23, w: 17, patch: 3, threshold: 0.3 },
      { rows: 2, h: 1, w: 1, patch: 1, threshold: 0.3 },
      { rows: 2, h: 40, w: 33, patch: 2, threshold: 0 }, // more tokens than threads
    ];
    for (const [k, c] of cases.entries()) {
      const maps = randomArray(c.rows * c.h * c.w, 10 + k, 0, 1);
      // sparse peaks, like a word's attention
      for (let i = 0; i < maps.length; i++) maps[i] = maps[i] ** 6;
      const t = Tensor.from(gpu, maps, [c.rows, c.h * c.w]);
      const mask = localBlendMask(t, c);
      assertEquals(mask.shape, [1, 1, c.h * c.patch, c.w * c.patch]);
      const ref = localBlendMaskRef(maps, c.rows, c, c.threshold);
      const got = await mask.toArray();
      assertEquals(Array.from(got), Array.from(ref), JSON.stringify(c));
      if (c.threshold === 0) assertEquals(got.every((v) => v === 1), true);
      else if (c.h * c.w >= 50) {
        assertEquals(got.includes(0) && got.includes(1), true, "a mixed mask");
      }
      for (const x of [t, mask]) x.dispose();
    }
  },
});

Deno.test({
  name: "localBlendMask(): an all-zero row masks nothing; threshold 1 keeps nothing",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const maps = new Float32Array(2 * 9);
    maps[9 + 4] = 2; // row 1: one peak in the middle of a 3x3 grid
    const t = Tensor.from(gpu, maps, [2, 9]);
    const mask = localBlendMask(t, { h: 3, w: 3, patch: 1, threshold: 0.3 });
    assertEquals(Array.from(await mask.toArray()), new Array(9).fill(1)); // pooled 3x3 covers all
    const none = localBlendMask(t, { h: 3, w: 3, patch: 1, threshold: 1 });
    assertEquals(Array.from(await none.toArray()), new Array(9).fill(0));
    for (const x of [t, mask, none]) x.dispose();
  },
});

Deno.test({
  name: "localBlendWordMaps() and localBlendMask() name shapes and values in their errors",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const p = Tensor.from(gpu, new Float32Array(2 * 3 * 4), [1, 2, 3, 4]);
    const acc = Tensor.from(gpu, new Float32Array(3), [1, 3]);
    assertThrows(
      () => localBlendWordMaps(p, acc, [{ row: 1, start: 0, end: 1 }]),
      RangeError,
      "word 0 (row 1, tokens 0..1)",
    );
    assertThrows(() => localBlendWordMaps(p, acc, []), RangeError, "0 words");
    assertThrows(
      () => localBlendWordMaps(p, acc, [WORDS[0], WORDS[0]]),
      TypeError,
      "maps must be f32 [2, 3]",
    );
    assertThrows(
      () => localBlendMask(acc, { h: 2, w: 2, patch: 2, threshold: 0.3 }),
      TypeError,
      "on a 2x2 grid",
    );
    assertThrows(
      () => localBlendMask(acc, { h: 1, w: 3, patch: 2, threshold: 1.5 }),
      RangeError,
      "threshold 1.5",
    );
    for (const t of [p, acc]) t.dispose();
  },
});
