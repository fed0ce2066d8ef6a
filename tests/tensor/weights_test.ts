import { assertEquals, assertThrows } from "@std/assert";
import { assertRejects } from "@std/assert";
import { Weights } from "../../tensor/weights.ts";
import { serializeSafetensors } from "../../io/safetensors_write.ts";
import { readSafetensorsBytes } from "../../io/safetensors.ts";
import { f32ToF16Bits, roundToF16 } from "../../tensor/dtype.ts";
import { GPU_TEST, randomArray, testGpu } from "../_harness.ts";

function checkpoint() {
  const a = randomArray(37 * 5, 1), b = roundToF16(randomArray(64, 2));
  const bits = new Uint16Array(b.length).map((_, i) => f32ToF16Bits(b[i]));
  const bf = new Uint16Array([0x3f80, 0xc000, 0x4049]); // 1, -2, 3.140625
  const bytes = serializeSafetensors({
    "blocks.0.proj.weight": { dtype: "F32", shape: [37, 5], data: a },
    "blocks.0.proj.bias": { dtype: "F16", shape: [8, 8], data: bits },
    "blocks.1.scale": { dtype: "BF16", shape: [3], data: bf },
    "extra.table": { dtype: "F32", shape: [2], data: new Float32Array([5, 6]) },
  });
  return { reader: readSafetensorsBytes(bytes, "test.safetensors"), a, b };
}

Deno.test({
  name: "Weights streams F32, F16 and BF16 keys to f32 and f16 tensors in small chunks",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const { reader, a, b } = checkpoint();
    for (const dtype of ["f32", "f16"] as const) {
      const w = new Weights(gpu, reader, { dtype, chunkBytes: 64 });
      const blk = w.sub("blocks").sub("0");
      const wt = await blk.get("proj.weight", [37, 5]);
      const expectA = dtype === "f16" && gpu.f16 ? roundToF16(a) : a;
      assertEquals(await wt.toArray(), expectA);
      const bias = await blk.get("proj.bias");
      assertEquals(await bias.toArray(), b);
      const s = await w.sub("blocks.1").get("scale", [3], "f32");
      assertEquals(Array.from(await s.toArray()), [1, -2, 3.140625]);
      assertEquals(w.unused(), ["extra.table"]);
      assertThrows(() => w.assertAllUsed(), Error, '1 unused keys ("extra.table")');
      assertEquals(Array.from(await w.sub("extra").f32("table")), [5, 6]);
      w.assertAllUsed();
      for (const t of [wt, bias, s]) t.dispose();
    }
  },
});

Deno.test({
  name: "Weights names the full key for a missing key and a wrong shape",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const { reader } = checkpoint();
    const w = new Weights(gpu, reader).sub("blocks.0");
    await assertRejects(
      () => w.get("proj.weight", [5, 37]),
      Error,
      'Cannot load weight "blocks.0.proj.weight": expected shape [5, 37], got [37, 5]',
    );
    await assertRejects(
      () => w.get("to_q.weight"),
      Error,
      'Cannot load weight "blocks.0.to_q.weight": it is not in "test.safetensors"',
    );
  },
});
