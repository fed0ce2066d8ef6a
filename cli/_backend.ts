// The seam between the CLI and the editing pipeline: everything the CLI needs from it. The real one
// is in _run_edit.ts (the only CLI module importing pipeline/edit.ts); tests pass a fake.

import type { EditOptions, EditResult, ProgressEvent } from "../pipeline/edit_options.ts";

/** A loaded model, opaque to the CLI. */
export type LoadedModel = unknown;

/** Options of {@link EditBackend.load}. */
export interface LoadOptions {
  /** The prompt cache folder (absolute), or false for none. */
  promptCache?: string | false;
}

/** What the CLI calls to edit. */
export interface EditBackend {
  /** The WebGPU adapter's name; throws NoAdapterError when there is none. */
  adapter(): Promise<string>;
  /** Loads the pipeline folder `dir`, reporting "load" progress in bytes. */
  load(
    dir: string,
    onProgress: (event: ProgressEvent) => void,
    options?: LoadOptions,
  ): Promise<LoadedModel>;
  /** Runs one edit on a loaded model. */
  edit(model: LoadedModel, options: EditOptions): Promise<EditResult>;
}
