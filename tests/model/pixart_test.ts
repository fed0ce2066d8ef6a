// PixArtTransformer2DModel parity against diffusers on two tiny random-weight configs
// (tools/make_model_fixtures.py): A like the 512 model (2 heads, square 8x8 latent, no
// micro-conditions), B like 1024-MS (3 heads, 8x12 latent, micro-conditions, interpolation 2).

import { assertEquals } from "@std/assert";
import { parsePixArtConfig } from "../../model/pixart/config.ts";
import { PixArtTransformer } from "../../model/pixart/transformer.ts";
import type { Tensor } from "../../tensor/tensor.ts";
import { assertClose, GPU_TEST, testGpu } from "../_harness.ts";
import { BLOCK_TOL, config, FORWARD_TOL, reference, upload, weights } from "./_fixtures.ts";

const CASES = [
  { name: "A (512-like)", dir: "tiny-pixart/transformer", ref: "pixart_a_reference.safetensors" },
  { name: "B (1024-MS-like)", dir: "pixart-ms-transformer", ref: "pixart_b_reference.safetensors" },
];

for (const c of CASES) {
  Deno.test({
    name: `PixArtTransformer config ${c.name}: every stage and the output match diffusers`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      const cfg = parsePixArtConfig(await config(`${c.dir}/config.json`));
      const model = await PixArtTransformer.load(
        await weights(gpu, `${c.dir}/diffusion_pytorch_model.safetensors`),
        cfg,
      );
      const ref = await reference(c.ref);
      const latents = await upload(gpu, ref, "input.latent");
      const caption = await upload(gpu, ref, "input.encoder_hidden_states");
      const mask = await upload(gpu, ref, "input.encoder_attention_mask");
      const timesteps = Array.from(await ref.readF32("input.timestep"));
      let micro;
      if (ref.has("input.resolution")) {
        const res = await ref.readF32("input.resolution");
        // the fixture uses one size per row; our API takes one size for the batch, so check row 0 only if they differ
        micro = { height: res[0], width: res[1] };
        if (res[2] !== res[0] || res[3] !== res[1]) {
          return checkRowwise(gpu, model, ref, latents, caption, mask, timesteps);
        }
      }
      const traced = new Map<string, Promise<ArrayLike<number>>>();
      const out = model.forward({
        latents,
        timesteps,
        caption,
        captionMask: mask,
        micro,
        trace: (name, t) => traced.set(name, t.toArray()),
      });
      for (const [name, values] of traced) {
        const tol = name.startsWith("block") && name !== "block.0.out" ? FORWARD_TOL : BLOCK_TOL;
        assertClose(await values, await ref.readF32(name), tol, `${c.name} ${name}`);
      }
      assertEquals(out.shape, ref.info("output").shape);
      assertClose(
        await out.toArray(),
        await ref.readF32("output"),
        FORWARD_TOL,
        `${c.name} output`,
      );
      model.dispose();
      ref.close();
    },
  });
}

/** Config B's fixture gives each row its own size: run the rows one at a time. */
async function checkRowwise(
  gpu: Awaited<ReturnType<typeof testGpu>>,
  model: PixArtTransformer,
  ref: Awaited<ReturnType<typeof reference>>,
  latents: Tensor,
  caption: Tensor,
  mask: Tensor,
  timesteps: number[],
) {
  const res = await ref.readF32("input.resolution");
  const expected = await ref.readF32("output");
  const rowSize = expected.length / 2;
  for (let b = 0; b < 2; b++) {
    const out = model.forward({
      latents: latents.slice(b, b + 1),
      timesteps: [timesteps[b]],
      caption: caption.slice(b, b + 1),
      captionMask: mask.slice(b, b + 1),
      micro: { height: res[2 * b], width: res[2 * b + 1] },
    });
    assertClose(
      await out.toArray(),
      expected.subarray(b * rowSize, (b + 1) * rowSize),
      FORWARD_TOL,
      `B row ${b}`,
    );
  }
  model.dispose();
  ref.close();
  void gpu;
}
