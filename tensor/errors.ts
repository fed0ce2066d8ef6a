// Error classes for conditions callers are expected to catch (std: a custom class only for those).

/** Base class of every WebGPU-level failure the runtime reports. */
export class GpuError extends Error {
  /** @param message what failed, naming the op where known */
  constructor(message: string) {
    super(message);
    this.name = "GpuError";
  }
}

/** No usable WebGPU adapter: none at all, or only Mesa's GL fallback. */
export class NoAdapterError extends GpuError {
  /** @param message what was found and how to fix it */
  constructor(message: string) {
    super(message);
    this.name = "NoAdapterError";
  }
}

/** The device ran out of memory (or a buffer exceeded the adapter's limits). */
export class GpuOutOfMemoryError extends GpuError {
  /** @param message which op allocated what */
  constructor(message: string) {
    super(message);
    this.name = "GpuOutOfMemoryError";
  }
}

/** A WebGPU validation error: a bug in a kernel launch, reported with the ops that ran. */
export class GpuValidationError extends GpuError {
  /** @param message the WebGPU message and the ops recorded in that submit */
  constructor(message: string) {
    super(message);
    this.name = "GpuValidationError";
  }
}

/** The device was lost (driver reset, or destroyed); every later op fails with this. */
export class DeviceLostError extends GpuError {
  /** @param message the reason the driver gave */
  constructor(message: string) {
    super(message);
    this.name = "DeviceLostError";
  }
}
