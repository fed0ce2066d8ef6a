// attentionProbs() and attendProbs() against their CPU references. Tolerance per element:
// |gpu - ref| <= atol + rtol·|ref|, f32 atol 1e-5 rtol 1e-4; f16 storage atol 1e-3 rtol 1e-2 with
// the reference fed the same f16-rounded inputs.

import { assertEquals, assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { roundToF16 } from "../../tensor/dtype.ts";
import { attendProbs, attentionProbs } from "../../kernels/cross_attention.ts";
import { attendProbsRef, attentionProbsRef } from "../../kernels/cross_attention_ref.ts";
import { assertClose, F16_TOL, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";
import { type AttnCase, caseInputs, caseLabel, toTokenMajor } from "./_attention_cases.ts";

const CASES: AttnCase[] = [
  { batch: 2, heads: 3, sq: 33, sk: 120, dim: 8, mask: true, fullyMasked: true },
  { batch: 2, heads: 2, sq: 17, sk: 120, dim: 72, mask: true, tokenMajor: true },
  { batch: 1, heads: 2, sq: 5, sk: 7, dim: 6, scale: 1, bias: "shared" },
  { batch: 3, heads: 1, sq: 9, sk: 13, dim: 8, kvCount: 1, kvBatch: [0, 0, 0], bias: "batch" },
  { batch: 2, heads: 2, sq: 21, sk: 120, dim: 8, mask: true, tokenMajor: true, f16: true },
  // past 128 the looped kernels run: bias, mask, a fully masked row, Sk not a multiple of 4
  { batch: 2, heads: 2, sq: 9, sk: 11, dim: 132, bias: "batch", mask: true, fullyMasked: true },
  { batch: 1, heads: 1, sq: 6, sk: 9, dim: 136, f16: true, mask: true },
];

Deno.test({
  name: "attentionProbs() matches attentionProbsRef(): masked keys 0, fully masked rows 0 " +
    "(f32 atol 1e-5 rtol 1e-4, f16 atol 1e-3 rtol 1e-2)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    for (const c of CASES) {
      const { q, k, bias, mask, kv } = caseInputs(c);
      const dims = { batch: c.batch, heads: c.heads, sq: c.sq, sk: c.sk, dim: c.dim };
      const ref = attentionProbsRef(q, k, dims, {
        scale: c.scale,
        bias,
        biasPerBatch: c.bias === "batch",
        keyMask: mask,
        kvBatch: c.kvBatch,
      });
      const dtype = c.f16 ? "f16" : "f32";
      const up = (x: Float32Array, b: number, s: number) =>
        c.tokenMajor
          ? Tensor.from(gpu, toTokenMajor(x, b, c.heads, s, c.dim), [b, s, c.heads * c.dim], dtype)
          : Tensor.from(gpu, x, [b, c.heads, s, c.dim], dtype);
      const tq = up(q, c.batch, c.sq), tk = up(k, kv, c.sk);
      const tb = bias &&
        Tensor.from(gpu, bias, [c.bias === "batch" ? c.batch : 1, c.heads, c.sq, c.sk], dtype);
      const tm = mask && Tensor.from(gpu, mask, [kv, c.sk]);
      const probs = attentionProbs(tq, tk, {
        scale: c.scale,
        bias: tb,
        keyMask: tm,
        kvBatch: c.kvBatch,
        heads: c.tokenMajor ? c.heads : undefined,
      });
      assertEquals(probs.shape, [c.batch, c.heads, c.sq, c.sk]);
      const got = await probs.toArray();
      assertClose(got, ref, c.f16 ? F16_TOL : F32_TOL, caseLabel(c));
      if (c.fullyMasked) {
        const row = c.heads * c.sq * c.sk; // batch entry 0 reads the fully masked K entry 0
        assertEquals(got.slice(0, row).every((x) => x === 0), true, "fully masked rows are 0");
      }
      for (const t of [tq, tk, tb, tm, probs]) t?.dispose();
    }
  },
});

Deno.test({
  name: "attendProbs() matches attendProbsRef() on edited probabilities (f32 atol 1e-5 rtol " +
    "1e-4, f16 atol 1e-3 rtol 1e-2)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const cases: [AttnCase, boolean][] = [
      [{ batch: 2, heads: 3, sq: 33, sk: 120, dim: 72, tokenMajor: true }, false],
      [{ batch: 3, heads: 2, sq: 7, sk: 5, dim: 6, kvCount: 1, kvBatch: [0, 0, 0] }, false],
      [{ batch: 1, heads: 1, sq: 9, sk: 70, dim: 512 }, false],
      [{ batch: 2, heads: 2, sq: 7, sk: 11, dim: 132, tokenMajor: true }, false],
      [{ batch: 2, heads: 2, sq: 17, sk: 120, dim: 8, tokenMajor: true, f16: true }, true],
    ];
    for (const [c, f16] of cases) {
      const kv = c.kvCount ?? c.batch;
      let probs = randomArray(c.batch * c.heads * c.sq * c.sk, c.sq + c.dim, 0, 1); // any edit
      let v = randomArray(kv * c.heads * c.sk * c.dim, c.sk);
      if (f16) [probs, v] = [roundToF16(probs), roundToF16(v)];
      const dims = { batch: c.batch, heads: c.heads, sq: c.sq, sk: c.sk, dim: c.dim };
      const ref = attendProbsRef(probs, v, dims, c.kvBatch);
      const dtype = f16 ? "f16" : "f32";
      const tp = Tensor.from(gpu, probs, [c.batch, c.heads, c.sq, c.sk], dtype);
      const tv = c.tokenMajor
        ? Tensor.from(
          gpu,
          toTokenMajor(v, kv, c.heads, c.sk, c.dim),
          [kv, c.sk, c.heads * c.dim],
          dtype,
        )
        : Tensor.from(gpu, v, [kv, c.heads, c.sk, c.dim], dtype);
      const out = attendProbs(tp, tv, {
        kvBatch: c.kvBatch,
        heads: c.tokenMajor ? c.heads : undefined,
      });
      let got = await out.toArray();
      if (c.tokenMajor) {
        assertEquals(out.shape, [c.batch, c.sq, c.heads * c.dim]);
        got = toTokenMajor(got, c.batch, c.heads, c.sq, c.dim, true);
      }
      assertClose(got, ref, f16 ? F16_TOL : F32_TOL, caseLabel(c));
      for (const t of [tp, tv, out]) t.dispose();
    }
  },
});

Deno.test({
  name: "attendProbs() and attentionProbs() name shapes in their errors",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const t = (shape: number[]) =>
      Tensor.from(gpu, randomArray(shape.reduce((a, b) => a * b), 1), shape);
    const q = t([2, 5, 24]), k = t([2, 7, 24]), p = t([2, 3, 5, 6]);
    assertThrows(
      () => attendProbs(p, k, { heads: 3 }),
      TypeError,
      "probs [2, 3, 5, 6] f32 must be [B, 3, Sq, 7] f32",
    );
    assertThrows(() => attentionProbs(q, k), TypeError, "options.heads is needed");
    assertThrows(
      () => attentionProbs(q, k, { heads: 3, keyMask: t([2, 6]) }),
      TypeError,
      "keyMask [2, 6] must be [2, 7]",
    );
    for (const x of [q, k, p]) x.dispose();
  },
});
