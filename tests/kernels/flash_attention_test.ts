// flashAttention() against flashAttentionRef(), every variant pinned in turn. Tolerance per
// element: |gpu - ref| <= atol + rtol·|ref|, f32 atol 1e-5 rtol 1e-4; f16 storage atol 1e-3
// rtol 1e-2 with the reference fed the same f16-rounded inputs. Head dims 72 and 64 live in
// flash_attention_wide_test.ts and flash_attention_t5_test.ts (their unrolled CPU kernels take
// seconds to compile).

import { assertEquals, assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { FLASH_ATTENTION_VARIANTS, flashAttention } from "../../kernels/flash_attention.ts";
import { withVariant } from "../../kernels/_variant.ts";
import { releaseAttentionTextures } from "../../kernels/_attention.ts";
import { GPU_TEST, randomArray, testGpu } from "../_harness.ts";
import { type AttnCase, caseLabel, checkFlashCase } from "./_attention_cases.ts";

const SMALL: AttnCase[] = [
  { batch: 2, heads: 2, sq: 7, sk: 13, dim: 8 },
  { batch: 1, heads: 1, sq: 1, sk: 1, dim: 8 },
  { batch: 1, heads: 3, sq: 65, sk: 130, dim: 8, scale: 1 },
  { batch: 2, heads: 2, sq: 7, sk: 5, dim: 8, bias: "shared", scale: 1 },
  { batch: 2, heads: 2, sq: 9, sk: 33, dim: 8, bias: "batch", mask: true, fullyMasked: true },
  { batch: 3, heads: 2, sq: 17, sk: 17, dim: 8, kvCount: 2, kvBatch: [0, 0, 1] },
  { batch: 2, heads: 3, sq: 20, sk: 7, dim: 8, tokenMajor: true, mask: true },
  { batch: 2, heads: 2, sq: 33, sk: 21, dim: 8, f16: true, bias: "shared", mask: true },
  { batch: 2, heads: 2, sq: 7, sk: 13, dim: 6, kvCount: 1, kvBatch: [0, 0] }, // pack path
  { batch: 1, heads: 2, sq: 9, sk: 11, dim: 6, tokenMajor: true, f16: true },
  { batch: 4, heads: 2, sq: 9, sk: 9, dim: 8, kvBatch: [0, 3, 0, 3], union: true, mask: true },
  { batch: 3, heads: 3, sq: 16, sk: 16, dim: 8, kvBatch: [0, 0, 0], union: true, tokenMajor: true },
  { batch: 2, heads: 2, sq: 7, sk: 13, dim: 6, kvBatch: [1, 1], union: true, f16: true },
];

for (const variant of FLASH_ATTENTION_VARIANTS) {
  Deno.test({
    name: `flashAttention() variant "${variant.name}" matches flashAttentionRef() at head dims ` +
      `6 and 8 (f32 atol 1e-5 rtol 1e-4, f16 atol 1e-3 rtol 1e-2)`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      await withVariant(gpu, "flash_attention", variant.name, async () => {
        for (const c of SMALL) await checkFlashCase(gpu, c, `${variant.name} ${caseLabel(c)}`);
      });
    },
  });
}

Deno.test({
  name: "flashAttention() takes heads wider than 128 (VAE: one of 512) through materialised " +
    "probabilities (f32 atol 1e-5 rtol 1e-4, f16 atol 1e-3 rtol 1e-2)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const bm: AttnCase = {
      batch: 2,
      heads: 2,
      sq: 9,
      sk: 13,
      dim: 132,
      bias: "shared",
      mask: true,
    };
    await checkFlashCase(gpu, bm, caseLabel(bm));
    for (const c of [{ batch: 1, heads: 1, sq: 70, sk: 70, dim: 512 }] as AttnCase[]) {
      await checkFlashCase(gpu, c, caseLabel(c));
      await checkFlashCase(
        gpu,
        { ...c, tokenMajor: true, sq: 9, f16: true },
        "f16 " + caseLabel(c),
      );
    }
  },
});

Deno.test({
  name: "flashAttention() keeps q's layout, survives releaseAttentionTextures() and names shapes " +
    "in its errors",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const t = (shape: number[], dtype: "f32" | "f16" = "f32") =>
      Tensor.from(gpu, randomArray(shape.reduce((a, b) => a * b), 1), shape, dtype);
    const q = t([2, 5, 24]), k = t([2, 7, 24]), v = t([2, 7, 24]);
    const out = flashAttention(q, k, v, { heads: 3 });
    assertEquals(out.shape, [2, 5, 24]);
    const first = await out.toArray();
    releaseAttentionTextures(gpu); // the staging textures come back on the next call
    const again = flashAttention(q, k, v, { heads: 3 });
    assertEquals(await again.toArray(), first);
    again.dispose();
    assertThrows(() => flashAttention(q, k, v), TypeError, "options.heads is needed");
    assertThrows(
      () => flashAttention(q, k, t([2, 6, 24]), { heads: 3 }),
      TypeError,
      "k and v differ in batch or length",
    );
    assertThrows(
      () => flashAttention(q, k, v, { heads: 3, kvBatch: [0, 2] }),
      RangeError,
      "options.kvBatch [0, 2] must hold 2 indices in [0, 2)",
    );
    for (
      const [o, why] of [
        [{ union: true }, "options.union needs options.kvBatch"],
        [{ union: true, kvBatch: [0, 0], bias: t([3, 5, 7]) }, "options.union takes no bias"],
      ] as const
    ) assertThrows(() => flashAttention(q, k, v, { heads: 3, ...o }), RangeError, why);
    assertThrows(
      () =>
        flashAttention(q, t([1, 7, 24]), t([1, 7, 24]), { heads: 3, kvBatch: [0, 0], union: true }),
      RangeError,
      "options.union needs one K/V entry per query entry (q has 2, k/v 1)",
    );
    assertThrows(
      () => flashAttention(q, k, v, { heads: 3, bias: t([3, 5, 6]) }),
      TypeError,
      "bias [3, 5, 6] f32 must be f32 or f16 [3, 5, 7]",
    );
    assertThrows(
      () => flashAttention(q, k, v, { heads: 3, keyMask: t([2, 5]) }),
      TypeError,
      "keyMask [2, 5] must be [2, 7]",
    );
    assertThrows(
      () => flashAttention(q, t([2, 7, 24], "f16"), v, { heads: 3 }),
      TypeError,
      "dtypes differ",
    );
    assertThrows(() => flashAttention(q, k, v, { heads: 3, scale: NaN }), RangeError, "scale");
    for (const x of [q, k, v, out]) x.dispose();
  },
});
