// A stand-in for the editing pipeline, for CLI tests that run without the GPU: the "edit" inverts
// the colours, the reconstruction is a copy, and each target word gets a grey ramp as its attention
// map. Stages report progress like the real pipeline.

import type { RgbaImage } from "../../image/rgba_image.ts";
import type { EditBackend } from "../../cli/_backend.ts";
import type { EditOptions, EditResult } from "../../pipeline/edit_options.ts";

/** What the fake saw. */
export interface FakeCalls {
  adapter: number;
  loads: string[];
  edits: Omit<EditOptions, "onProgress" | "onWarning">[];
}

/** Options of {@linkcode fakeBackend}. */
export interface FakeOptions {
  /** Thrown by adapter() (e.g. a NoAdapterError). */
  adapterError?: Error;
  /** Thrown by edit(). */
  editError?: Error;
  /** A warning every edit reports. */
  warning?: string;
  /** Attention maps at this size instead of the input's. */
  mapSize?: [number, number];
}

function ramp(width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = Math.round((255 * x) / Math.max(1, width - 1));
      data.set([v, v, v, 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

/** A fake backend and the record of its calls. */
export function fakeBackend(options: FakeOptions = {}): { backend: EditBackend; calls: FakeCalls } {
  const calls: FakeCalls = { adapter: 0, loads: [], edits: [] };
  const backend: EditBackend = {
    adapter() {
      calls.adapter++;
      return options.adapterError
        ? Promise.reject(options.adapterError)
        : Promise.resolve("fake adapter (cpu)");
    },
    load(dir, onProgress) {
      calls.loads.push(dir);
      for (let b = 0; b <= 3000; b += 1000) {
        onProgress({ stage: "load", done: b, total: 3000, unit: "bytes" });
      }
      return Promise.resolve({ dir });
    },
    edit(_model, opts): Promise<EditResult> {
      const { onProgress, onWarning, ...rest } = opts;
      calls.edits.push(rest);
      if (options.editError) return Promise.reject(options.editError);
      const steps = opts.steps ?? 30;
      for (const stage of ["invert", "edit"]) {
        for (let k = 0; k <= steps; k++) {
          onProgress?.({ stage, done: k, total: steps, unit: "steps" });
        }
      }
      if (options.warning) onWarning?.(options.warning);
      const { width, height, data } = opts.image;
      const edited = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i += 4) {
        edited.set([255 - data[i], 255 - data[i + 1], 255 - data[i + 2], data[i + 3]], i);
      }
      const result: EditResult = {
        edited: { width, height, data: edited },
        reconstruction: { width, height, data: data.slice() },
        timings: { invert: 0.25, edit: 0.5 },
        used: { steps, guidance: opts.guidance ?? 4.5, inversion: opts.inversion ?? "dpm++" },
      };
      if (opts.attentionMaps) {
        const [w, h] = options.mapSize ?? [width, height];
        const words = opts.targetPrompt.split(/\s+/).filter((x) => x !== "a");
        result.attentionMaps = new Map(words.map((word) => [word, ramp(w, h)]));
      }
      return Promise.resolve(result);
    },
  };
  return { backend, calls };
}
