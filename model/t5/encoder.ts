// T5EncoderModel (transformers modeling_t5.py; SPEC §3.1): embedding lookup, N blocks sharing the
// block-0 relative position bias, final RMSNorm. With `stream`, blocks are loaded one at a time
// and freed after use, so T5-XXL (9.5 GB in f16) runs with about one block on the device.

import { Tensor } from "../../tensor/tensor.ts";
import { scope } from "../../tensor/scope.ts";
import type { Gpu } from "../../tensor/device.ts";
import type { Weights } from "../../tensor/weights.ts";
import { rmsNorm } from "../../kernels/rms_norm.ts";
import { decodeToF32 } from "../../io/safetensors_dtype.ts";
import { relativePositionBias } from "./relative_position.ts";
import { T5Block } from "./t5_layers.ts";
import type { T5Config } from "./config.ts";

/** Options of {@link T5Encoder.load}. */
export interface T5LoadOptions {
  /** Load each block when it runs and free it after (bounded device memory). Default false. */
  stream?: boolean;
}

/** The T5 encoder. Call `encode(ids, mask)` with token ids from the tokenizer. */
export class T5Encoder {
  #blocks: (T5Block | undefined)[];

  constructor(
    readonly w: Weights,
    readonly config: T5Config,
    readonly relTable: Float32Array, // [buckets, H]
    readonly finalNorm: Tensor,
    blocks: (T5Block | undefined)[],
  ) {
    this.#blocks = blocks;
  }

  /** Loads `shared`, `encoder.*` (or streams blocks later with `stream`). */
  static async load(w: Weights, config: T5Config, options: T5LoadOptions = {}): Promise<T5Encoder> {
    const blocks: (T5Block | undefined)[] = [];
    for (let b = 0; b < config.numLayers; b++) {
      blocks.push(
        options.stream ? undefined : await T5Block.load(w.sub(`encoder.block.${b}`), config),
      );
    }
    const rel = await w.f32(
      "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      [config.relativeAttentionNumBuckets, config.numHeads],
    );
    return new T5Encoder(
      w,
      config,
      rel,
      await w.get("encoder.final_layer_norm.weight", [config.dModel], "f32"),
      blocks,
    );
  }

  /** Looks up embedding rows on the host while streaming `shared.weight` (it can exceed a binding). */
  async #embed(gpu: Gpu, ids: Int32Array, batch: number): Promise<Tensor> {
    const d = this.config.dModel, key = "shared.weight";
    const rows = new Map<number, number[]>();
    ids.forEach((id, i) => {
      if (id < 0 || id >= this.config.vocabSize) {
        throw new RangeError(
          `Cannot embed token id ${id}: the vocabulary has ${this.config.vocabSize} entries`,
        );
      }
      rows.set(id, [...(rows.get(id) ?? []), i]);
    });
    const info = this.w.info(key, [this.config.vocabSize, d]);
    const rowBytes = info.byteLength / this.config.vocabSize;
    const step = Math.max(1, Math.floor((8 << 20) / rowBytes)) * rowBytes;
    const out = new Float32Array(ids.length * d);
    for await (const chunk of this.w.chunks(key, step)) {
      const first = chunk.byteOffset / rowBytes, n = chunk.bytes.byteLength / rowBytes;
      for (let r = first; r < first + n; r++) {
        const at = rows.get(r);
        if (!at) continue;
        const bytes = chunk.bytes.subarray((r - first) * rowBytes, (r - first + 1) * rowBytes);
        const vals = decodeToF32(info.dtype, bytes);
        for (const i of at) out.set(vals, i * d);
      }
    }
    return Tensor.from(gpu, out, [batch, ids.length / batch, d]);
  }

  /** ids and mask [B·L] row-major (mask 1 for tokens, 0 for padding) → hidden states [B, L, d]. */
  async encode(gpu: Gpu, ids: Int32Array, mask: Float32Array, batch: number): Promise<Tensor> {
    const cfg = this.config, length = ids.length / batch;
    let h = await this.#embed(gpu, ids, batch);
    const bias = Tensor.from(
      gpu,
      relativePositionBias(
        this.relTable,
        cfg.numHeads,
        length,
        cfg.relativeAttentionNumBuckets,
        cfg.relativeAttentionMaxDistance,
      ),
      [cfg.numHeads, length, length],
    );
    const keyMask = Tensor.from(gpu, mask, [batch, length]);
    for (let b = 0; b < cfg.numLayers; b++) {
      const block = this.#blocks[b] ?? await T5Block.load(this.w.sub(`encoder.block.${b}`), cfg);
      const resident = this.#blocks[b] !== undefined;
      const next = scope(() => block.forward(h, bias, keyMask));
      h.dispose();
      h = next;
      if (!resident) {
        // Freed before the submit: the pool hands the buffers only to later launches (which run
        // after these) until the submit, then to the next block's uploads too, so streaming holds
        // one block's buffers, not two. The sync keeps the host from loading ahead.
        block.dispose();
        await gpu.sync();
      }
    }
    const out = rmsNorm(h, this.finalNorm, { eps: cfg.layerNormEpsilon });
    for (const t of [h, bias, keyMask]) t.dispose();
    return out;
  }

  /** Frees the resident weights. */
  dispose(): void {
    this.finalNorm.dispose();
    for (const b of this.#blocks) b?.dispose();
  }
}
