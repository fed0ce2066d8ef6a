// Prints one line about the WebGPU adapter and exits 0 when a usable one exists, 3 when none
// (or only Mesa's GL fallback) is found. The ./dit4edit launcher uses it to decide whether to
// install Mesa's lavapipe.

import { requestGpu } from "../tensor/device.ts";
import { NoAdapterError } from "../tensor/errors.ts";

try {
  const gpu = await requestGpu();
  console.log(`adapter: ${gpu.description} (${gpu.kind})`);
  gpu.destroy();
  Deno.exit(0);
} catch (e) {
  if (!(e instanceof NoAdapterError)) throw e;
  console.log(`no adapter: ${e.message}`);
  Deno.exit(3);
}
