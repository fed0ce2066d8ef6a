// Lazy safetensors readers: `openSafetensors` reads only the header at open time and each tensor's
// byte range on demand (real checkpoints are 1-20 GB); `readSafetensorsBytes` reads a file held in
// memory. Both implement `TensorReader`, which `io/sharded.ts` also implements.

import { decodeToF32 } from "./safetensors_dtype.ts";
import {
  parseHeaderJson,
  parseHeaderLength,
  parseSafetensorsHeader,
  SafetensorsError,
  type SafetensorsHeader,
  type TensorInfo,
} from "./safetensors_header.ts";
import {
  chunkStep,
  DEFAULT_CHUNK_BYTES,
  type TensorChunk,
  type TensorReader,
} from "./tensor_reader.ts";

function missingKey(path: string, key: string): never {
  throw new SafetensorsError(`Cannot find tensor "${key}" in "${path}": the file has no such key`);
}

/** A safetensors file opened lazily: header parsed, data read per tensor. */
export class SafetensorsFile implements TensorReader {
  /** The path given to {@link openSafetensors}. */
  readonly path: string;
  /** `__metadata__` (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Size of the file at open time. */
  readonly fileSize: number;
  #file: Deno.FsFile | undefined;
  #tensors: Map<string, TensorInfo>;
  #queue: Promise<unknown> = Promise.resolve();
  #bytesRead = 0;

  /** Use {@link openSafetensors}. */
  constructor(
    path: string,
    file: Deno.FsFile,
    fileSize: number,
    header: SafetensorsHeader,
    bytesRead: number,
  ) {
    this.path = path;
    this.#file = file;
    this.fileSize = fileSize;
    this.metadata = header.metadata;
    this.#tensors = header.tensors;
    this.#bytesRead = bytesRead;
  }

  /** Bytes read from the file so far, header included (lets tests check reads stay ranged). */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** All keys, in file offset order. */
  keys(): string[] {
    return [...this.#tensors.keys()];
  }

  /** Whether `key` names a tensor in this file. */
  has(key: string): boolean {
    return this.#tensors.has(key);
  }

  /** Dtype, shape and absolute location of a tensor. */
  info(key: string): TensorInfo {
    const info = this.#tensors.get(key);
    if (!info) missingKey(this.path, key);
    return { ...info, shape: info.shape.slice() };
  }

  /** Reads exactly the tensor's byte range. */
  readRaw(key: string): Promise<Uint8Array> {
    const info = this.info(key);
    return this.#readAt(info.byteOffset, info.byteLength, key);
  }

  /** Reads the tensor and converts it to f32 (F32 data is wrapped, not copied). */
  async readF32(key: string): Promise<Float32Array> {
    const info = this.info(key);
    const raw = await this.readRaw(key);
    if (info.dtype === "F32") return new Float32Array(raw.buffer, 0, raw.length / 4);
    return decodeToF32(info.dtype, raw);
  }

  /** Streams the tensor's bytes; only one chunk is held by the reader at a time. */
  async *readChunks(key: string, maxChunkBytes = DEFAULT_CHUNK_BYTES): AsyncIterable<TensorChunk> {
    const info = this.info(key);
    const step = chunkStep(info, key, maxChunkBytes);
    for (let at = 0; at < info.byteLength; at += step) {
      const len = Math.min(step, info.byteLength - at);
      yield { byteOffset: at, bytes: await this.#readAt(info.byteOffset + at, len, key) };
    }
  }

  /** Closes the file; later reads throw {@link SafetensorsError}. Safe to call twice. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Reads `length` bytes at absolute `offset`; reads are serialized since they share a cursor. */
  #readAt(offset: number, length: number, key: string): Promise<Uint8Array> {
    const run = async () => {
      const file = this.#file;
      if (!file) {
        throw new SafetensorsError(
          `Cannot read tensor "${key}" of "${this.path}": the file is closed`,
        );
      }
      try {
        const out = await readExactly(file, offset, length, this.path, ` tensor "${key}" of`);
        this.#bytesRead += length;
        return out;
      } catch (e) {
        if (this.#file || e instanceof SafetensorsError) throw e;
        throw new SafetensorsError(
          `Cannot read tensor "${key}" of "${this.path}": the file was closed during the read`,
        );
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }
}

/** Reads exactly `length` bytes at `offset`, or throws naming the file and what was read. */
async function readExactly(
  file: Deno.FsFile,
  offset: number,
  length: number,
  path: string,
  what: string,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = await file.read(out.subarray(got));
    if (n === null) {
      throw new SafetensorsError(
        `Cannot read${what} "${path}": the file ended at byte ${offset + got}, expected ` +
          `${length} bytes from ${offset} (was it truncated after opening?)`,
      );
    }
    got += n;
  }
  return out;
}

/**
 * Opens a safetensors file and reads only its header; tensor data is read on demand.
 * @param path the file
 * @returns the reader; close it when done
 * @example
 * ```ts
 * const st = await openSafetensors("vae/diffusion_pytorch_model.safetensors");
 * const w = await st.readF32("decoder.conv_in.weight");
 * st.close();
 * ```
 */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new SafetensorsError(`Cannot open safetensors file "${path}": no such file`);
    }
    throw e;
  }
  try {
    const size = (await file.stat()).size;
    const first8 = await readExactly(file, 0, Math.min(8, size), path, " the header of");
    const n = parseHeaderLength(first8, size, path);
    const header = parseHeaderJson(
      await readExactly(file, 8, n, path, " the header of"),
      size,
      path,
    );
    return new SafetensorsFile(path, file, size, header, 8 + n);
  } catch (e) {
    file.close();
    throw e;
  }
}

/** A safetensors file held in memory; `raw` returns views into the caller's bytes. */
export class SafetensorsBuffer implements TensorReader {
  /** The name given to {@link readSafetensorsBytes}. */
  readonly path: string;
  /** `__metadata__` (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  #bytes: Uint8Array;
  #tensors: Map<string, TensorInfo>;

  /** Use {@link readSafetensorsBytes}. */
  constructor(bytes: Uint8Array, name: string) {
    const header = parseSafetensorsHeader(bytes, bytes.length, name);
    this.path = name;
    this.metadata = header.metadata;
    this.#bytes = bytes;
    this.#tensors = header.tensors;
  }

  /** All keys, in file offset order. */
  keys(): string[] {
    return [...this.#tensors.keys()];
  }

  /** Whether `key` names a tensor. */
  has(key: string): boolean {
    return this.#tensors.has(key);
  }

  /** Dtype, shape and location of a tensor. */
  info(key: string): TensorInfo {
    const info = this.#tensors.get(key);
    if (!info) missingKey(this.path, key);
    return { ...info, shape: info.shape.slice() };
  }

  /** A view (no copy) of the tensor's bytes. */
  raw(key: string): Uint8Array {
    const { byteOffset, byteLength } = this.info(key);
    return this.#bytes.subarray(byteOffset, byteOffset + byteLength);
  }

  /** The tensor converted to f32. */
  f32(key: string): Float32Array {
    return decodeToF32(this.info(key).dtype, this.raw(key));
  }

  /** A copy of the tensor's bytes. */
  readRaw(key: string): Promise<Uint8Array> {
    return Promise.resolve().then(() => this.raw(key).slice());
  }

  /** The tensor converted to f32. */
  readF32(key: string): Promise<Float32Array> {
    return Promise.resolve().then(() => this.f32(key));
  }

  /** The tensor's bytes in views of at most `maxChunkBytes`. */
  async *readChunks(key: string, maxChunkBytes = DEFAULT_CHUNK_BYTES): AsyncIterable<TensorChunk> {
    const info = this.info(key);
    const step = chunkStep(info, key, maxChunkBytes);
    const raw = this.raw(key);
    for (let at = 0; at < info.byteLength; at += step) {
      yield await Promise.resolve({ byteOffset: at, bytes: raw.subarray(at, at + step) });
    }
  }

  /** Nothing to release. */
  close(): void {}
}

/**
 * Parses a whole safetensors file held in memory (small files, tests, fuzzing).
 * @param bytes the file's bytes
 * @param name the name used in error messages
 * @returns a reader whose `raw`/`f32` are synchronous; throws {@link SafetensorsError}
 * @example readSafetensorsBytes(await Deno.readFile("tiny.safetensors"), "tiny").f32("w")
 */
export function readSafetensorsBytes(bytes: Uint8Array, name: string): SafetensorsBuffer {
  return new SafetensorsBuffer(bytes, name);
}

export { SafetensorsError };
export type { TensorChunk, TensorInfo, TensorReader };
