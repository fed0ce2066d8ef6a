// conv2d: the SD VAE's 3x3 pad-1 convolutions at 512² images: [1,128,256,256] -> 128 (up block
// 3 / down block 1) and [1,512,64,64] -> 512 (mid block), f32 and f16 storage, bias fused.
// GFLOP/s = 2·Cout·Cin·KH·KW·Ho·Wo·B / time. The "buffer_tiled" (GPU) variant runs as a same-run
// baseline on a smaller map only: on lavapipe it is too slow for the full sizes.

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import type { DType } from "../../tensor/dtype.ts";
import { conv2d, CONV2D_VARIANTS } from "../../kernels/conv2d.ts";
import { pickVariant, withVariant } from "../../kernels/_variant.ts";
import { type BenchRow, round, timeOp } from "../_timing.ts";
import type { BenchCase } from "../run.ts";

// [cin, cout, h, w, all variants?]
const CASES: [number, number, number, number, boolean][] = [
  [128, 128, 64, 64, true],
  [128, 128, 256, 256, false],
  [512, 512, 64, 64, false],
];

async function rows(
  gpu: Gpu,
  [cin, cout, h, w, all]: [number, number, number, number, boolean],
  dtype: DType,
  log: (m: string) => void,
): Promise<BenchRow[]> {
  const x = Tensor.from(
    gpu,
    new Float32Array(cin * h * w).map((_, i) => Math.sin(i)),
    [1, cin, h, w],
    dtype,
  );
  const wt = Tensor.from(
    gpu,
    new Float32Array(cout * cin * 9).map((_, i) => Math.cos(i) / Math.sqrt(cin * 9)),
    [cout, cin, 3, 3],
    dtype,
  );
  const b = Tensor.from(gpu, new Float32Array(cout).fill(0.1), [cout], dtype);
  const def = pickVariant(gpu, "conv2d", CONV2D_VARIANTS).name;
  const name = `B1_Cin${cin}_Cout${cout}_H${h}_W${w}_k3`;
  const flops = 2 * cout * cin * 9 * h * w;
  const out: BenchRow[] = [];
  for (const v of CONV2D_VARIANTS) {
    if (!all && v.name !== def) continue;
    gpu.resetPeak();
    const t = await withVariant(
      gpu,
      "conv2d",
      v.name,
      () =>
        timeOp(gpu, () => conv2d(x, wt, b, { padding: 1 }), {
          repeats: v.name === def ? 3 : 1,
          inner: 1,
          useTimestamps: false, // lavapipe's timestamps can close before compute work ends
        }),
    );
    log(`  ${v.name} ${name} ${dtype}: ${t.ms.toFixed(1)} ms`);
    out.push({
      kernel: "conv2d",
      case: name,
      dtype,
      variant: v.name,
      ms: round(t.ms),
      timing: t.timing,
      adapter: gpu.description,
      baseline: v.name !== def,
      gflops: round(flops / t.ms / 1e6, 2),
      compile_ms: round(t.compileMs, 1),
      peak_bytes: gpu.memory().peakBytes,
    });
  }
  for (const z of [x, wt, b]) z.dispose();
  return out;
}

/** The conv2d bench case. */
export const conv2dBench: BenchCase = {
  kernel: "conv2d",
  async run(gpu, log) {
    const out: BenchRow[] = [];
    for (const c of CASES) {
      for (const dtype of ["f32", "f16"] as const) out.push(...await rows(gpu, c, dtype, log));
    }
    return out;
  },
};
