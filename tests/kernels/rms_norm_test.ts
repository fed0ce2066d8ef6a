// rmsNorm() against rmsNormRef() for every variant, on storage (C % 4 != 0) and texture paths.
import { assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { RMS_NORM_VARIANTS, rmsNorm } from "../../kernels/rms_norm.ts";
import { rmsNormRef } from "../../kernels/rms_norm_ref.ts";
import { withVariant } from "../../kernels/_variant.ts";
import { roundToF16 } from "../../tensor/dtype.ts";
import { assertClose, F16_TOL, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";

const SHAPES = [[1, 1], [3, 7, 5], [2, 9, 4096], [5, 4097], [1, 4], [4, 3, 36], [2, 5, 64]];

for (const variant of RMS_NORM_VARIANTS) {
  Deno.test({
    name: `rmsNorm() variant "${variant.name}" matches rmsNormRef() ` +
      `(f32 atol 1e-5 rtol 1e-4; f16 atol 1e-3 rtol 1e-2)`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      await withVariant(gpu, "rms_norm", variant.name, async () => {
        for (const [i, shape] of SHAPES.entries()) {
          const cols = shape[shape.length - 1], n = shape.reduce((a, d) => a * d, 1);
          const x = randomArray(n, 30 + i, -3, 3), w = randomArray(cols, 40 + i, 0.5, 2);
          for (const dtype of ["f32", "f16"] as const) {
            const xs = dtype === "f16" ? roundToF16(x) : x;
            const ws = dtype === "f16" ? roundToF16(w) : w;
            const t = Tensor.from(gpu, xs, shape, dtype), tw = Tensor.from(gpu, ws, [cols], dtype);
            const y = rmsNorm(t, tw);
            const tol = dtype === "f16" ? F16_TOL : F32_TOL;
            assertClose(await y.toArray(), rmsNormRef(xs, ws, cols), tol, `${dtype} [${shape}]`);
            for (const z of [t, tw, y]) z.dispose();
          }
        }
      });
    },
  });
}

Deno.test({
  name: "rmsNorm() refuses a weight of the wrong length",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const x = Tensor.from(gpu, new Float32Array(8), [2, 4]);
    const w = Tensor.from(gpu, new Float32Array(3), [3]);
    assertThrows(() => rmsNorm(x, w), TypeError, "expected weight [4]");
    assertThrows(() => rmsNorm(x, x), TypeError, "with weight [2, 4] f32");
    for (const z of [x, w]) z.dispose();
  },
});
