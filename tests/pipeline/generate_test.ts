// End-to-end generation parity: our pipeline (tokenizer, T5, PixArt, DPM-Solver++) against
// diffusers' PixArtAlphaPipeline on the tiny fixture folder (tools/make_model_fixtures.py: 4 steps,
// guidance 4.5, clean_caption off, the prompt in the reference file's metadata).

import { assertEquals } from "@std/assert";
import { loadPipeline } from "../../pipeline/pixart_pipeline.ts";
import { generateLatents } from "../../pipeline/edit.ts";
import { assertClose, GPU_TEST, testGpu } from "../_harness.ts";
import { FIXTURES, FORWARD_TOL, reference, upload } from "../model/_fixtures.ts";

Deno.test({
  name: "generateLatents() matches PixArtAlphaPipeline's final latents (rtol 1e-3, atol 1e-4)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const pipe = await loadPipeline(`${FIXTURES}tiny-pixart`, { gpu, dtype: "f32" });
    const ref = await reference("pipeline_reference.safetensors");
    const prompt = ref.metadata.prompt;
    const cond = await pipe.encodePrompt(prompt), uncond = await pipe.encodePrompt("");
    assertEquals(Array.from(cond.ids), Array.from(await ref.readF32("prompt.input_ids")));
    assertClose(
      await cond.embeds.toArray(),
      await ref.readF32("prompt_embeds"),
      FORWARD_TOL,
      "prompt embeds",
    );
    assertClose(
      await uncond.embeds.toArray(),
      await ref.readF32("negative_prompt_embeds"),
      FORWARD_TOL,
      "null embeds",
    );
    const noise = await upload(gpu, ref, "input.latents");
    const z = await generateLatents(pipe, cond, uncond, noise, { steps: 4, guidance: 4.5 });
    assertClose(
      await z.toArray(),
      await ref.readF32("final_latents"),
      FORWARD_TOL,
      "final latents",
    );
    for (const t of [z, noise, cond.embeds, cond.mask, uncond.embeds, uncond.mask]) t.dispose();
    pipe.dispose();
    ref.close();
  },
});
