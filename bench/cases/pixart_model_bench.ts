// Model-level benches (run only under `--filter model`): a random-weight PixArt-XL-2-512x512
// transformer forward at 512x512 (1024 tokens), batch 2, and one edit denoising step (batch 3:
// source, target uncond, target cond, with attention control) without and with ToMe merging at
// ratio 0.5; and the same step on the tiny fixture pipeline. Timing "wall": whole calls, synced.
// The XL rows compile their pipelines on a one-block twin (same shapes), so each row is one call
// of the 28-block model; peak_bytes and weights_bytes include the twin's weights (~70 MB).
// cpu_ms is the process CPU time per timed call (lavapipe's threads included), which other
// processes sharing the cores inflate less than the wall time `ms`.

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
import { cpuTimeMs, median, round } from "../_timing.ts";
import type { BenchCase } from "../run.ts";
import type { BenchRow } from "../_timing.ts";

/** PixArt-XL-2-512x512's transformer config (SPEC §2.1). */
export const XL_512 = {
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

/** Wall milliseconds of `repeats` whole calls of `fn`, each synced (its tensors are freed). */
export async function timeCalls(gpu: Gpu, repeats: number, fn: () => Tensor): Promise<number[]> {
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

/** Options of {@link transformerRows}. */
export interface TransformerRowsOptions {
  /**
   * A model with the same config but fewer blocks whose calls compile every pipeline before the
   * timed call (pipelines depend on shapes, not on the block count), so a full-depth model is
   * called once per row; default: the model itself (one extra call per row).
   */
  warmup?: PixArtTransformer;
  /** Include the batch-2 forward row (default true). */
  forward?: boolean;
  /** Merge ratios of the edit-step rows (default [0, 0.5]). */
  ratios?: number[];
  /** Blocks [first, last] under attention control (default the second half). */
  controlBlocks?: [number, number];
  /** Timed calls per row, median reported (default 1). */
  repeats?: number;
}

/**
 * Forward (batch 2) and edit-step (batch 3, attention control, merge ratios) rows of a transformer
 * at a latent side. Rows carry wall ms per call, ms per block, the merge speedup over ratio 0
 * measured in the same run, and peak_bytes (weights included; weights_bytes says how much).
 */
export async function transformerRows(
  gpu: Gpu,
  model: PixArtTransformer,
  name: string,
  side: number,
  log: (msg: string) => void,
  options: TransformerRowsOptions = {},
): Promise<BenchRow[]> {
  const cfg = model.config, tokens = (side / cfg.patchSize) ** 2, blocks = cfg.numLayers;
  const warm = options.warmup ?? model, repeats = options.repeats ?? 1;
  const weightsBytes = gpu.memory().liveBytes;
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
  // compile on `warm` (first call minus second), then time `model` with a fresh peak
  const measure = async (call: (m: PixArtTransformer) => Tensor) => {
    const first = (await timeCalls(gpu, 1, () => call(warm)))[0];
    const second = warm === model ? undefined : (await timeCalls(gpu, 1, () => call(warm)))[0];
    gpu.resetPeak();
    const c0 = cpuTimeMs();
    const ms = median(await timeCalls(gpu, repeats, () => call(model)));
    const cpuMs = (cpuTimeMs() - c0) / repeats;
    return { ms, cpuMs, compileMs: first - (second ?? ms), peak: gpu.memory().peakBytes };
  };
  const rows: BenchRow[] = [];
  const base = {
    dtype: gpu.f16 ? "f16" : "f32",
    timing: "wall" as const,
    adapter: gpu.description,
    baseline: false,
    blocks,
  };
  const two = inputs(2), three = inputs(3);
  try {
    if (options.forward ?? true) {
      log(`${name}: forward B2 at ${tokens} tokens (first call compiles)`);
      const r = await measure((m) => m.forward(two));
      log(`${name}: forward ${round(r.ms)} ms (cpu ${round(r.cpuMs)} ms)`);
      rows.push({
        ...base,
        kernel: `${name}_forward`,
        case: `B2_N${tokens}`,
        ms: round(r.ms),
        per_block_ms: round(r.ms / blocks),
        cpu_ms: round(r.cpuMs),
        compile_ms: round(r.compileMs),
        peak_bytes: r.peak,
        weights_bytes: weightsBytes,
      });
    }
    let unmerged: number | undefined, unmergedCpu: number | undefined;
    for (const ratio of options.ratios ?? [0, 0.5]) {
      const settings: ControlSettings = {
        enabled: true,
        steps: 30,
        threshold: 6,
        blocks: options.controlBlocks ?? [Math.floor(blocks / 2), blocks - 1],
        crossReplace: 0,
        merge: ratio > 0
          ? { h: side / cfg.patchSize, w: side / cfg.patchSize, ratio, seed: 0 }
          : undefined,
      };
      log(`${name}: edit step B3 at ${tokens} tokens, merge ratio ${ratio}`);
      const r = await measure((m) =>
        m.forward({ ...three, control: controlAt(settings, 0, undefined) })
      );
      if (ratio === 0) [unmerged, unmergedCpu] = [r.ms, r.cpuMs];
      log(`${name}: edit step merge ${ratio}: ${round(r.ms)} ms (cpu ${round(r.cpuMs)} ms)`);
      rows.push({
        ...base,
        kernel: `${name}_edit_step`,
        case: `B3_N${tokens}_merge${ratio}`,
        ms: round(r.ms),
        per_block_ms: round(r.ms / blocks),
        speedup: unmerged !== undefined ? round(unmerged / r.ms, 2) : undefined,
        cpu_ms: round(r.cpuMs),
        cpu_speedup: unmergedCpu !== undefined ? round(unmergedCpu / r.cpuMs, 2) : undefined,
        control_blocks: settings.blocks,
        compile_ms: round(r.compileMs),
        peak_bytes: r.peak,
        weights_bytes: weightsBytes,
      });
    }
  } finally {
    for (const t of [...Object.values(two), ...Object.values(three)]) {
      if (t instanceof Tensor) t.dispose();
    }
  }
  return rows;
}

/** A random-weight transformer (f16 values from io/random_reader.ts) for a config JSON. */
export async function randomPixArt(
  gpu: Gpu,
  json: Record<string, unknown>,
  seed = 1,
): Promise<PixArtTransformer> {
  const cfg = parsePixArtConfig(json);
  const reader = new RandomTensorReader(pixartWeightShapes(cfg), seed);
  return await PixArtTransformer.load(new Weights(gpu, reader), cfg);
}

/** PixArt-XL-2-512x512 with random f16 weights (no 2.4 GB file on disk). */
export const pixartModelBench: BenchCase = {
  kernel: "pixart_xl_512",
  group: "model",
  async run(gpu, log) {
    // a one-block twin compiles every pipeline, so each 28-block row costs one call
    const warmup = await randomPixArt(gpu, { ...XL_512, num_layers: 1 }, 2);
    log("pixart_xl_512: generating and uploading 611 M random weights");
    const t0 = performance.now();
    const model = await randomPixArt(gpu, XL_512);
    log(`pixart_xl_512: weights ready in ${round((performance.now() - t0) / 1000, 1)} s`);
    try {
      return await transformerRows(gpu, model, "pixart_xl_512", 64, log, { warmup });
    } finally {
      model.dispose();
      warmup.dispose();
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
