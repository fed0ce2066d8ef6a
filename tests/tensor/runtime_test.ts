import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { Tensor } from "../../tensor/tensor.ts";
import { keep, scope } from "../../tensor/scope.ts";
import { add, mul } from "../../kernels/binary.ts";
import { scale } from "../../kernels/unary.ts";
import { sizeClass } from "../../tensor/buffer_pool.ts";
import { GPU_TEST, randomArray, testGpu } from "../_harness.ts";

Deno.test({
  name: "Tensor.from() and toArray() round-trip f32, i32 and u32",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const f = Tensor.from(gpu, [1.5, -2, 3, 4.25], [2, 2]);
    assertEquals(Array.from(await f.toArray()), [1.5, -2, 3, 4.25]);
    const i = Tensor.from(gpu, new Int32Array([-7, 0, 7]), [3]);
    assertEquals(Array.from(await i.toArray()), [-7, 0, 7]);
    const u = Tensor.from(gpu, [1, 4294967295], [2], "u32");
    assertEquals(Array.from(await u.toArray()), [1, 4294967295]);
    for (const t of [f, i, u]) t.dispose();
  },
});

Deno.test({
  name: "Tensor f16 storage holds f16-rounded values and reads back as f32",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const t = Tensor.from(gpu, [1 / 3, 65504, 1e-8, -2.5, 0.1], [5], "f16");
    assertEquals(t.elementBytes, gpu.f16 ? 2 : 4);
    const back = await t.toArray();
    const expected = gpu.f16 ? [0.333251953125, 65504, 0, -2.5, 0.0999755859375] : [
      Math.fround(1 / 3),
      65504,
      Math.fround(1e-8),
      -2.5,
      Math.fround(0.1),
    ];
    assertEquals(Array.from(back), expected);
    t.dispose();
  },
});

Deno.test({
  name: "reshape() and slice() are views that share storage without copies",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const data = randomArray(4 * 64, 1);
    const x = Tensor.from(gpu, data, [4, 64]);
    const created = gpu.pool.stats.buffersCreated;
    const r = x.reshape([8, -1]);
    assertEquals(r.shape, [8, 32]);
    const s = x.slice(1, 3);
    assertEquals(s.shape, [2, 64]);
    assertEquals(gpu.pool.stats.buffersCreated, created);
    assertEquals(await s.toArray(), data.slice(64, 192));
    x.dispose();
    assertEquals(
      await r.toArray(),
      data,
      "a view keeps the storage alive after its base is disposed",
    );
    r.dispose();
    s.dispose();
    assertThrows(() => x.reshape([5, 5]), ReferenceError, "disposed");
    const y = Tensor.from(gpu, data, [4, 64]);
    assertThrows(() => y.reshape([5, 50]), RangeError, "Cannot reshape tensor [4, 64] to [5, 50]");
    assertThrows(() => y.slice(2, 5), RangeError, "Cannot slice rows [2, 5)");
    y.dispose();
  },
});

Deno.test({
  name: "scope() frees every tensor made inside except the result; memory returns to start",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const x = Tensor.from(gpu, randomArray(1000, 2), [10, 100]);
    const start = gpu.memory().liveBytes;
    const y = scope(() => {
      const a = mul(x, x);
      const b = add(a, x);
      return scale(b, 2);
    });
    assertEquals(gpu.memory().liveBytes, start + y.byteLength);
    y.dispose();
    assertEquals(gpu.memory().liveBytes, start);
    const z = await scope(async () => {
      const kept = keep(scale(x, 3));
      await kept.toArray();
      return { pair: [scale(x, 1)] };
    });
    assertEquals(gpu.memory().liveBytes, start + 2 * x.byteLength);
    z.pair[0].dispose();
    x.dispose();
    assert(gpu.memory().peakBytes >= start + 3 * 4000);
  },
});

Deno.test({
  name: "a disposed tensor used again is a clear error",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const x = Tensor.from(gpu, [1, 2], [2]);
    x.dispose();
    x.dispose(); // twice is fine
    assertThrows(() => add(x, x), ReferenceError, "Cannot add tensor [2] f32: it was disposed");
    await assertRejects(() => x.toArray(), ReferenceError, "it was disposed");
  },
});

Deno.test({
  name: "ops report shape and dtype mismatches naming the op and both shapes",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const a = Tensor.from(gpu, randomArray(6, 3), [2, 3]);
    const b = Tensor.from(gpu, randomArray(8, 4), [4, 2]);
    const i = Tensor.from(gpu, new Int32Array(6), [2, 3]);
    assertThrows(
      () => add(a, b),
      TypeError,
      "Cannot add tensors of shapes [2, 3] and [4, 2]: they do not broadcast",
    );
    assertThrows(() => mul(a, i), TypeError, "Cannot mul tensors of dtypes f32 and i32");
    assertThrows(() => Tensor.from(gpu, [1, 2, 3], [2, 2]), RangeError, "Cannot upload 3 values");
    for (const t of [a, b, i]) t.dispose();
  },
});

Deno.test({
  name: "a chain of 100 small ops is recorded into one submit",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const x = Tensor.from(gpu, randomArray(64, 5), [64]);
    await gpu.sync();
    const before = gpu.recorder.stats.submits;
    const y = scope(() => {
      let t = x;
      for (let k = 0; k < 100; k++) t = add(t, x);
      return t;
    });
    assertEquals(gpu.recorder.stats.submits, before, "nothing is submitted while recording");
    const out = await y.toArray();
    assertEquals(gpu.recorder.stats.submits, before + 1);
    const xs = await x.toArray();
    for (let i = 0; i < 64; i++) {
      assert(Math.abs(out[i] - 101 * xs[i]) < 1e-5 * 101, `element ${i}`);
    }
    x.dispose();
    y.dispose();
  },
});

Deno.test({
  name: "the second identical forward allocates no new buffers (pool reuse)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const w = Tensor.from(gpu, randomArray(256 * 32, 6), [256, 32]);
    const forward = () =>
      scope(() => {
        const x = Tensor.from(gpu, randomArray(256 * 32, 7), [256, 32]);
        return scale(add(mul(x, w), w), 0.5);
      });
    const y1 = forward();
    await y1.toArray();
    y1.dispose();
    await gpu.sync(); // buffers freed before this submit become reusable for uploads
    const created = gpu.pool.stats.buffersCreated;
    const y2 = forward();
    await y2.toArray();
    y2.dispose();
    assertEquals(gpu.pool.stats.buffersCreated, created);
    w.dispose();
  },
});

Deno.test("sizeClass() rounds to 256, then 2^k and 1.5·2^k steps", () => {
  assertEquals([1, 256, 257, 384, 385, 512, 513, 1 << 20].map(sizeClass), [
    256,
    256,
    384,
    384,
    512,
    512,
    768,
    1 << 20,
  ]);
});

Deno.test({
  name: "sync() turns a WebGPU validation error into a GpuValidationError naming the op",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const x = Tensor.from(gpu, [1, 2, 3, 4], [4]);
    // a kernel whose binding types disagree with what is bound: a uniform where storage is declared
    const program = {
      name: "broken_kernel",
      wgsl: `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
        @compute @workgroup_size(1) fn main() { y[0] = 1.0; }`,
    };
    gpu.dispatch(program, [{
      buffer: gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM }),
    }], [1]);
    const { GpuValidationError } = await import("../../tensor/errors.ts");
    await assertRejects(() => gpu.sync(), GpuValidationError, "broken_kernel");
    await gpu.sync(); // the error was reported once and the device still works
    assertEquals(Array.from(await x.toArray()), [1, 2, 3, 4]);
    x.dispose();
  },
});

Deno.test({
  name: "ops read row slices at any offset (unaligned views are bound through a copy)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const data = randomArray(6 * 5, 9);
    const x = Tensor.from(gpu, data, [6, 5]);
    const row = x.slice(3, 5); // starts at byte 60: not a multiple of the 256-byte alignment
    const y = scale(row, 2);
    assertEquals(
      Array.from(await y.toArray()),
      Array.from(data.slice(15, 25), (v) => Math.fround(v * 2)),
    );
    for (const t of [x, row, y]) t.dispose();
  },
});
