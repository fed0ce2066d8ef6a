// Prefix-scoped weight loader (as candle's VarBuilder::pp): model code asks for checkpoint keys
// relative to its module path, shapes are checked, every key used is recorded, and
// `assertAllUsed()` reports leftovers. Tensors stream to the GPU in bounded chunks.

import type { TensorChunk, TensorReader } from "../io/tensor_reader.ts";
import type { TensorInfo } from "../io/safetensors_header.ts";
import { decodeToF32 } from "../io/safetensors_dtype.ts";
import type { Gpu } from "./device.ts";
import { type DType, f32ToF16Bits } from "./dtype.ts";
import { formatShape } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { formatKeyList } from "../io/key_match.ts";

/** Options of {@link Weights}. */
export interface WeightsOptions {
  /** Storage dtype of floating-point weights: "f16" (default where the adapter has it) or "f32". */
  dtype?: "f16" | "f32";
  /** Host memory bound while streaming one tensor (default 16 MiB). */
  chunkBytes?: number;
}

interface Shared {
  used: Set<string>;
  dtype: DType;
  chunkBytes: number;
}

/** Weights of one checkpoint seen under a key prefix. */
export class Weights {
  readonly gpu: Gpu;
  readonly reader: TensorReader;
  readonly prefix: string;
  readonly #shared: Shared;

  /** @param gpu the device to upload to @param reader the checkpoint */
  constructor(
    gpu: Gpu,
    reader: TensorReader,
    options: WeightsOptions = {},
    prefix = "",
    shared?: Shared,
  ) {
    this.gpu = gpu;
    this.reader = reader;
    this.prefix = prefix;
    this.#shared = shared ?? {
      used: new Set(),
      dtype: options.dtype ?? (gpu.f16 ? "f16" : "f32"),
      chunkBytes: options.chunkBytes ?? 16 << 20,
    };
  }

  /** The same checkpoint under `prefix.name.` (module paths mirror checkpoint keys). */
  sub(name: string): Weights {
    return new Weights(this.gpu, this.reader, {}, `${this.prefix}${name}.`, this.#shared);
  }

  /** Whether the checkpoint has `key` under this prefix. */
  has(key: string): boolean {
    return this.reader.has(this.prefix + key);
  }

  /** The checkpoint's shape of `key`. */
  shape(key: string): number[] {
    return this.#info(key).shape;
  }

  #info(key: string): TensorInfo {
    const full = this.prefix + key;
    if (!this.reader.has(full)) {
      throw new Error(`Cannot load weight "${full}": it is not in "${this.reader.path}"`);
    }
    return this.reader.info(full);
  }

  #check(key: string, shape?: readonly number[]): TensorInfo {
    const info = this.#info(key);
    if (
      shape && (shape.length !== info.shape.length || shape.some((d, i) => d !== info.shape[i]))
    ) {
      throw new Error(
        `Cannot load weight "${this.prefix + key}": expected shape ${formatShape(shape)}, got ${
          formatShape(info.shape)
        }`,
      );
    }
    this.#shared.used.add(this.prefix + key);
    return info;
  }

  /** Dtype, shape and byte span of `key`, checking the shape and marking it used. */
  info(key: string, shape?: readonly number[]): TensorInfo {
    return this.#check(key, shape);
  }

  /** The raw bytes of `key` in pieces of at most `maxChunkBytes` (marks it used). */
  chunks(key: string, maxChunkBytes: number = this.#shared.chunkBytes): AsyncIterable<TensorChunk> {
    this.#check(key);
    return this.reader.readChunks(this.prefix + key, maxChunkBytes);
  }

  /** Reads `key` to the host as f32 (for small tables computed on the CPU). */
  async f32(key: string, shape?: readonly number[]): Promise<Float32Array> {
    this.#check(key, shape);
    return await this.reader.readF32(this.prefix + key);
  }

  /**
   * Uploads `key` as a tensor, checking its shape. Floats are stored in the weights dtype (f16
   * where the adapter has it, unless `dtype` says otherwise).
   */
  async get(key: string, shape?: readonly number[], dtype?: DType): Promise<Tensor> {
    const info = this.#check(key, shape);
    const full = this.prefix + key;
    const target = dtype ?? this.#shared.dtype;
    const t = Tensor.empty(this.gpu, info.shape, target, full, true);
    try {
      const f16 = t.elementBytes === 2;
      let offset = 0;
      for await (const chunk of this.reader.readChunks(full, this.#shared.chunkBytes)) {
        const bytes = f16 && info.dtype === "F16"
          ? chunk.bytes
          : encode(decodeToF32(info.dtype, chunk.bytes), f16);
        t.write(bytes, offset);
        offset += bytes.byteLength;
      }
    } catch (e) {
      t.dispose();
      throw e;
    }
    return t;
  }

  /** Checkpoint keys under this prefix that nothing has loaded. */
  unused(): string[] {
    return this.reader.keys().filter((k) => k.startsWith(this.prefix) && !this.#shared.used.has(k));
  }

  /** Throws, listing them by name, if any checkpoint key under this prefix was not loaded. */
  assertAllUsed(): void {
    const left = this.unused();
    if (left.length === 0) return;
    throw new Error(
      `Cannot use checkpoint "${this.reader.path}": ${left.length} unused keys (${
        formatKeyList(left)
      })`,
    );
  }
}

function encode(values: Float32Array, f16: boolean): Uint8Array {
  if (!f16) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = f32ToF16Bits(values[i]);
  return new Uint8Array(bits.buffer);
}
