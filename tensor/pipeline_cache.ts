// Compiled compute pipelines keyed by kernel name, WGSL source and override constants.
// On lavapipe a new shader's first dispatch costs 0.1–3 s, so each is compiled once per process.

/** A kernel program: WGSL source plus the override constants that specialise it. */
export interface KernelProgram {
  /** The kernel's file stem, e.g. "softmax"; also the pipeline label in error messages. */
  name: string;
  /** WGSL source with a `main` compute entry point. */
  wgsl: string;
  /** Values for the shader's `override` declarations. */
  overrides?: Record<string, number>;
  /** The op as users know it (e.g. "add" for the "binary" kernel), for messages; not keyed. */
  op?: string;
}

function hash(text: string): string {
  let h = 0x811c9dc5; // FNV-1a, enough to key a map (the full source is compared too)
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}

/** Caches pipelines for one device. */
export class PipelineCache {
  readonly #device: GPUDevice;
  readonly #pipelines = new Map<string, { wgsl: string; pipeline: GPUComputePipeline }>();
  readonly #modules = new Map<string, GPUShaderModule>();

  /** @param device the device that owns the pipelines */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Number of distinct pipelines compiled so far. */
  get size(): number {
    return this.#pipelines.size;
  }

  /** The cache key of a program. */
  static key(program: KernelProgram): string {
    const o = program.overrides ? JSON.stringify(program.overrides) : "";
    return `${program.name}:${hash(program.wgsl)}:${o}`;
  }

  /** The shader module for a source (shared between override variants). */
  module(program: KernelProgram): GPUShaderModule {
    const key = `${program.name}:${hash(program.wgsl)}`;
    let mod = this.#modules.get(key);
    if (!mod) {
      mod = this.#device.createShaderModule({ label: program.name, code: program.wgsl });
      this.#modules.set(key, mod);
    }
    return mod;
  }

  /** The pipeline for a program, compiling it on first use. */
  get(program: KernelProgram): GPUComputePipeline {
    const key = PipelineCache.key(program);
    const hit = this.#pipelines.get(key);
    if (hit && hit.wgsl === program.wgsl) return hit.pipeline;
    const pipeline = this.#device.createComputePipeline({
      label: program.name,
      layout: "auto",
      compute: { module: this.module(program), entryPoint: "main", constants: program.overrides },
    });
    this.#pipelines.set(key, { wgsl: program.wgsl, pipeline });
    return pipeline;
  }

  /** Compiles programs ahead of use (async, so compilation can overlap other work). */
  async warmUp(programs: KernelProgram[]): Promise<void> {
    await Promise.all(programs.map(async (program) => {
      const key = PipelineCache.key(program);
      if (this.#pipelines.has(key)) return;
      const pipeline = await this.#device.createComputePipelineAsync({
        label: program.name,
        layout: "auto",
        compute: { module: this.module(program), entryPoint: "main", constants: program.overrides },
      });
      this.#pipelines.set(key, { wgsl: program.wgsl, pipeline });
    }));
  }
}
