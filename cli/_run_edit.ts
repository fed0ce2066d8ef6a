// The CLI's one import of the editing pipeline (pipeline/edit.ts): loadPipeline and edit behind the
// EditBackend seam. cli/edit.ts imports this module lazily, so help and usage errors never load
// the pipeline (or the GPU).

import { edit, loadPipeline } from "../pipeline/edit.ts";
import { getGpu } from "../tensor/device.ts";
import type { EditBackend } from "./_backend.ts";

type Pipeline = Awaited<ReturnType<typeof loadPipeline>>;

/** The real backend: the process-wide GPU, `loadPipeline` and `edit`. */
export const pipelineBackend: EditBackend = {
  async adapter() {
    const gpu = await getGpu();
    const { description, vendor, architecture } = gpu.info;
    return `${description || [vendor, architecture].filter(Boolean).join(" ") || "unknown"} ` +
      `(${gpu.kind})`;
  },
  load(dir, onProgress, options = {}) {
    return loadPipeline(dir, { onProgress, promptCache: options.promptCache ?? false });
  },
  edit(model, options) {
    return edit(model as Pipeline, options);
  },
};
