// flashAttention() at PixArt's head dim 72, every variant pinned. The CPU variant's kernel is
// unrolled per head dim, so it compiles for a few seconds once (T5's 64 is in
// flash_attention_t5_test.ts). Tolerance: |gpu - ref| <= atol + rtol·|ref|, atol 1e-5 rtol 1e-4.

import { FLASH_ATTENTION_VARIANTS } from "../../kernels/flash_attention.ts";
import { withVariant } from "../../kernels/_variant.ts";
import { GPU_TEST, testGpu } from "../_harness.ts";
import { type AttnCase, caseLabel, checkFlashCase } from "./_attention_cases.ts";

const WIDE: AttnCase[] = [
  { batch: 2, heads: 2, sq: 65, sk: 130, dim: 72, tokenMajor: true },
  { batch: 3, heads: 1, sq: 130, sk: 130, dim: 72, kvCount: 1, kvBatch: [0, 0, 0] },
];

for (const variant of FLASH_ATTENTION_VARIANTS) {
  Deno.test({
    name: `flashAttention() variant "${variant.name}" matches flashAttentionRef() at head dim 72 ` +
      `(atol 1e-5, rtol 1e-4)`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      await withVariant(gpu, "flash_attention", variant.name, async () => {
        for (const c of WIDE) await checkFlashCase(gpu, c, `${variant.name} ${caseLabel(c)}`);
      });
    },
  });
}
