import { Tensor } from "../../tensor/tensor.ts";
import { softmax, SOFTMAX_VARIANTS } from "../../kernels/softmax.ts";
import { softmaxRef } from "../../kernels/softmax_ref.ts";
import { withVariant } from "../../kernels/_variant.ts";
import { roundToF16 } from "../../tensor/dtype.ts";
import { assertClose, F16_TOL, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";

for (const variant of SOFTMAX_VARIANTS) {
  Deno.test({
    name: `softmax() variant "${variant.name}" matches softmaxRef() (f32 atol 1e-5, rtol 1e-4)`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      await withVariant(gpu, "softmax", variant.name, async () => {
        for (
          const [rows, cols, spread] of [[1, 1, 1], [37, 1000, 4], [300, 120, 30], [3, 4097, 80]]
        ) {
          const x = randomArray(rows * cols, rows + cols, -spread, spread);
          const t = Tensor.from(gpu, x, [rows, cols]);
          const y = softmax(t);
          assertClose(await y.toArray(), softmaxRef(x, cols), F32_TOL, `[${rows}, ${cols}]`);
          const h = roundToF16(x);
          const th = Tensor.from(gpu, h, [rows, cols], "f16");
          const yh = softmax(th);
          assertClose(await yh.toArray(), softmaxRef(h, cols), F16_TOL, `f16 [${rows}, ${cols}]`);
          for (const z of [t, y, th, yh]) z.dispose();
        }
      });
    },
  });
}
