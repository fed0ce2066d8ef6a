// groupNorm() against groupNormRef(): storage path (H·W % 4 != 0) and texture path, several
// shares per group, SiLU fused, large offsets.
import { assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { GROUP_NORM_VARIANTS, groupNorm } from "../../kernels/group_norm.ts";
import { withVariant } from "../../kernels/_variant.ts";
import { groupNormRef } from "../../kernels/group_norm_ref.ts";
import { type DType, roundToF16 } from "../../tensor/dtype.ts";
import type { Gpu } from "../../tensor/device.ts";
import { assertClose, F16_TOL, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";

// [shape, groups, silu, offset, spread]
const CASES: [number[], number, boolean, number, number][] = [
  [[1, 4, 7, 9], 2, false, 0, 1],
  [[2, 6, 5], 3, true, 0, 2],
  [[2, 3], 3, false, 0, 1],
  [[1, 4, 33, 33], 1, true, 0, 3],
  [[2, 16, 8, 8], 8, true, 0, 2],
  [[1, 8, 64, 64], 2, false, 20, 1],
  [[1, 64, 16, 16], 32, true, -1, 4],
];

for (const variant of GROUP_NORM_VARIANTS) {
  for (const dtype of ["f32", "f16"] as DType[]) {
    Deno.test({
      name: `groupNorm() variant "${variant.name}" matches groupNormRef() (${dtype}: ` +
        (dtype === "f32" ? "atol 1e-5 rtol 1e-4)" : "atol 1e-3 rtol 1e-2, f16-rounded inputs)"),
      ...GPU_TEST,
      async fn() {
        const gpu = await testGpu();
        await withVariant(gpu, "group_norm", variant.name, () => run(gpu, dtype));
      },
    });
  }
}

async function run(gpu: Gpu, dtype: DType): Promise<void> {
  for (const [i, [shape, groups, silu, offset, spread]] of CASES.entries()) {
    const [batch, channels] = shape;
    const hw = shape.slice(2).reduce((a, d) => a * d, 1);
    const round = (a: Float32Array) => (dtype === "f16" ? roundToF16(a) : a);
    const x = round(randomArray(batch * channels * hw, 50 + i, offset - spread, offset + spread));
    const w = round(randomArray(channels, 60 + i, 0.5, 1.5));
    const b = round(randomArray(channels, 70 + i, -1, 1));
    const tx = Tensor.from(gpu, x, shape, dtype);
    const tw = Tensor.from(gpu, w, [channels], dtype), tb = Tensor.from(gpu, b, [channels], dtype);
    const y = groupNorm(tx, tw, tb, { groups, silu });
    const ref = groupNormRef(x, w, b, { batch, channels, hw }, { groups, silu });
    const tol = dtype === "f16" ? F16_TOL : F32_TOL;
    assertClose(await y.toArray(), ref, tol, `${dtype} [${shape}] G${groups}`);
    for (const z of [tx, tw, tb, y]) z.dispose();
  }
}

Deno.test({
  name: "groupNorm() refuses groups that do not divide C and weights of the wrong length",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const x = Tensor.from(gpu, new Float32Array(24), [1, 6, 2, 2]);
    const w = Tensor.from(gpu, new Float32Array(6), [6]);
    const w4 = Tensor.from(gpu, new Float32Array(4), [4]);
    assertThrows(() => groupNorm(x, w, w, { groups: 4 }), RangeError, "groups 4");
    assertThrows(() => groupNorm(x, w4, w, { groups: 2 }), TypeError, "weight [4] f32");
    for (const z of [x, w, w4]) z.dispose();
  },
});
