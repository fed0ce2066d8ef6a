// matmul() and linear() against matmulRef() / linearRef() for every variant: odd sizes from
// {1, 7, 65, 1023}, batches, broadcasts, the transposed form, every epilogue, f16 storage, packed
// weights, texture chunking and the K fallback. Tolerance |gpu - ref| <= atol + rtol·|ref|:
// f32 atol 1e-5 rtol 1e-4; f16 storage atol 1e-3 rtol 1e-2 with f16-rounded inputs to the ref.
// Inputs are uniform in [-1, 1), the second operand scaled by 1/√K like a Linear's init, so sums
// over K stay O(1) and f32 accumulation error stays within the absolute tolerance.

import { assertEquals, assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { roundToF16 } from "../../tensor/dtype.ts";
import type { DType } from "../../tensor/dtype.ts";
import { scope } from "../../tensor/scope.ts";
import {
  linear,
  matmul,
  MATMUL_VARIANTS,
  type MatmulActivation,
  packWeight,
} from "../../kernels/matmul.ts";
import { linearRef, matmulRef } from "../../kernels/matmul_ref.ts";
import { TEXTURE_LIMIT } from "../../kernels/matmul_texture.ts";
import { withVariant } from "../../kernels/_variant.ts";
import {
  assertClose,
  F16_TOL,
  F32_TOL,
  GPU_TEST,
  randomArray,
  testGpu,
  type Tolerance,
} from "../_harness.ts";
import type { Gpu } from "../../tensor/device.ts";

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
let seed = 1;

/** A seeded tensor and the values the reference should see (f16-rounded for f16 storage). */
function input(gpu: Gpu, shape: number[], dtype: DType = "f32", scale = 1) {
  const raw = randomArray(size(shape), seed++, -scale, scale);
  const host = dtype === "f16" ? roundToF16(raw) : raw;
  return { t: Tensor.from(gpu, host, shape, dtype), host };
}

async function checkMatmul(
  gpu: Gpu,
  aShape: number[],
  bShape: number[],
  transposeB = false,
  tol: Tolerance = F32_TOL,
  label = "",
  bType: DType = "f32",
) {
  await scope(async () => {
    const K = aShape.at(-1)!;
    const a = input(gpu, aShape), b = input(gpu, bShape, bType, 1 / Math.sqrt(Math.max(K, 1)));
    const y = matmul(a.t, b.t, { transposeB });
    const ref = matmulRef(a.host, aShape, b.host, bShape, { transposeB });
    assertClose(
      await y.toArray(),
      ref,
      tol,
      `${label} [${aShape}] x [${bShape}]${transposeB ? "^T" : ""}`,
    );
  });
}

interface LinearCase {
  x: number[];
  n: number;
  xType?: DType;
  wType?: DType;
  bias?: DType;
  activation?: MatmulActivation;
  residual?: DType;
  packed?: boolean;
}

async function checkLinear(gpu: Gpu, c: LinearCase, label: string) {
  await scope(async () => {
    const K = c.x.at(-1)!;
    const outShape = [...c.x.slice(0, -1), c.n];
    const x = input(gpu, c.x, c.xType), w = input(gpu, [c.n, K], c.wType, 1 / Math.sqrt(K));
    const bias = c.bias ? input(gpu, [c.n], c.bias) : undefined;
    const residual = c.residual ? input(gpu, outShape, c.residual) : undefined;
    const weight = c.packed ? packWeight(w.t) : w.t;
    const y = linear(x.t, weight, {
      bias: bias?.t,
      activation: c.activation,
      residual: residual?.t,
    });
    assertEquals(y.shape, outShape);
    assertEquals(y.dtype, c.xType ?? "f32");
    const ref = linearRef(x.host, c.x, w.host, [c.n, K], {
      bias: bias?.host,
      activation: c.activation,
      residual: residual?.host,
    });
    const f16 = [c.xType, c.wType, c.bias, c.residual].includes("f16");
    assertClose(await y.toArray(), ref, f16 ? F16_TOL : F32_TOL, label);
  });
}

for (const variant of MATMUL_VARIANTS) {
  Deno.test({
    name: `matmul() variant "${variant.name}" matches matmulRef() on odd sizes, batches and ` +
      `broadcasts (f32 atol 1e-5, rtol 1e-4)`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      await withVariant(gpu, "matmul", variant.name, async () => {
        const sizes = [
          [1, 1, 1],
          [7, 65, 1023],
          [65, 1023, 7],
          [1023, 7, 65],
          [1, 1023, 65],
          [1023, 1, 7],
          [65, 65, 1023],
          [64, 128, 64],
        ];
        for (const [M, N, K] of sizes) {
          await checkMatmul(gpu, [M, K], [K, N], false, F32_TOL, variant.name);
          await checkMatmul(gpu, [M, K], [N, K], true, F32_TOL, variant.name);
        }
        await checkMatmul(gpu, [3, 7, 65], [3, 65, 33], false, F32_TOL, "batched");
        await checkMatmul(gpu, [2, 33, 65], [65, 7], false, F32_TOL, "broadcast b");
        await checkMatmul(gpu, [7, 65], [3, 65, 9], false, F32_TOL, "broadcast a");
        await checkMatmul(gpu, [2, 3, 9, 65], [2, 3, 33, 65], true, F32_TOL, "batched q·kᵀ");
        await checkMatmul(gpu, [4, 0], [0, 5], false, F32_TOL, "K = 0");
        await checkMatmul(gpu, [7, 65], [65, 128], false, F16_TOL, "f16 b", "f16");
        await checkMatmul(gpu, [2, 7, 65], [2, 9, 65], true, F16_TOL, "f16 bᵀ", "f16");
      });
    },
  });

  Deno.test({
    name: `linear() variant "${variant.name}" with bias, activations, residual, f16 storage ` +
      `and packed weights matches linearRef()`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      await withVariant(gpu, "matmul", variant.name, async () => {
        const cases: LinearCase[] = [
          { x: [3, 33, 70], n: 65, bias: "f32", activation: "gelu_tanh" },
          { x: [65, 1023], n: 7, bias: "f32", activation: "silu", residual: "f32" },
          { x: [2, 7, 64], n: 128, residual: "f32" },
          { x: [1, 65], n: 1023, activation: "silu" },
          { x: [65], n: 33, bias: "f32" },
          // model layout: f16 weights and bias, f32 activations and residual
          { x: [2, 33, 256], n: 96, wType: "f16", bias: "f16", residual: "f32" },
          { x: [9, 70], n: 7, wType: "f16", bias: "f16", activation: "gelu_tanh" },
          { x: [9, 70], n: 12, xType: "f16", wType: "f16", residual: "f16" },
          { x: [9, 70], n: 12, xType: "f16", bias: "f32", activation: "silu" },
          { x: [5, 128], n: 12, xType: "f16", wType: "f32", residual: "f32" },
          // pre-packed weights
          { x: [2, 33, 70], n: 65, bias: "f32", packed: true },
          { x: [7, 256], n: 96, wType: "f16", bias: "f16", residual: "f32", packed: true },
          { x: [7, 100], n: 9, wType: "f16", activation: "silu", packed: true },
        ];
        for (const [i, c] of cases.entries()) {
          await checkLinear(gpu, c, `${variant.name} case ${i}`);
        }
      });
    },
  });
}

Deno.test({
  name: `matmul() "texture" splits M and N into texture chunks, binds big outputs in row ` +
    `chunks and falls back past the K limit`,
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    TEXTURE_LIMIT.override = 67; // chunks of 64 rows; K up to 4·66
    try {
      await withVariant(gpu, "matmul", "texture", async () => {
        await checkMatmul(gpu, [150, 40], [40, 140], false, F32_TOL, "chunked");
        await checkMatmul(gpu, [2, 70, 40], [2, 140, 40], true, F32_TOL, "chunked batched");
        await checkLinear(gpu, {
          x: [150, 40],
          n: 140,
          bias: "f16",
          residual: "f32",
          activation: "gelu_tanh",
          packed: true,
        }, "chunked packed");
        await checkMatmul(gpu, [9, 300], [300, 7], false, F32_TOL, "K fallback");
        TEXTURE_LIMIT.bind = 20000; // output rows bound 32 at a time
        await checkLinear(gpu, { x: [150, 40], n: 140, bias: "f32", residual: "f32" }, "bound");
      });
    } finally {
      TEXTURE_LIMIT.override = 0;
      TEXTURE_LIMIT.bind = 0;
    }
  },
});

Deno.test({
  name: "matmul() and linear() reject mismatched shapes, dtypes and activations",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    scope(() => {
      const a = Tensor.from(gpu, randomArray(6, 1), [2, 3]);
      const b = Tensor.from(gpu, randomArray(8, 2), [4, 2]);
      assertThrows(
        () => matmul(a, b),
        TypeError,
        "Cannot matmul tensors [2, 3] f32 and [4, 2] f32: inner dimensions 3 and 4 differ",
      );
      const a3 = Tensor.from(gpu, randomArray(12, 3), [2, 2, 3]);
      const b3 = Tensor.from(gpu, randomArray(18, 4), [3, 3, 2]);
      assertThrows(() => matmul(a3, b3), TypeError, "batch dimensions [2] and [3] differ");
      const w = Tensor.from(gpu, randomArray(12, 5), [4, 3]);
      assertThrows(
        () => linear(a, w, { bias: Tensor.from(gpu, randomArray(3, 6), [3]) }),
        TypeError,
        "Cannot linear with bias [3] f32: expected a float tensor [4]",
      );
      assertThrows(
        () => linear(a, w, { residual: Tensor.from(gpu, randomArray(6, 7), [2, 3]) }),
        TypeError,
        "expected a float tensor [2, 4]",
      );
      assertThrows(
        () => linear(a, w, { activation: "relu" as MatmulActivation }),
        RangeError,
        'Cannot linear with activation "relu"',
      );
      assertThrows(
        () => linear(a, Tensor.from(gpu, new Int32Array(6), [2, 3])),
        TypeError,
        "both must be f32 or f16",
      );
      const kept = scope(() => packWeight(w)); // the handle outlives the scope with its view
      assertEquals(kept.disposed, false);
      kept.dispose();
      const packed = packWeight(w);
      packed.dispose();
      assertThrows(() => linear(a, packed), ReferenceError, "it was disposed");
    });
  },
});
