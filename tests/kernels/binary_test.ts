import { Tensor } from "../../tensor/tensor.ts";
import { binary, type BinaryOp } from "../../kernels/binary.ts";
import { binaryRef } from "../../kernels/binary_ref.ts";
import { roundToF16 } from "../../tensor/dtype.ts";
import { assertClose, F16_TOL, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";
import { assertEquals } from "@std/assert";

const CASES: [number[], number[]][] = [
  [[37, 65], [37, 65]], // same shape, odd sizes
  [[7, 1023], [1023]], // bias along rows
  [[3, 1, 5], [4, 1]], // both sides broadcast
  [[1], [2, 3, 4, 5, 6, 7]], // scalar-like against rank 6
  [[5, 1, 3], [5, 7, 1]],
];

for (const op of ["add", "sub", "mul", "div"] as BinaryOp[]) {
  Deno.test({
    name: `${op}() matches binaryRef() with broadcasting in f32 (atol 1e-5, rtol 1e-4)`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      for (const [i, [sa, sb]] of CASES.entries()) {
        const a = randomArray(sa.reduce((x, y) => x * y, 1), 10 + i);
        const b = randomArray(sb.reduce((x, y) => x * y, 1), 20 + i, 0.5, 2);
        const ta = Tensor.from(gpu, a, sa), tb = Tensor.from(gpu, b, sb);
        const y = binary(op, ta, tb);
        const ref = binaryRef(op, a, sa, b, sb);
        assertEquals(y.shape, ref.shape);
        assertClose(await y.toArray(), ref.data, F32_TOL, `${op} ${sa} ${sb}`);
        for (const t of [ta, tb, y]) t.dispose();
      }
    },
  });
}

Deno.test({
  name:
    "add() and mul() on f16 storage match binaryRef() on f16-rounded inputs (atol 1e-3, rtol 1e-2)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const a = roundToF16(randomArray(33 * 17, 30)), b = roundToF16(randomArray(17, 31));
    for (const op of ["add", "mul"] as BinaryOp[]) {
      const ta = Tensor.from(gpu, a, [33, 17], "f16"), tb = Tensor.from(gpu, b, [17], "f16");
      const y = binary(op, ta, tb);
      assertEquals(y.dtype, "f16");
      assertClose(await y.toArray(), binaryRef(op, a, [33, 17], b, [17]).data, F16_TOL, op);
      for (const t of [ta, tb, y]) t.dispose();
    }
  },
});

Deno.test({
  name: "add() on i32 tensors is exact",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const a = Tensor.from(gpu, new Int32Array([1, -2, 3, 2147483000]), [4]);
    const b = Tensor.from(gpu, new Int32Array([10]), [1]);
    const y = binary("add", a, b);
    assertEquals(Array.from(await y.toArray()), [11, 8, 13, 2147483010]);
    for (const t of [a, b, y]) t.dispose();
  },
});
