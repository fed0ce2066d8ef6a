import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { adapterKind, requestGpu } from "../../tensor/device.ts";
import { DeviceLostError, GpuOutOfMemoryError } from "../../tensor/errors.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { add } from "../../kernels/binary.ts";
import { softmax, SOFTMAX_VARIANTS } from "../../kernels/softmax.ts";
import { pickVariant, withVariant } from "../../kernels/_variant.ts";
import { autotune, loadAutotune, tunedChoice } from "../../tensor/autotune.ts";
import { GPU_TEST, testGpu } from "../_harness.ts";

Deno.test({
  name: "requestGpu() names the adapter and classifies lavapipe as a CPU adapter",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    assert(gpu.description.length > 0);
    assertEquals(
      adapterKind(
        {
          description: "llvmpipe (LLVM 15.0.6, 256 bits)",
          isFallbackAdapter: false,
        } as GPUAdapterInfo,
      ),
      "cpu",
    );
    assertEquals(
      adapterKind(
        {
          description: "NVIDIA H100",
          vendor: "nvidia",
          device: "",
          isFallbackAdapter: false,
        } as GPUAdapterInfo,
      ),
      "gpu",
    );
    assert(gpu.device.limits.maxStorageBufferBindingSize >= 128 * 2 ** 20, "binding limit raised");
  },
});

Deno.test({
  name: "without f16 storage, f16 tensors are stored as f32 and ops still run",
  ...GPU_TEST,
  async fn() {
    const gpu = await requestGpu({ f16: false });
    try {
      assertEquals(gpu.f16, false);
      const x = Tensor.from(gpu, [0.1, 0.2, 0.3], [3], "f16");
      assertEquals(x.elementBytes, 4);
      const y = await add(x, x).toArray();
      assertEquals(Array.from(y), [0.1, 0.2, 0.3].map((v) => Math.fround(Math.fround(v) * 2)));
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "an allocation past the adapter's limits is a GpuOutOfMemoryError naming the op",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const huge = gpu.device.limits.maxBufferSize; // elements of 4 bytes: 4x the limit
    assertThrows(() => Tensor.empty(gpu, [huge], "f32", "giant"), GpuOutOfMemoryError, '"giant"');
  },
});

Deno.test({
  name: "after device loss every op fails with DeviceLostError",
  ...GPU_TEST,
  async fn() {
    const gpu = await requestGpu();
    const x = Tensor.from(gpu, [1, 2], [2]);
    gpu.device.destroy();
    await gpu.device.lost;
    await new Promise((r) => setTimeout(r, 0)); // let the lost handler run
    assertThrows(() => add(x, x), DeviceLostError, "the GPU device was lost");
    await assertRejects(() => x.toArray(), DeviceLostError);
  },
});

Deno.test({
  name: "the pipeline cache compiles once per program, and warmUp() precompiles",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const program = { name: "noop", wgsl: "@compute @workgroup_size(1) fn main() {}" };
    await gpu.pipelines.warmUp([program, { ...program, overrides: {} }]);
    const n = gpu.pipelines.size;
    gpu.pipelines.get(program);
    assertEquals(gpu.pipelines.size, n);
    const x = Tensor.from(gpu, [1, 2, 3], [1, 3]);
    softmax(x).dispose();
    const m = gpu.pipelines.size;
    softmax(x).dispose();
    assertEquals(gpu.pipelines.size, m);
    x.dispose();
  },
});

Deno.test({
  name: "pickVariant() follows pins, then autotuned choices, then the adapter kind",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const byKind = pickVariant(gpu, "softmax", SOFTMAX_VARIANTS);
    assert(byKind.suits.includes(gpu.kind));
    await withVariant(gpu, "softmax", "workgroup_per_row", () => {
      assertEquals(pickVariant(gpu, "softmax", SOFTMAX_VARIANTS).name, "workgroup_per_row");
    });
    assertEquals(pickVariant(gpu, "softmax", SOFTMAX_VARIANTS).name, byKind.name);
    await withVariant(gpu, "softmax", "nope", () => {
      assertThrows(
        () => pickVariant(gpu, "softmax", SOFTMAX_VARIANTS),
        RangeError,
        'variant "nope"',
      );
    });
    const dir = await Deno.makeTempDir();
    try {
      await loadAutotune(gpu, { dir, force: true });
      const times: Record<string, number> = { row_per_invocation: 9, workgroup_per_row: 2 };
      const best = await autotune(
        gpu,
        "softmax",
        "rows64",
        Object.keys(times),
        (v) => Promise.resolve(times[v]),
        {
          dir,
        },
      );
      assertEquals(best, "workgroup_per_row");
      assertEquals(tunedChoice(gpu, "softmax", "rows64"), "workgroup_per_row");
      assertEquals(
        pickVariant(gpu, "softmax", SOFTMAX_VARIANTS, "rows64").name,
        "workgroup_per_row",
      );
      const saved = JSON.parse(await Deno.readTextFile(`${dir}/autotune.json`));
      assertEquals(saved[gpu.description]["softmax|rows64"], "workgroup_per_row");
    } finally {
      await loadAutotune(gpu, { dir: "/nonexistent", force: true }); // forget the choice again
      await Deno.remove(dir, { recursive: true });
    }
    assertEquals(pickVariant(gpu, "softmax", SOFTMAX_VARIANTS, "rows64").name, byKind.name);
  },
});
