// Storage-buffer pool by size class, so steady-state work creates no GPU buffers.
// A buffer freed while commands that read it are still unsubmitted may be reused by later GPU
// writes in the same command stream (they run in order), but not by a host upload: queue writes
// run before the pending commands, so such buffers wait until the next submit.

const MIN_CLASS = 256;

/** Rounds a byte count up to its size class: 256, then 2^k and 1.5·2^k steps (≤ 33% slack). */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS) return MIN_CLASS;
  const p = 2 ** Math.ceil(Math.log2(bytes));
  return bytes <= p * 0.75 ? p * 0.75 : p;
}

/** Counters the memory tests and benches read. */
export interface PoolStats {
  /** GPU buffers created since start (a steady state adds none). */
  buffersCreated: number;
  /** Bytes in all GPU buffers the pool owns, in use or free. */
  allocatedBytes: number;
  /** Bytes in free buffers waiting for reuse. */
  pooledBytes: number;
}

/** Owns every storage buffer the tensors use. */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #free = new Map<number, GPUBuffer[]>();
  #freedSinceSubmit = new Set<GPUBuffer>();
  readonly #maxBufferSize: number;
  readonly stats: PoolStats = { buffersCreated: 0, allocatedBytes: 0, pooledBytes: 0 };

  /** @param device the device to allocate on */
  constructor(device: GPUDevice) {
    this.#device = device;
    this.#maxBufferSize = device.limits.maxBufferSize;
  }

  /** A buffer of at least `bytes`; `forUpload` skips buffers freed since the last submit. */
  acquire(bytes: number, label: string, forUpload = false): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.#free.get(size);
    if (list) {
      for (let i = list.length - 1; i >= 0; i--) {
        const buf = list[i];
        if (forUpload && this.#freedSinceSubmit.has(buf)) continue;
        list.splice(i, 1);
        this.#freedSinceSubmit.delete(buf);
        this.stats.pooledBytes -= size;
        return buf;
      }
    }
    if (size > this.#maxBufferSize) {
      throw new RangeError(
        `Cannot allocate ${bytes} bytes for "${label}": the adapter's maxBufferSize is ${this.#maxBufferSize}`,
      );
    }
    const buf = this.#device.createBuffer({
      label,
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.stats.buffersCreated++;
    this.stats.allocatedBytes += size;
    return buf;
  }

  /** Returns a buffer for reuse. */
  release(buf: GPUBuffer): void {
    const size = buf.size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(buf);
    this.#freedSinceSubmit.add(buf);
    this.stats.pooledBytes += size;
  }

  /** Called after each submit: freed buffers become safe for host uploads. */
  submitted(): void {
    this.#freedSinceSubmit = new Set();
  }

  /** Destroys every free buffer (after out-of-memory, or to hand memory back). */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const buf of list) {
        this.stats.allocatedBytes -= buf.size;
        buf.destroy();
      }
    }
    this.#free.clear();
    this.#freedSinceSubmit = new Set();
    this.stats.pooledBytes = 0;
  }
}
