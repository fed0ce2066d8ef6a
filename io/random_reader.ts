// A TensorReader over deterministic pseudo-random F16 weights, generated on demand: full-size
// random-weight models for benchmarks without multi-GB files on disk.

import { SafetensorsError, type TensorInfo } from "./safetensors_header.ts";
import {
  chunkStep,
  DEFAULT_CHUNK_BYTES,
  type TensorChunk,
  type TensorReader,
} from "./tensor_reader.ts";
import { f16ArrayToF32, f32ToF16 } from "./f16.ts";

/** Random F16 tensors with the given shapes: values uniform in ±`scale` (default 0.02). */
export class RandomTensorReader implements TensorReader {
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>> = {};
  readonly #shapes: Map<string, number[]>;
  readonly #seed: number;
  readonly #scale: number;

  /** @param shapes keys → shapes @param seed generator seed @param scale value range */
  constructor(shapes: Map<string, number[]>, seed = 0, scale = 0.02, path = "random weights") {
    this.#shapes = shapes;
    this.#seed = seed;
    this.#scale = scale;
    this.path = path;
  }

  keys(): string[] {
    return [...this.#shapes.keys()];
  }

  has(key: string): boolean {
    return this.#shapes.has(key);
  }

  info(key: string): TensorInfo {
    const shape = this.#shapes.get(key);
    if (!shape) {
      throw new SafetensorsError(`Cannot read tensor "${key}" of "${this.path}": no such key`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    return { dtype: "F16", shape: [...shape], byteOffset: 0, byteLength: 2 * n, file: this.path };
  }

  async readRaw(key: string): Promise<Uint8Array> {
    const info = this.info(key);
    const out = new Uint8Array(info.byteLength);
    for await (const c of this.readChunks(key, Math.max(4, info.byteLength))) {
      out.set(c.bytes, c.byteOffset);
    }
    return out;
  }

  async readF32(key: string): Promise<Float32Array> {
    const raw = await this.readRaw(key);
    return f16ArrayToF32(new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
  }

  async *readChunks(key: string, maxChunkBytes = DEFAULT_CHUNK_BYTES): AsyncIterable<TensorChunk> {
    const info = this.info(key);
    const step = chunkStep(info, key, maxChunkBytes);
    let h = this.#seed ^
      [...key].reduce((a, ch) => Math.imul(a ^ ch.charCodeAt(0), 0x01000193), 0x811c9dc5);
    for (let off = 0; off < info.byteLength; off += step) {
      const n = Math.min(step, info.byteLength - off) / 2;
      const bits = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        h = (Math.imul(h, 1664525) + 1013904223) >>> 0; // LCG: fast, and quality does not matter here
        bits[i] = f32ToF16(((h / 4294967296) * 2 - 1) * this.#scale);
      }
      yield { byteOffset: off, bytes: new Uint8Array(bits.buffer) };
    }
  }

  close(): void {}
}
