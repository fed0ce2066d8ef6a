// t5_xxl_stream: the T5 encoder at T5-XXL width (d_model 4096, d_ff 10240, 64 heads × 64; SPEC §3)
// with random f16 weights and a few blocks, run with blocks streamed (loaded before each block's
// launches, freed after) and, for comparison, resident. Shows that device memory stays at about one
// block whatever the depth, so the 24-block encoder (9.5 GB in f16) runs in well under 2 GB.
// Memory columns: peak_bytes is the runtime's counter (live tensors and packed weights, above what
// was live before); pool_bytes every storage buffer the pool created during the run (freed ones
// included, so a high-water mark); texture_bytes the most bytes in textures at once (matmul and
// attention staging, which peak_bytes does not count); device_bytes = pool_bytes + texture_bytes.
// Timing "wall": load and encode (one call each, synced) after a one-block warm-up that compiles.

import type { Gpu } from "../../tensor/device.ts";
import { Weights } from "../../tensor/weights.ts";
import { RandomTensorReader } from "../../io/random_reader.ts";
import { f16ArrayToF32 } from "../../io/f16.ts";
import type { TensorInfo } from "../../io/safetensors_header.ts";
import {
  chunkStep,
  DEFAULT_CHUNK_BYTES,
  type TensorChunk,
  type TensorReader,
} from "../../io/tensor_reader.ts";
import { parseT5Config, type T5Config } from "../../model/t5/config.ts";
import { T5Encoder } from "../../model/t5/encoder.ts";
import { t5WeightShapes } from "../../model/t5/weight_shapes.ts";
import { releaseScratchTextures } from "../../kernels/_texture.ts";
import { releaseAttentionTextures } from "../../kernels/_attention.ts";
import { round } from "../_timing.ts";
import type { BenchRow } from "../_timing.ts";
import type { BenchCase } from "../run.ts";

/** T5 v1.1 XXL's encoder config (SPEC §3) with `blocks` blocks. */
export function t5XxlConfig(blocks: number, vocab = 32128): T5Config {
  return parseT5Config({
    d_model: 4096,
    d_kv: 64,
    num_heads: 64,
    d_ff: 10240,
    num_layers: blocks,
    vocab_size: vocab,
    feed_forward_proj: "gated-gelu",
  });
}

/**
 * RandomTensorReader's F16 values, generated once (4 MiB) and repeated from a per-key offset:
 * T5-XXL-size tensors without generating every value (about 100 ns each in JS on a busy host,
 * 20 s per block), so the figures measure streaming and compute, not the generator.
 */
export class RepeatingRandomReader implements TensorReader {
  readonly path = "repeating random weights";
  readonly metadata: Readonly<Record<string, string>> = {};
  readonly #shapes: RandomTensorReader;
  readonly #pool: Uint8Array;

  private constructor(shapes: RandomTensorReader, pool: Uint8Array) {
    this.#shapes = shapes;
    this.#pool = pool;
  }

  /** @param shapes keys → shapes @param seed generator seed */
  static async create(shapes: Map<string, number[]>, seed = 0): Promise<RepeatingRandomReader> {
    const gen = new RandomTensorReader(new Map([["pool", [2 << 20]]]), seed);
    return new RepeatingRandomReader(new RandomTensorReader(shapes), await gen.readRaw("pool"));
  }

  keys(): string[] {
    return this.#shapes.keys();
  }

  has(key: string): boolean {
    return this.#shapes.has(key);
  }

  info(key: string): TensorInfo {
    return this.#shapes.info(key);
  }

  async readRaw(key: string): Promise<Uint8Array> {
    const info = this.info(key);
    const out = new Uint8Array(info.byteLength);
    for await (const c of this.readChunks(key)) out.set(c.bytes, c.byteOffset);
    return out;
  }

  async readF32(key: string): Promise<Float32Array> {
    const raw = await this.readRaw(key);
    return f16ArrayToF32(new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
  }

  async *readChunks(key: string, maxChunkBytes = DEFAULT_CHUNK_BYTES): AsyncIterable<TensorChunk> {
    const info = this.info(key), pool = this.#pool, P = pool.length;
    const step = chunkStep(info, key, maxChunkBytes);
    let at =
      ([...key].reduce((a, ch) => Math.imul(a ^ ch.charCodeAt(0), 0x01000193), 0x811c9dc5) >>>
          0) % P & ~3;
    for (let off = 0; off < info.byteLength; off += step) {
      const n = Math.min(step, info.byteLength - off);
      let bytes: Uint8Array;
      if (at + n <= P) bytes = pool.subarray(at, at + n);
      else {
        bytes = new Uint8Array(n);
        for (let done = 0, from = at; done < n; from = 0) {
          const k = Math.min(n - done, P - from);
          bytes.set(pool.subarray(from, from + k), done);
          done += k;
        }
      }
      at = (at + n) % P;
      yield await Promise.resolve({ byteOffset: off, bytes });
    }
  }

  close(): void {}
}

const TEXEL_BYTES: Record<string, number> = {
  rgba32float: 16,
  rgba16float: 8,
  rg32float: 8,
  r32float: 4,
  r16float: 2,
  rgba8unorm: 4,
};

/** Counts bytes in textures created through `gpu.device` until `stop()`: live now and at most. */
function watchTextures(gpu: Gpu): { peak: () => number; stop: () => void } {
  const device = gpu.device;
  const create = device.createTexture;
  let live = 0, peak = 0;
  device.createTexture = function (desc: GPUTextureDescriptor): GPUTexture {
    const tex = create.call(device, desc);
    const [w, h = 1, d = 1] = Array.isArray(desc.size) ? desc.size as number[] : [
      (desc.size as GPUExtent3DDict).width,
      (desc.size as GPUExtent3DDict).height,
      (desc.size as GPUExtent3DDict).depthOrArrayLayers,
    ];
    const bytes = w * (h ?? 1) * (d ?? 1) * (TEXEL_BYTES[desc.format] ?? 16);
    live += bytes;
    peak = Math.max(peak, live);
    const destroy = tex.destroy;
    let gone = false;
    tex.destroy = function () {
      if (!gone) (gone = true, live -= bytes);
      return destroy.call(tex);
    };
    return tex;
  };
  return { peak: () => peak, stop: () => void (device.createTexture = create) };
}

/** What one T5 run held on the device and how long it took. */
export interface T5Run {
  /** Milliseconds to load the encoder (resident: every block) and to encode one prompt. */
  loadMs: number;
  encodeMs: number;
  /** The runtime's peak (tensors and packed weights) above what was live before the run. */
  peakBytes: number;
  /** Storage buffers created during the run (the pool was emptied first). */
  poolBytes: number;
  /** The most bytes in textures at once (scratch textures were released first). */
  textureBytes: number;
}

/**
 * Loads an XXL-width encoder of `blocks` random blocks and encodes `tokens` tokens, measuring
 * device memory from a clean pool and texture cache.
 *
 * @param gpu the device
 * @param options blocks, tokens, and whether blocks stream
 * @returns timings and memory
 */
export async function runT5Xxl(
  gpu: Gpu,
  options: { blocks: number; tokens: number; stream: boolean; vocab?: number },
): Promise<T5Run> {
  const config = t5XxlConfig(options.blocks, options.vocab);
  const reader = await RepeatingRandomReader.create(t5WeightShapes(config), 7);
  const L = options.tokens;
  const ids = Int32Array.from(
    { length: L },
    (_, i) => i === L - 1 ? 1 : 3 + ((i * 7919) % (config.vocabSize - 3)),
  );
  const mask = new Float32Array(L).fill(1);
  await gpu.sync();
  releaseScratchTextures(gpu);
  releaseAttentionTextures(gpu);
  gpu.pool.trim();
  const pool0 = gpu.pool.stats.allocatedBytes, live0 = gpu.memory().liveBytes;
  gpu.resetPeak();
  const textures = watchTextures(gpu);
  try {
    const t0 = performance.now();
    const encoder = await T5Encoder.load(new Weights(gpu, reader), config, {
      stream: options.stream,
    });
    await gpu.sync();
    const t1 = performance.now();
    const out = await encoder.encode(gpu, ids, mask, 1);
    const values = await out.toArray();
    const t2 = performance.now();
    if (!values.every(Number.isFinite)) {
      throw new Error("T5 at XXL width returned non-finite values");
    }
    out.dispose();
    encoder.dispose();
    return {
      loadMs: t1 - t0,
      encodeMs: t2 - t1,
      peakBytes: gpu.memory().peakBytes - live0,
      poolBytes: gpu.pool.stats.allocatedBytes - pool0,
      textureBytes: textures.peak(),
    };
  } finally {
    textures.stop();
  }
}

/** Streamed at 2 and 3 blocks (flat memory), resident at 3 blocks, 120 tokens (PixArt's length). */
export const t5XxlBench: BenchCase = {
  kernel: "t5_xxl_stream",
  group: "model",
  async run(gpu, log) {
    const rows: BenchRow[] = [];
    const L = 120;
    const runs: [string, number, boolean][] = [
      ["t5_xxl_stream", 2, true],
      ["t5_xxl_stream", 3, true],
      ["t5_xxl_resident", 3, false],
    ];
    log(`t5_xxl_stream: warm-up (1 block compiles the kernels; not reported)`);
    await runT5Xxl(gpu, { blocks: 1, tokens: L, stream: true });
    for (const [kernel, blocks, stream] of runs) {
      log(`${kernel}: ${blocks} blocks at XXL width, ${L} tokens`);
      const r = await runT5Xxl(gpu, { blocks, tokens: L, stream });
      rows.push({
        kernel,
        case: `blocks${blocks}_L${L}`,
        dtype: gpu.f16 ? "f16" : "f32",
        ms: round(r.loadMs + r.encodeMs),
        timing: "wall",
        adapter: gpu.description,
        baseline: !stream,
        load_ms: round(r.loadMs),
        encode_ms: round(r.encodeMs),
        peak_bytes: r.peakBytes,
        pool_bytes: r.poolBytes,
        texture_bytes: r.textureBytes,
        device_bytes: r.poolBytes + r.textureBytes,
      });
    }
    return rows;
  },
};
