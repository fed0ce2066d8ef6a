// AutoencoderKL parity against diffusers on the tiny random-weight VAE of the fixture pipeline
// (tools/make_model_fixtures.py; block_out_channels [8, 16, 16], 4 groups, 32x24 images).

import { assertEquals } from "@std/assert";
import { parseVaeConfig } from "../../model/vae/config.ts";
import { AutoencoderKL } from "../../model/vae/autoencoder_kl.ts";
import { assertClose, GPU_TEST, testGpu } from "../_harness.ts";
import { config, FORWARD_TOL, reference, upload, weights } from "./_fixtures.ts";

Deno.test({
  name: "AutoencoderKL encode (moments, mean) and decode match diffusers",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const cfg = parseVaeConfig(await config("tiny-pixart/vae/config.json"));
    assertEquals(cfg.scale, 4);
    const vae = await AutoencoderKL.load(
      await weights(gpu, "tiny-pixart/vae/diffusion_pytorch_model.safetensors"),
      cfg,
    );
    const ref = await reference("vae_reference.safetensors");
    const image = await upload(gpu, ref, "input.image");
    const moments = vae.moments(image);
    assertClose(
      await moments.toArray(),
      await ref.readF32("encode.moments"),
      FORWARD_TOL,
      "moments",
    );
    const mean = vae.encodeMean(image);
    assertEquals(mean.shape, [2, 4, 8, 6]);
    assertClose(await mean.toArray(), await ref.readF32("encode.mean"), FORWARD_TOL, "mean");
    const decoded = vae.decode(await upload(gpu, ref, "input.latents"));
    assertClose(await decoded.toArray(), await ref.readF32("decode.sample"), FORWARD_TOL, "decode");
    for (const t of [image, moments, mean, decoded]) t.dispose();
    vae.dispose();
    ref.close();
  },
});
