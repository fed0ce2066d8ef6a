// The read interface shared by single-file, sharded and in-memory safetensors readers, so model
// loaders and the GPU upload path do not care where tensors are stored.

import { dtypeSize } from "./safetensors_dtype.ts";
import type { TensorInfo } from "./safetensors_header.ts";

/** One piece of a tensor's bytes from {@link TensorReader.readChunks}. */
export interface TensorChunk {
  /** Offset of `bytes` from the start of the tensor's data. */
  byteOffset: number;
  /** The bytes; every chunk but the last is a multiple of max(4, element size) long. */
  bytes: Uint8Array;
}

/** Read access to named tensors, whatever the storage (one file, shards, memory). */
export interface TensorReader {
  /** The file (or index file, or name) the tensors come from. */
  readonly path: string;
  /** Free-form string metadata (`__metadata__`, or the index's `metadata` for shards). */
  readonly metadata: Readonly<Record<string, string>>;
  /** All keys, in file order. */
  keys(): string[];
  /** Whether `key` names a tensor. */
  has(key: string): boolean;
  /** Dtype, shape and location of a tensor; throws SafetensorsError for unknown keys. */
  info(key: string): TensorInfo;
  /** Exactly the tensor's bytes, little-endian, C order. */
  readRaw(key: string): Promise<Uint8Array>;
  /** The tensor converted to f32 (see `decodeToF32` for the rules per dtype). */
  readF32(key: string): Promise<Float32Array>;
  /** The tensor's bytes in pieces of at most `maxChunkBytes`, for bounded host memory. */
  readChunks(key: string, maxChunkBytes?: number): AsyncIterable<TensorChunk>;
  /** Releases file handles; later reads throw. */
  close(): void;
}

/** Default `maxChunkBytes` of `readChunks`: 16 MiB. */
export const DEFAULT_CHUNK_BYTES: number = 16 << 20;

/**
 * The chunk length `readChunks` uses: `max` rounded down to a multiple of max(4, element size), so
 * chunks can go straight to `GPUQueue.writeBuffer` and to `decodeToF32`.
 * @param info the tensor
 * @param key the tensor's key, for the error message
 * @param max the caller's `maxChunkBytes`
 * @returns the step in bytes; throws RangeError when `max` is below the alignment
 */
export function chunkStep(info: TensorInfo, key: string, max: number): number {
  const align = Math.max(4, dtypeSize(info.dtype));
  if (!Number.isSafeInteger(max) || max < align) {
    throw new RangeError(
      `Cannot read tensor "${key}" in chunks: maxChunkBytes ${max} is below the ` +
        `${align}-byte minimum`,
    );
  }
  return max - (max % align);
}
