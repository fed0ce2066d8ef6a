// Tensor: shape, dtype and a view into a pooled GPU buffer. Ops live in kernels/; this file only
// holds storage, views, upload, readback and lifetime.

import { type DType, f16BitsToF32, f32ToF16Bits, type HostArray, storageBytes } from "./dtype.ts";
import type { Gpu } from "./device.ts";
import { type Disposable, track } from "./scope.ts";
import { formatShape, numel } from "./shape.ts";

/** A refcounted GPU buffer shared by a tensor and its views. */
class Storage {
  refs = 1;
  constructor(readonly gpu: Gpu, readonly buffer: GPUBuffer, readonly bytes: number) {
    gpu.memoryAdd(bytes);
  }
  release(): void {
    if (--this.refs > 0) return;
    this.gpu.memoryAdd(-this.bytes);
    this.gpu.pool.release(this.buffer);
  }
}

/** Host data accepted by uploads. */
export type TensorData = Float32Array | Int32Array | Uint32Array | Uint16Array | number[];

/** An n-dimensional array on the GPU, contiguous row-major from `byteOffset`. */
export class Tensor implements Disposable {
  readonly gpu: Gpu;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly byteOffset: number;
  #storage: Storage | null;

  private constructor(
    gpu: Gpu,
    storage: Storage,
    shape: readonly number[],
    dtype: DType,
    offset: number,
  ) {
    this.gpu = gpu;
    this.#storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.byteOffset = offset;
    track(this);
  }

  /**
   * An uninitialised tensor (kernels write their outputs into these). Pass `forUpload` when the
   * host will fill it with `write()`: such buffers must not be ones freed since the last submit.
   */
  static empty(
    gpu: Gpu,
    shape: readonly number[],
    dtype: DType = "f32",
    label = "tensor",
    forUpload = false,
  ): Tensor {
    gpu.checkAlive(label);
    const bytes = Math.max(4, numel(shape) * storageBytes(dtype, gpu.f16));
    const buffer = gpu.allocate(bytes, label, forUpload);
    return new Tensor(gpu, new Storage(gpu, buffer, bytes), shape, dtype, 0);
  }

  /**
   * Uploads host data. Floats become f16 on the device for dtype "f16" where the adapter has
   * `shader-f16` (a Uint16Array is taken as f16 bits); otherwise they stay f32.
   */
  static from(gpu: Gpu, data: TensorData, shape: readonly number[], dtype?: DType): Tensor {
    gpu.checkAlive("upload");
    const type = dtype ??
      (data instanceof Int32Array ? "i32" : data instanceof Uint32Array ? "u32" : "f32");
    const n = numel(shape);
    if (data.length !== n) {
      throw new RangeError(
        `Cannot upload ${data.length} values as shape ${formatShape(shape)}: it holds ${n}`,
      );
    }
    let bytes = toStorage(data, type, gpu.f16);
    const padded = Math.max(4, Math.ceil(bytes.byteLength / 4) * 4);
    if (padded !== bytes.byteLength) bytes = padTo(bytes, padded); // queue writes take 4-byte units
    const buffer = gpu.allocate(padded, "upload", true);
    const t = new Tensor(gpu, new Storage(gpu, buffer, padded), shape, type, 0);
    gpu.device.queue.writeBuffer(buffer, 0, bytes as Uint8Array<ArrayBuffer>);
    return t;
  }

  /**
   * Writes raw storage bytes at `byteOffset` from the host (a queue write: it runs before any
   * recorded but unsubmitted work). Only for tensors made by `from()` or `empty(…, forUpload)`.
   */
  write(bytes: Uint8Array, byteOffset = 0): void {
    const storage = this.#live("write");
    if (byteOffset % 4 !== 0 || byteOffset + bytes.byteLength > this.byteLength + 3) {
      throw new RangeError(
        `Cannot write ${bytes.byteLength} bytes at offset ${byteOffset} into tensor ${this}`,
      );
    }
    const data = bytes.byteLength % 4 === 0
      ? bytes
      : padTo(bytes, Math.ceil(bytes.byteLength / 4) * 4);
    this.gpu.device.queue.writeBuffer(
      storage.buffer,
      this.byteOffset + byteOffset,
      data as Uint8Array<ArrayBuffer>,
    );
  }

  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }

  /** Bytes per element as stored. */
  get elementBytes(): number {
    return storageBytes(this.dtype, this.gpu.f16);
  }

  /** Bytes this tensor spans in its buffer. */
  get byteLength(): number {
    return this.size * this.elementBytes;
  }

  /** True once disposed. */
  get disposed(): boolean {
    return this.#storage === null;
  }

  /** The GPU buffer, for kernels; throws if the tensor was disposed. */
  buffer(op = "use"): GPUBuffer {
    return this.#live(op).buffer;
  }

  #live(op: string): Storage {
    if (!this.#storage) {
      throw new ReferenceError(
        `Cannot ${op} tensor ${formatShape(this.shape)} ${this.dtype}: it was disposed`,
      );
    }
    this.gpu.checkAlive(op);
    return this.#storage;
  }

  /** Frees this view; the buffer returns to the pool when its last view goes. */
  dispose(): void {
    this.#storage?.release();
    this.#storage = null;
  }

  /** A view with another shape of the same size (no copy). One dimension may be -1. */
  reshape(shape: readonly number[]): Tensor {
    const storage = this.#live("reshape");
    const out = resolveShape(shape, this.size, this.shape);
    storage.refs++;
    return new Tensor(this.gpu, storage, out, this.dtype, this.byteOffset);
  }

  /** A view of rows `[start, end)` along the outermost dimension (no copy). */
  slice(start: number, end = this.shape[0]): Tensor {
    const storage = this.#live("slice");
    const rows = this.shape[0];
    if (
      !(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end &&
        end <= rows)
    ) {
      throw new RangeError(
        `Cannot slice rows [${start}, ${end}) of tensor ${formatShape(this.shape)}`,
      );
    }
    const rowBytes = (this.size / rows) * this.elementBytes;
    storage.refs++;
    const shape = [end - start, ...this.shape.slice(1)];
    return new Tensor(this.gpu, storage, shape, this.dtype, this.byteOffset + start * rowBytes);
  }

  /** Reads the values back (f16 as f32). Submits pending work and waits for it. */
  async toArray(): Promise<HostArray<DType>> {
    const storage = this.#live("read");
    const raw = await this.gpu.recorder.read(storage.buffer, this.byteOffset, this.byteLength);
    if (this.dtype === "i32") return new Int32Array(raw);
    if (this.dtype === "u32") return new Uint32Array(raw);
    if (this.elementBytes === 4) return new Float32Array(raw);
    const bits = new Uint16Array(raw);
    const out = new Float32Array(bits.length);
    for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i]);
    return out;
  }

  /** A short description for messages, e.g. `[2, 3] f32`. */
  toString(): string {
    return `${formatShape(this.shape)} ${this.dtype}`;
  }
}

function toStorage(data: TensorData, dtype: DType, f16: boolean): Uint8Array {
  if (dtype === "f16" && f16) {
    if (data instanceof Uint16Array) {
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    const bits = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) bits[i] = f32ToF16Bits(data[i]);
    return new Uint8Array(bits.buffer);
  }
  let arr: Float32Array | Int32Array | Uint32Array;
  if (dtype === "i32") {
    arr = data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>);
  } else if (dtype === "u32") {
    arr = data instanceof Uint32Array ? data : Uint32Array.from(data as ArrayLike<number>);
  } else if (data instanceof Uint16Array) arr = Float32Array.from(data, f16BitsToF32);
  else arr = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

function padTo(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(bytes);
  return out;
}

function resolveShape(shape: readonly number[], size: number, from: readonly number[]): number[] {
  const out = [...shape];
  const free = out.indexOf(-1);
  if (free >= 0) {
    const rest = out.reduce((a, d, i) => (i === free ? a : a * d), 1);
    out[free] = rest > 0 && size % rest === 0 ? size / rest : NaN;
  }
  if (out.some((d) => !Number.isInteger(d) || d < 0) || numel(out) !== size) {
    throw new RangeError(
      `Cannot reshape tensor ${formatShape(from)} to ${formatShape(shape)}: sizes differ`,
    );
  }
  return out;
}
