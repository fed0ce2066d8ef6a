// reduce, concat, gather_rows and permute against their CPU references.
import { assertEquals, assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { mean, sum } from "../../kernels/reduce.ts";
import { reduceRef } from "../../kernels/reduce_ref.ts";
import { concat } from "../../kernels/concat.ts";
import { concatRef } from "../../kernels/concat_ref.ts";
import { gatherRows } from "../../kernels/gather_rows.ts";
import { gatherRowsRef } from "../../kernels/gather_rows_ref.ts";
import { permute } from "../../kernels/permute.ts";
import { permuteRef } from "../../kernels/permute_ref.ts";
import { assertClose, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";

Deno.test({
  name: "sum() and mean() over the last axis match reduceRef() (atol 1e-5, rtol 1e-4)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    for (const [rows, cols] of [[1, 1], [65, 7], [3, 1023]]) {
      const x = randomArray(rows * cols, rows * cols);
      const t = Tensor.from(gpu, x, [rows, cols]);
      const s = sum(t), m = mean(t);
      assertEquals(s.shape, [rows]);
      assertClose(await s.toArray(), reduceRef(x, cols, "sum"), F32_TOL, "sum");
      assertClose(await m.toArray(), reduceRef(x, cols, "mean"), F32_TOL, "mean");
      for (const z of [t, s, m]) z.dispose();
    }
  },
});

Deno.test({
  name: "concat() along each axis matches concatRef() exactly",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    for (const axis of [0, 1, 2]) {
      const shapes = [[2, 3, 5], [2, 3, 5], [2, 3, 5]].map((s, i) =>
        s.map((d, k) => (k === axis ? d + i : d))
      );
      const parts = shapes.map((shape, i) => ({
        shape,
        data: randomArray(shape.reduce((a, b) => a * b), 50 + i),
      }));
      const ts = parts.map((p) => Tensor.from(gpu, p.data, p.shape));
      const y = concat(ts, axis - 3);
      assertClose(await y.toArray(), concatRef(parts, axis), { atol: 0, rtol: 0 }, `axis ${axis}`);
      for (const z of [...ts, y]) z.dispose();
    }
    const a = Tensor.from(gpu, randomArray(6, 1), [2, 3]),
      b = Tensor.from(gpu, randomArray(8, 2), [2, 4]);
    assertThrows(
      () => concat([a, b], 0),
      TypeError,
      "Cannot concat tensors [2, 3] f32 and [2, 4] f32",
    );
    a.dispose();
    b.dispose();
  },
});

Deno.test({
  name: "gatherRows() matches gatherRowsRef(), with zero rows for out-of-range indices",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const table = randomArray(10 * 7, 60);
    const idx = new Int32Array([3, 0, 9, 9, -1, 10, 4]);
    const t = Tensor.from(gpu, table, [10, 7]), i = Tensor.from(gpu, idx, [7]);
    const y = gatherRows(t, i.reshape([7, 1]));
    assertEquals(y.shape, [7, 1, 7]);
    assertClose(await y.toArray(), gatherRowsRef(table, 7, idx), { atol: 0, rtol: 0 }, "gather");
    for (const z of [t, i, y]) z.dispose();
  },
});

Deno.test({
  name: "permute() matches permuteRef() exactly",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    for (
      const [shape, dims] of [[[2, 3, 4], [2, 0, 1]], [[2, 5, 3, 7], [0, 2, 1, 3]], [[9], [0]]]
    ) {
      const x = randomArray(shape.reduce((a, b) => a * b), 70);
      const t = Tensor.from(gpu, x, shape);
      const y = permute(t, dims);
      assertEquals(y.shape, dims.map((d) => shape[d]));
      assertClose(await y.toArray(), permuteRef(x, shape, dims), { atol: 0, rtol: 0 }, `${dims}`);
      t.dispose();
      y.dispose();
    }
    const t = Tensor.from(gpu, randomArray(6, 1), [2, 3]);
    assertThrows(() => permute(t, [0, 0]), RangeError, "not a permutation");
    t.dispose();
  },
});
