// The editor: `deno run -A cli/edit.ts --image in.jpg --source "a cat" --target "a dog" --out
// out.png` (see --help). Only this file touches the process (Deno.args, exit code, stdout/stderr);
// cli/_main.ts does the work and cli/_run_edit.ts is its one link to the pipeline, imported when an
// edit is about to run so that --help and usage errors never load the GPU or the model.

import type { EditBackend } from "./_backend.ts";
import { messageOf } from "./_errors.ts";
import { runCli } from "./_main.ts";

const encoder = new TextEncoder();

function writer(stream: { writeSync(p: Uint8Array): number }): (text: string) => void {
  return (text) => {
    const bytes = encoder.encode(text);
    for (let done = 0; done < bytes.length;) done += stream.writeSync(bytes.subarray(done));
  };
}

/** The real pipeline (pipeline/edit.ts), imported on first use. */
async function pipelineBackend(): Promise<EditBackend> {
  try {
    return (await import("./_run_edit.ts")).pipelineBackend;
  } catch (e) {
    throw new Error(`Cannot load the editing pipeline: ${messageOf(e)}`, { cause: e });
  }
}

/**
 * Runs the editor on `args` with the process's stdout and stderr.
 * @param args command-line arguments
 * @returns the exit code
 */
export function main(args: string[]): Promise<number> {
  return runCli(args, {
    stdout: writer(Deno.stdout),
    stderr: writer(Deno.stderr),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    backend: pipelineBackend,
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
