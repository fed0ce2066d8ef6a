// WordMaps (pipeline/word_maps.ts) against the CPU reference on random probabilities: six words,
// so two kernel chunks, over blocks inside and outside the range (f32, atol 1e-5, rtol 1e-4).

import { assertEquals, assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { WordMaps } from "../../pipeline/word_maps.ts";
import { localBlendWordMapsRef } from "../../kernels/local_blend_ref.ts";
import { assertClose, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";

Deno.test({
  name: "WordMaps sums six words' maps in two chunks over the blocks in range",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const heads = 2, n = 12, keys = 9, batch = 4;
    const words = [
      { row: 0, start: 1, end: 2 },
      { row: 2, start: 1, end: 3 },
      { row: 0, start: 4, end: 5 },
      { row: 2, start: 5, end: 6 },
      { row: 3, start: 0, end: 9 },
      { row: 1, start: 8, end: 9 },
    ];
    const maps = new WordMaps(gpu, words, n, [1, 2]);
    assertEquals(maps.first.shape, [4, n]);
    let want: Float32Array = new Float32Array(words.length * n);
    for (let block = 0; block < 4; block++) {
      const p = randomArray(batch * heads * n * keys, 40 + block, 0, 1);
      const t = Tensor.from(gpu, p, [batch, heads, n, keys]);
      maps.add(block, t);
      t.dispose();
      if (block >= 1 && block <= 2) {
        want = localBlendWordMapsRef(p, { heads, n, keys }, want, words);
      }
    }
    assertClose(await maps.read(), want, F32_TOL, "maps");
    maps.dispose();
    assertThrows(() => new WordMaps(gpu, [], n, [0, 1]), RangeError, "no words");
  },
});
