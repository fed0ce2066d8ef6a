// T5EncoderModel parity against transformers on the tiny random-weight text encoder of the
// fixture pipeline (tools/make_model_fixtures.py; d_model 32, 4 heads, 2 gated-GELU blocks).

import { assertEquals } from "@std/assert";
import { parseT5Config } from "../../model/t5/config.ts";
import { T5Encoder } from "../../model/t5/encoder.ts";
import { relativePositionBucket } from "../../model/t5/relative_position.ts";
import { assertClose, GPU_TEST, testGpu } from "../_harness.ts";
import { config, FORWARD_TOL, reference, weights } from "./_fixtures.ts";

Deno.test("relativePositionBucket() matches transformers for every offset −119…119", async () => {
  const ref = await reference("t5_reference.safetensors");
  const rel = await ref.readF32("relative_position"),
    buckets = await ref.readF32("relative_buckets");
  const ours = Array.from(rel, (r) => relativePositionBucket(r, 32, 128));
  assertEquals(ours, Array.from(buckets));
  ref.close();
});

for (const stream of [false, true]) {
  Deno.test({
    name: `T5Encoder${stream ? " (streaming blocks)" : ""} matches transformers' last_hidden_state`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      const cfg = parseT5Config(await config("tiny-pixart/text_encoder/config.json"));
      const encoder = await T5Encoder.load(
        await weights(gpu, "tiny-pixart/text_encoder/model.safetensors"),
        cfg,
        {
          stream,
        },
      );
      const ref = await reference("t5_reference.safetensors");
      const ids = Int32Array.from(await ref.readF32("input.input_ids"));
      const mask = await ref.readF32("input.attention_mask");
      const out = await encoder.encode(gpu, ids, mask, 2);
      assertEquals(out.shape, [2, 120, 32]);
      assertClose(
        await out.toArray(),
        await ref.readF32("last_hidden_state"),
        FORWARD_TOL,
        "last_hidden_state",
      );
      out.dispose();
      encoder.dispose();
      ref.close();
    },
  });
}
