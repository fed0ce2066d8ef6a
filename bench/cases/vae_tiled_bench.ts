// vae_tiled: decode a 1024x1024 image ([1, 4, 256, 256] latents) in 512-pixel tiles (the default
// tiling: overlap 0.25, latent stride 48, so 6x6 tiles, the last ones 16 latents wide, as
// diffusers lays them out) with the tiny fixture VAE (tests/fixtures/models/tiny-pixart, channels
// [8, 16, 16]), and the same decode untiled as the baseline. Timing "wall": one whole call, synced,
// after a smaller call of the same kind compiled its pipelines. peak_bytes: the most live tensor
// bytes during the call beyond the latents and weights (the 12.6 MB output included). 2048x2048
// would take minutes on lavapipe, so the rows use 1024.

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { Weights } from "../../tensor/weights.ts";
import { openSafetensors } from "../../io/safetensors.ts";
import { parseVaeConfig } from "../../model/vae/config.ts";
import { AutoencoderKL } from "../../model/vae/autoencoder_kl.ts";
import type { VaeTilingMode } from "../../model/vae/tiling.ts";
import { type BenchRow, round } from "../_timing.ts";
import type { BenchCase } from "../run.ts";

const SIDE = 1024;

function latents(gpu: Gpu, c: number, side: number): Tensor {
  return Tensor.from(gpu, new Float32Array(c * side * side).map((_, i) => Math.sin(i)), [
    1,
    c,
    side,
    side,
  ]);
}

async function decodeRow(
  gpu: Gpu,
  vae: AutoencoderKL,
  mode: VaeTilingMode,
  log: (m: string) => void,
): Promise<BenchRow> {
  const c = vae.config.latentChannels, side = SIDE / vae.config.scale;
  // 112 latents hold every tile shape of the 256-latent call (64 and 16 wide); 128 untiled
  // picks the same kernel variants as 256
  const warm = latents(gpu, c, mode === "always" ? 112 : 128);
  vae.decode(warm, { tiling: { mode } }).dispose();
  warm.dispose();
  const z = latents(gpu, c, side);
  await gpu.sync();
  const live = gpu.memory().liveBytes;
  gpu.resetPeak();
  const t0 = performance.now();
  const y = vae.decode(z, { tiling: { mode } });
  await gpu.sync();
  const ms = performance.now() - t0;
  const peak = gpu.memory().peakBytes - live;
  y.dispose(), z.dispose();
  log(`  decode ${SIDE}² ${mode === "always" ? "tiled" : "untiled"}: ${ms.toFixed(0)} ms`);
  return {
    kernel: "vae_tiled",
    case: `tiny_vae_decode_${SIDE}x${SIDE}_${
      mode === "always" ? "tiles512_overlap0.25" : "untiled"
    }`,
    dtype: "f32",
    ms: round(ms, 1),
    timing: "wall",
    adapter: gpu.description,
    baseline: mode !== "always",
    peak_bytes: peak,
  };
}

/** The vae_tiled bench case. */
export const vaeTiledBench: BenchCase = {
  kernel: "vae_tiled",
  group: "model",
  async run(gpu, log) {
    const dir = new URL("../../tests/fixtures/models/tiny-pixart/vae/", import.meta.url).pathname;
    const config = parseVaeConfig(JSON.parse(await Deno.readTextFile(`${dir}config.json`)));
    const vae = await AutoencoderKL.load(
      new Weights(gpu, await openSafetensors(`${dir}diffusion_pytorch_model.safetensors`), {
        dtype: "f32",
      }),
      config,
    );
    try {
      return [await decodeRow(gpu, vae, "always", log), await decodeRow(gpu, vae, "never", log)];
    } finally {
      vae.dispose();
    }
  },
};
