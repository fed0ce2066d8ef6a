// submit_chain: 1,000 small elementwise ops recorded into one submit, against one submit (and
// sync) per op, in the same run. The ratio is what the recorder buys on this adapter.

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { scope } from "../../tensor/scope.ts";
import { add } from "../../kernels/binary.ts";
import { median, round } from "../_timing.ts";
import type { BenchCase } from "../run.ts";

const OPS = 1000;

async function chain(gpu: Gpu, x: Tensor, submitEach: boolean): Promise<number> {
  await gpu.sync();
  const t0 = performance.now();
  await scope(async () => {
    let t = x;
    for (let i = 0; i < OPS; i++) {
      t = add(t, x);
      if (submitEach) await gpu.sync();
    }
    await gpu.sync();
  });
  return performance.now() - t0;
}

/** The submit_chain bench case. */
export const submitChain: BenchCase = {
  kernel: "submit_chain",
  async run(gpu) {
    const x = Tensor.from(gpu, new Float32Array(1024).fill(1), [1024]);
    await chain(gpu, x, false); // compile
    const one: number[] = [], each: number[] = [];
    for (let r = 0; r < 3; r++) {
      one.push(await chain(gpu, x, false));
      each.push(await chain(gpu, x, true));
    }
    x.dispose();
    const oneMs = median(one), eachMs = median(each);
    const base = {
      case: `ops${OPS}_n1024`,
      dtype: "f32",
      timing: "wall" as const,
      adapter: gpu.description,
    };
    return [
      {
        kernel: "submit_chain",
        ...base,
        ms: round(oneMs),
        baseline: false,
        ratio: round(eachMs / oneMs, 1),
      },
      { kernel: "submit_each", ...base, ms: round(eachMs), baseline: true },
    ];
  },
};
