// Self-check: prints the WebGPU adapter and checks a few kernels against their CPU references.
// Usage: deno run -A cli/selfcheck.ts [--json]

import { parseArgs } from "node:util";
import { requestGpu } from "../tensor/device.ts";
import { NoAdapterError } from "../tensor/errors.ts";
import { Tensor } from "../tensor/tensor.ts";
import { add } from "../kernels/binary.ts";
import { binaryRef } from "../kernels/binary_ref.ts";
import { softmax } from "../kernels/softmax.ts";
import { softmaxRef } from "../kernels/softmax_ref.ts";

function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ args: Deno.args, options: { json: { type: "boolean" } } });
  let gpu;
  try {
    gpu = await requestGpu();
  } catch (e) {
    if (e instanceof NoAdapterError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const t0 = performance.now();
  const x = new Float32Array(64 * 333).map((_, i) => Math.sin(i * 0.37) * 4);
  const tx = Tensor.from(gpu, x, [64, 333]);
  const sm = await softmax(tx).toArray();
  const sum = await add(tx, tx).toArray();
  const checks = {
    softmax: maxError(sm, softmaxRef(x, 333)),
    add: maxError(sum, binaryRef("add", x, [64, 333], x, [64, 333]).data),
  };
  const ok = checks.softmax <= 1e-5 && checks.add <= 1e-5;
  const report = {
    adapter: gpu.description,
    kind: gpu.kind,
    f16: gpu.f16,
    timestamps: gpu.timestamps,
    maxStorageBufferBindingSize: gpu.device.limits.maxStorageBufferBindingSize,
    maxBufferSize: gpu.device.limits.maxBufferSize,
    maxErrors: checks,
    ok,
    ms: Math.round(performance.now() - t0),
  };
  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(
      `adapter: ${report.adapter} (${report.kind}; shader-f16 ${report.f16}; timestamps ${report.timestamps})`,
    );
    console.log(
      `limits: storage binding ${report.maxStorageBufferBindingSize} B, buffer ${report.maxBufferSize} B`,
    );
    console.log(
      `kernel check: softmax max error ${checks.softmax.toExponential(2)}, add ${
        checks.add.toExponential(2)
      }: ${ok ? "ok" : "FAILED"} (${report.ms} ms)`,
    );
  }
  gpu.destroy();
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
