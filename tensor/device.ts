// The WebGPU device: adapter checks, limits, buffer pool, recorder, pipeline cache and launches.

import { BufferPool } from "./buffer_pool.ts";
import { DeviceLostError, GpuOutOfMemoryError, NoAdapterError } from "./errors.ts";
import { type KernelProgram, PipelineCache } from "./pipeline_cache.ts";
import { Recorder } from "./recorder.ts";
import type { Tensor } from "./tensor.ts";

/** What kind of adapter we run on; kernels pick their variant by it. */
export type AdapterKind = "cpu" | "gpu";

/** Options for `requestGpu`. */
export interface GpuOptions {
  /** Use f16 storage for "f16" tensors when the adapter allows (default true). */
  f16?: boolean;
  /** Ask for "high-performance" or "low-power" (default "high-performance"). */
  powerPreference?: GPUPowerPreference;
}

/** A bind group entry: a tensor, a raw buffer range, or a texture view. */
export type Binding = Tensor | GPUBufferBinding | GPUTextureView;

const FIX = "install a Vulkan, Metal or D3D12 driver; on CPU-only Linux run " +
  "`apt-get install -y mesa-vulkan-drivers` for Mesa's lavapipe";

/** Adapters whose WebGPU runs on the CPU: kernels use their texture-read, register-blocked variants. */
export function adapterKind(info: GPUAdapterInfo): AdapterKind {
  const d = `${info.description} ${info.device} ${info.vendor}`.toLowerCase();
  return info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|softpipe/.test(d) ? "cpu" : "gpu";
}

/** One WebGPU device with the runtime's state. Create with `requestGpu()` or `getGpu()`. */
export class Gpu {
  readonly device: GPUDevice;
  readonly info: GPUAdapterInfo;
  readonly kind: AdapterKind;
  /** "f16" tensors are stored as f16 (the adapter has `shader-f16`). */
  readonly f16: boolean;
  /** The device supports timestamp queries. */
  readonly timestamps: boolean;
  readonly pool: BufferPool;
  readonly recorder: Recorder;
  readonly pipelines: PipelineCache;
  /** Kernel variants pinned by name (tests pin each variant in turn). */
  readonly pinnedVariants: Map<string, string> = new Map();
  #live = 0;
  #peak = 0;
  #lost: string | null = null;

  /** @internal use requestGpu() */
  constructor(device: GPUDevice, info: GPUAdapterInfo, f16: boolean) {
    this.device = device;
    this.info = info;
    this.kind = adapterKind(info);
    this.f16 = f16;
    this.timestamps = device.features.has("timestamp-query");
    this.pool = new BufferPool(device);
    this.recorder = new Recorder(device);
    this.recorder.onSubmit(() => this.pool.submitted());
    this.pipelines = new PipelineCache(device);
    device.lost.then((info) => {
      this.#lost = info.message || info.reason || "unknown reason";
    });
  }

  /** The adapter's description, as bench rows and logs name it. */
  get description(): string {
    return this.info.description || `${this.info.vendor} ${this.info.device}`.trim();
  }

  /** Bytes held by live tensors now, and the most ever held at once. */
  memory(): { liveBytes: number; peakBytes: number } {
    return { liveBytes: this.#live, peakBytes: this.#peak };
  }

  /** Restarts peak tracking from the current live bytes. */
  resetPeak(): void {
    this.#peak = this.#live;
  }

  /** @internal storage accounting */
  memoryAdd(bytes: number): void {
    this.#live += bytes;
    if (this.#live > this.#peak) this.#peak = this.#live;
  }

  /** Throws DeviceLostError if the device is gone. */
  checkAlive(op: string): void {
    if (this.#lost !== null) {
      throw new DeviceLostError(`Cannot run "${op}": the GPU device was lost (${this.#lost})`);
    }
  }

  /** @internal a pooled buffer for a tensor; out-of-range sizes fail naming the op */
  allocate(bytes: number, label: string, forUpload: boolean): GPUBuffer {
    try {
      return this.pool.acquire(bytes, label, forUpload);
    } catch (e) {
      if (e instanceof RangeError) throw new GpuOutOfMemoryError(e.message);
      throw e;
    }
  }

  /**
   * Records one kernel launch: bindings 0..n-1 in order, then the uniforms (if any) as the last
   * binding. Nothing runs until a readback, `flush()` or `sync()`.
   */
  dispatch(
    program: KernelProgram,
    bindings: readonly Binding[],
    workgroups: readonly [number, number?, number?],
    uniforms?: ArrayBufferView,
  ): void {
    const op = program.op ?? program.name;
    this.checkAlive(op);
    const pipeline = this.pipelines.get(program);
    const temps: GPUBuffer[] = [];
    const entries: GPUBindGroupEntry[] = bindings.map((b, i) => ({
      binding: i,
      resource: this.#resource(b, op, temps),
    }));
    if (uniforms) {
      entries.push({ binding: entries.length, resource: this.recorder.uniform(uniforms) });
    }
    const bindGroup = this.device.createBindGroup({
      label: program.name,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const [x, y = 1, z = 1] = workgroups;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new RangeError(
        `Cannot launch "${program.name}": grid [${x}, ${y}, ${z}] exceeds ${max}`,
      );
    }
    if (x * y * z > 0) this.recorder.dispatch(op, pipeline, bindGroup, [x, y, z]);
    for (const t of temps) this.pool.release(t); // later launches run after this one
  }

  // A view whose offset breaks the binding alignment (e.g. a row slice of a small tensor) is
  // bound through a recorded copy; kernels never write into views, so inputs are all this sees.
  #resource(b: Binding, op: string, temps: GPUBuffer[]): GPUBindingResource {
    if (!isTensor(b)) return b as GPUBufferBinding | GPUTextureView;
    const size = Math.max(4, Math.ceil(b.byteLength / 4) * 4);
    if (size > this.device.limits.maxStorageBufferBindingSize) {
      throw new GpuOutOfMemoryError(
        `Cannot bind tensor ${b} in "${op}": ${size} bytes exceed the adapter's ` +
          `maxStorageBufferBindingSize ${this.device.limits.maxStorageBufferBindingSize}`,
      );
    }
    if (b.byteOffset % this.device.limits.minStorageBufferOffsetAlignment !== 0) {
      if (b.byteOffset % 4 !== 0) {
        throw new RangeError(
          `Cannot bind tensor ${b} in "${op}": its view starts at byte ${b.byteOffset}, ` +
            `not a multiple of 4`,
        );
      }
      const source = b.buffer(op);
      const tmp = this.allocate(size, `${op} view`, false);
      const bytes = Math.min(size, source.size - b.byteOffset);
      this.recorder.encoder().copyBufferToBuffer(source, b.byteOffset, tmp, 0, bytes);
      temps.push(tmp);
      return { buffer: tmp, offset: 0, size };
    }
    return { buffer: b.buffer(op), offset: b.byteOffset, size };
  }

  /** Submits recorded work without waiting. */
  flush(): void {
    this.recorder.flush();
  }

  /** Submits recorded work, waits for it, and throws any GPU error it raised. */
  async sync(): Promise<void> {
    await this.recorder.sync();
  }

  /** Frees pooled buffers and the device. */
  destroy(): void {
    this.pool.trim();
    this.device.destroy();
  }
}

function isTensor(b: Binding): b is Tensor {
  return typeof (b as Tensor).byteLength === "number" && typeof (b as Tensor).buffer === "function";
}

/** Requests an adapter and a device with the features and limits the kernels want. */
export async function requestGpu(options: GpuOptions = {}): Promise<Gpu> {
  if (typeof navigator === "undefined" || !("gpu" in navigator)) {
    throw new NoAdapterError(`WebGPU is not available in this runtime: use Deno 2.9.6 or later`);
  }
  const adapter = await navigator.gpu.requestAdapter({
    powerPreference: options.powerPreference ?? "high-performance",
  });
  if (!adapter) throw new NoAdapterError(`No WebGPU adapter was found: ${FIX}`);
  const info = adapter.info;
  const hasF16 = adapter.features.has("shader-f16");
  if (!hasF16 && /llvmpipe|softpipe/i.test(info.description)) {
    throw new NoAdapterError(
      `Only Mesa's OpenGL fallback adapter ("${info.description}") was found, which lacks ` +
        `shader-f16 and is too slow: ${FIX}`,
    );
  }
  const features: GPUFeatureName[] = [];
  if (hasF16 && options.f16 !== false) features.push("shader-f16");
  if (adapter.features.has("timestamp-query")) features.push("timestamp-query");
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    label: "dit4edit",
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  });
  return new Gpu(device, info, features.includes("shader-f16"));
}

let shared: Promise<Gpu> | null = null;

/** The process-wide default device, requested on first use. */
export function getGpu(): Promise<Gpu> {
  shared ??= requestGpu().catch((e) => {
    shared = null;
    throw e;
  });
  return shared;
}
