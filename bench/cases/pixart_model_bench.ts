// Model-level benches (run only under `--filter model`): a random-weight PixArt-XL-2-512x512
// transformer forward at 512x512 (1024 tokens), batch 2, and one edit denoising step (batch 3:
// source, target uncond, target cond, with attention control) without and with ToMe merging at
// ratio 0.5; and the same step on the tiny fixture pipeline. Timing "wall": whole calls, synced.

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { scope } from "../../tensor/scope.ts";
import { Weights } from "../../tensor/weights.ts";
import { RandomTensorReader } from "../../io/random_reader.ts";
import { openSafetensors } from "../../io/safetensors.ts";
import { parsePixArtConfig } from "../../model/pixart/config.ts";
import { pixartWeightShapes } from "../../model/pixart/weight_shapes.ts";
import { PixArtTransformer } from "../../model/pixart/transformer.ts";
import { controlAt, type ControlSettings } from "../../pipeline/attention_control.ts";
import { median, round } from "../_timing.ts";
import type { BenchCase } from "../run.ts";
import type { BenchRow } from "../_timing.ts";

/** PixArt-XL-2-512x512's transformer config (SPEC §2.1). */
const XL_512 = {
  num_attention_heads: 16,
  attention_head_dim: 72,
  num_layers: 28,
  in_channels: 4,
  out_channels: 8,
  patch_size: 2,
  sample_size: 64,
  caption_channels: 4096,
  use_additional_conditions: false,
};

async function timeCalls(gpu: Gpu, repeats: number, fn: () => Tensor): Promise<number[]> {
  const ms: number[] = [];
  for (let r = 0; r < repeats; r++) {
    await gpu.sync();
    const t0 = performance.now();
    await scope(async () => {
      fn();
      await gpu.sync();
    });
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** Forward and edit-step rows of a transformer at a latent side, batch rows given. */
export async function transformerRows(
  gpu: Gpu,
  model: PixArtTransformer,
  name: string,
  side: number,
  log: (msg: string) => void,
): Promise<BenchRow[]> {
  const cfg = model.config, tokens = (side / cfg.patchSize) ** 2;
  const inputs = (b: number) => ({
    latents: Tensor.from(gpu, new Float32Array(b * 4 * side * side).fill(0.1), [b, 4, side, side]),
    caption: Tensor.from(gpu, new Float32Array(b * 120 * cfg.captionChannels).fill(0.01), [
      b,
      120,
      cfg.captionChannels,
    ]),
    captionMask: Tensor.from(gpu, new Float32Array(b * 120).fill(1), [b, 120]),
    timesteps: new Array(b).fill(500),
  });
  const rows: BenchRow[] = [];
  const base = {
    dtype: gpu.f16 ? "f16" : "f32",
    timing: "wall" as const,
    adapter: gpu.description,
    baseline: false,
  };
  const two = inputs(2);
  gpu.resetPeak();
  log(`${name}: forward B2 at ${tokens} tokens (first call compiles)`);
  const first = await timeCalls(gpu, 1, () => model.forward(two));
  const fwd = await timeCalls(gpu, 1, () => model.forward(two));
  rows.push({
    ...base,
    kernel: `${name}_forward`,
    case: `B2_N${tokens}`,
    ms: round(median(fwd)),
    compile_ms: round(first[0] - fwd[0]),
    peak_bytes: gpu.memory().peakBytes,
  });
  const three = inputs(3);
  for (const ratio of [0, 0.5]) {
    const settings: ControlSettings = {
      enabled: true,
      steps: 30,
      threshold: 6,
      blocks: [Math.floor(cfg.numLayers / 2), cfg.numLayers - 1],
      crossReplace: 0,
      merge: ratio > 0
        ? { h: side / cfg.patchSize, w: side / cfg.patchSize, ratio, seed: 0 }
        : undefined,
    };
    log(`${name}: edit step B3 at ${tokens} tokens, merge ratio ${ratio}`);
    const step = () => model.forward({ ...three, control: controlAt(settings, 0, undefined) });
    await timeCalls(gpu, 1, step); // compile the merge kernels too
    const ms = await timeCalls(gpu, 1, step);
    rows.push({
      ...base,
      kernel: `${name}_edit_step`,
      case: `B3_N${tokens}_merge${ratio}`,
      ms: round(median(ms)),
    });
  }
  for (const t of [...Object.values(two), ...Object.values(three)]) {
    if (t instanceof Tensor) t.dispose();
  }
  return rows;
}

/** PixArt-XL-2-512x512 with random f16 weights (no 2.4 GB file on disk). */
export const pixartModelBench: BenchCase = {
  kernel: "pixart_xl_512",
  group: "model",
  async run(gpu, log) {
    const cfg = parsePixArtConfig(XL_512);
    const reader = new RandomTensorReader(pixartWeightShapes(cfg), 1);
    log("pixart_xl_512: generating and uploading 611 M random weights");
    const model = await PixArtTransformer.load(new Weights(gpu, reader), cfg);
    try {
      return await transformerRows(gpu, model, "pixart_xl_512", 64, log);
    } finally {
      model.dispose();
    }
  },
};

/** The tiny fixture transformer (tests/fixtures/models/tiny-pixart), for a quick step figure. */
export const tinyPixartBench: BenchCase = {
  kernel: "tiny_pixart",
  group: "model",
  async run(gpu, log) {
    const dir =
      new URL("../../tests/fixtures/models/tiny-pixart/transformer/", import.meta.url).pathname;
    const cfg = parsePixArtConfig(JSON.parse(await Deno.readTextFile(`${dir}config.json`)));
    const model = await PixArtTransformer.load(
      new Weights(gpu, await openSafetensors(`${dir}diffusion_pytorch_model.safetensors`)),
      cfg,
    );
    try {
      return await transformerRows(gpu, model, "tiny_pixart", 8, log);
    } finally {
      model.dispose();
    }
  },
};
