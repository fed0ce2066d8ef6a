// flashAttention() as T5's encoder calls it: head dim 64, scale 1, a relative-position bias and a
// key padding mask, every variant pinned. The CPU variant's kernel is unrolled per head dim, so
// it compiles for a few seconds once. Tolerance: |gpu - ref| <= atol + rtol·|ref|, atol 1e-5
// rtol 1e-4.

import { FLASH_ATTENTION_VARIANTS } from "../../kernels/flash_attention.ts";
import { withVariant } from "../../kernels/_variant.ts";
import { GPU_TEST, testGpu } from "../_harness.ts";
import { type AttnCase, caseLabel, checkFlashCase } from "./_attention_cases.ts";

const T5: AttnCase[] = [
  { batch: 2, heads: 2, sq: 33, sk: 33, dim: 64, scale: 1, bias: "shared", mask: true },
  { batch: 1, heads: 3, sq: 7, sk: 7, dim: 64, scale: 1, bias: "shared", mask: true },
];

for (const variant of FLASH_ATTENTION_VARIANTS) {
  Deno.test({
    name: `flashAttention() variant "${variant.name}" matches flashAttentionRef() at head dim 64 ` +
      `with scale 1, bias and key mask (atol 1e-5, rtol 1e-4)`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      await withVariant(gpu, "flash_attention", variant.name, async () => {
        for (const c of T5) await checkFlashCase(gpu, c, `${variant.name} ${caseLabel(c)}`);
      });
    },
  });
}
