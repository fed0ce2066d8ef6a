// Records kernel launches into one command encoder and submits only when a result is read back,
// `flush()` is called or the uniform arena fills: on lavapipe every submit+sync costs ~11 ms.
// Uniforms for all launches of a submit live in one arena buffer, written once just before submit.

import { GpuOutOfMemoryError, GpuValidationError } from "./errors.ts";

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment on every adapter we know
const ARENA_BYTES = 1 << 20; // 4096 launches per submit

/** Submit and launch counters (tests check that a chain of ops is one submit). */
export interface RecorderStats {
  /** Command buffers submitted since start. */
  submits: number;
  /** Compute dispatches recorded since start. */
  dispatches: number;
}

/** The recording half of the runtime: one open encoder and compute pass at a time. */
export class Recorder {
  readonly #device: GPUDevice;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  readonly #arena: GPUBuffer;
  readonly #arenaHost = new ArrayBuffer(ARENA_BYTES);
  #arenaUsed = 0;
  #batchOps: string[] = [];
  #pendingErrors: Promise<string | null>[] = [];
  #afterSubmit: (() => void)[] = [];
  readonly stats: RecorderStats = { submits: 0, dispatches: 0 };

  /** @param device the device to record on */
  constructor(device: GPUDevice) {
    this.#device = device;
    this.#arena = device.createBuffer({
      label: "uniform arena",
      size: ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#pushScopes();
  }

  /** Registers a callback run after every submit (the buffer pool's reuse rule). */
  onSubmit(fn: () => void): void {
    this.#afterSubmit.push(fn);
  }

  /** Reserves a uniform slot for `data` and returns its binding. */
  uniform(data: ArrayBuffer | ArrayBufferView): GPUBufferBinding {
    const bytes = data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength > UNIFORM_SLOT * 16) {
      throw new RangeError(
        `Cannot record ${bytes.byteLength} bytes of uniforms: the limit is 4096`,
      );
    }
    const size = Math.ceil(bytes.byteLength / UNIFORM_SLOT) * UNIFORM_SLOT;
    if (this.#arenaUsed + size > ARENA_BYTES) this.flush();
    const offset = this.#arenaUsed;
    new Uint8Array(this.#arenaHost, offset, bytes.byteLength).set(bytes);
    this.#arenaUsed += size;
    return {
      buffer: this.#arena,
      offset,
      size: Math.max(16, Math.ceil(bytes.byteLength / 16) * 16),
    };
  }

  /** The open compute pass (opened on demand). */
  pass(): GPUComputePassEncoder {
    if (!this.#pass) this.#pass = this.encoder().beginComputePass();
    return this.#pass;
  }

  /** The open command encoder, with no pass open (for copies). */
  encoder(): GPUCommandEncoder {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
    if (!this.#encoder) this.#encoder = this.#device.createCommandEncoder();
    return this.#encoder;
  }

  /** Records one dispatch. */
  dispatch(
    label: string,
    pipeline: GPUComputePipeline,
    bindGroup: GPUBindGroup,
    workgroups: readonly [number, number, number],
  ): void {
    const pass = this.pass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
    this.stats.dispatches++;
    if (this.#batchOps.length < 64) this.#batchOps.push(label);
  }

  /** Records a timestamp write (an empty pass), for benches. */
  timestamp(querySet: GPUQuerySet, index: number): void {
    const pass = this.encoder().beginComputePass({
      timestampWrites: { querySet, beginningOfPassWriteIndex: index },
    });
    pass.end();
  }

  /** Submits everything recorded so far (no wait). */
  flush(): void {
    if (!this.#encoder && !this.#pass && this.#arenaUsed === 0) return;
    const encoder = this.encoder();
    if (this.#arenaUsed > 0) {
      this.#device.queue.writeBuffer(this.#arena, 0, this.#arenaHost, 0, this.#arenaUsed);
    }
    this.#device.queue.submit([encoder.finish()]);
    this.#encoder = null;
    this.#arenaUsed = 0;
    this.stats.submits++;
    this.#popScopes(this.#batchOps);
    this.#batchOps = [];
    this.#pushScopes();
    for (const fn of this.#afterSubmit) fn();
  }

  /** Submits, waits for the GPU, and throws the first error any submitted op raised. */
  async sync(): Promise<void> {
    this.flush();
    await this.#device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  /** Throws the first validation or out-of-memory error of submitted work, if any. */
  async checkErrors(): Promise<void> {
    const pending = this.#pendingErrors;
    this.#pendingErrors = [];
    const messages = (await Promise.all(pending)).filter((m): m is string => m !== null);
    if (messages.length === 0) return;
    const first = messages[0];
    if (first.startsWith("oom:")) throw new GpuOutOfMemoryError(first.slice(4));
    throw new GpuValidationError(first);
  }

  /** Copies `size` bytes of `buffer` to the host (submits and waits). */
  async read(buffer: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
    const padded = Math.ceil(size / 4) * 4;
    const staging = this.#device.createBuffer({
      label: "readback",
      size: padded,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      this.encoder().copyBufferToBuffer(buffer, offset, staging, 0, padded);
      this.flush();
      await staging.mapAsync(GPUMapMode.READ);
      await this.checkErrors();
      return staging.getMappedRange().slice(0, size);
    } finally {
      staging.destroy();
    }
  }

  #pushScopes(): void {
    this.#device.pushErrorScope("validation");
    this.#device.pushErrorScope("out-of-memory");
  }

  #popScopes(ops: string[]): void {
    const context = ops.length ? ` (ops in this submit: ${[...new Set(ops)].join(", ")})` : "";
    const oom = this.#device.popErrorScope().then((e) =>
      e ? `oom:Device out of memory${context}: ${e.message}` : null
    );
    const validation = this.#device.popErrorScope().then((e) =>
      e ? `WebGPU validation failed${context}: ${e.message}` : null
    );
    this.#pendingErrors.push(oom, validation);
  }
}
