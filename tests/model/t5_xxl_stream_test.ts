// T5Encoder's `stream` option at T5-XXL width (d_model 4096, d_ff 10240, 64 heads × 64; SPEC §3,
// §10) with random weights generated in memory (bench/cases/t5_xxl_bench.ts, which measures the
// same at 120 tokens): device memory stays at about one block whatever the depth, far below 2 GiB,
// counting the runtime's tensors and packed weights, the pool's buffers and the staging textures.

import { assertLess, assertLessOrEqual } from "@std/assert";
import { runT5Xxl, t5XxlConfig } from "../../bench/cases/t5_xxl_bench.ts";
import { GPU_TEST, testGpu } from "../_harness.ts";

const GiB = 2 ** 30, MiB = 2 ** 20;

Deno.test({
  name: "T5Encoder streams XXL-width blocks within one block of memory (2 vs 3 blocks, < 2 GiB)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const c = t5XxlConfig(1);
    // one block as stored: q, k, v, o, wi_0, wi_1 in the weights dtype, wo in f32, two norms
    const el = gpu.f16 ? 2 : 4, d = c.dModel, ff = c.dFf;
    const block = 4 * d * d * el + 2 * ff * d * el + ff * d * 4 + 2 * d * 4;
    const opts = { tokens: 16, stream: true, vocab: 512 };
    const two = await runT5Xxl(gpu, { ...opts, blocks: 2 });
    const three = await runT5Xxl(gpu, { ...opts, blocks: 3 });
    for (const [n, r] of [[2, two], [3, three]] as const) {
      const what = `${n} blocks: ${JSON.stringify(r)}`;
      assertLess(r.peakBytes, 2 * GiB, what);
      assertLess(r.poolBytes + r.textureBytes, 2 * GiB, what);
      // about one block's weights live at a time, never two
      assertLess(r.peakBytes, 1.5 * block, what);
    }
    // a third block adds no memory: the same buffers and textures serve every block
    assertLessOrEqual(three.peakBytes, two.peakBytes + 4 * MiB);
    assertLessOrEqual(three.poolBytes, two.poolBytes + 4 * MiB);
    assertLessOrEqual(three.textureBytes, two.textureBytes + 4 * MiB);
  },
});
