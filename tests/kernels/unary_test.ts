import { Tensor } from "../../tensor/tensor.ts";
import { unary, type UnaryOp } from "../../kernels/unary.ts";
import { unaryRef } from "../../kernels/unary_ref.ts";
import { roundToF16 } from "../../tensor/dtype.ts";
import { assertClose, F16_TOL, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";
import { assertThrows } from "@std/assert";

const OPS: [UnaryOp, number, number][] = [["affine", 0.37, -1.5], ["silu", 1, 0], [
  "gelu_tanh",
  1,
  0,
], [
  "exp",
  1,
  0,
]];

for (const [op, alpha, beta] of OPS) {
  Deno.test({
    name: `${op} matches unaryRef() on [1029] values in [-12, 12) (f32 atol 1e-5, rtol 1e-4)`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      const x = randomArray(1029, 40, -12, 12);
      x[0] = 0;
      x[1] = -60; // GELU's tanh must not overflow
      x[2] = 60;
      if (op === "exp") { for (let i = 0; i < x.length; i++) x[i] /= 2; }
      const t = Tensor.from(gpu, x, [1029]);
      const y = unary(op, t, alpha, beta);
      assertClose(await y.toArray(), unaryRef(op, x, alpha, beta), F32_TOL, op);
      const h = roundToF16(x);
      const th = Tensor.from(gpu, h, [1029], "f16");
      const yh = unary(op, th, alpha, beta);
      const refH = unaryRef(op, h, alpha, beta);
      if (op !== "exp") assertClose(await yh.toArray(), refH, F16_TOL, `${op} f16`);
      for (const z of [t, y, th, yh]) z.dispose();
    },
  });
}

Deno.test({
  name: "unary ops refuse integer tensors",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const t = Tensor.from(gpu, new Int32Array(4), [4]);
    assertThrows(() => unary("silu", t), TypeError, "Cannot silu a tensor of dtype i32");
    t.dispose();
  },
});
