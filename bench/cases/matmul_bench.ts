// matmul: case `MxNxK` is [M, K] × [K, N]; gflops = 2·M·N·K / time. Rows:
// - matmul: `matmul(a, b)` with every per-call packing included, f32, at 1024³ and 2048³, and the
//   adapter's other variant at 1024³ (baseline);
// - linear_packed: `linear(x, packWeight(w))`, the model's layout (weight [N, K] packed once, not
//   timed), at 1024³ (f32 and f16 weights) and
//   the PixArt shapes with f16 weights: x [2048, 1152] through ff.net.0 [4608, 1152], ff.net.2
//   [1152, 4608] and attn1.to_q [1152, 1152];
// - linear: `linear(x, w)` with an f16 weight tensor packed on every call, at 2048x1152x1152;
// - on CPU adapters, linear_packed f32 at 1024³ with a 32×32 register tile (variant
//   "texture_32x32", baseline): the larger tile against TEXTURE_TILE, same run;
// - tfjs_matmul: TF.js WebGPU matMul at 1024³ and 2048³, wall clock of several matMuls then one
//   data() (timing "batched", nothing subtracted); naive_matmul: one thread per output, 1024³.
// `vs_tfjs` divides a row's GFLOP/s by TF.js's at 1024³ (2048³ for the larger rows), same run.
// On a CPU adapter `cpu_ms` is the process CPU time per call (Linux /proc), which other processes
// sharing the cores inflate less than `ms`. compile_ms is the first call (pipeline creation, the
// JIT unless Mesa's shader cache has it, packing and one run).

import type { Gpu } from "../../tensor/device.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { scope } from "../../tensor/scope.ts";
import type { DType } from "../../tensor/dtype.ts";
import { linear, matmul, MATMUL_VARIANTS, packWeight } from "../../kernels/matmul.ts";
import { pickVariant, withVariant } from "../../kernels/_variant.ts";
import { matmulTexture, TEXTURE_TILE } from "../../kernels/matmul_texture.ts";
import { MATMUL_ACTIVATIONS } from "../../kernels/matmul_epilogue.ts";
import { type BenchRow, cpuTimeMs, median, round, timeOp } from "../_timing.ts";
import type { BenchCase } from "../run.ts";

const NAIVE_WGSL = /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@compute @workgroup_size(16, 16) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.y >= p.M || g.x >= p.N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) { acc += a[g.y * p.K + k] * b[k * p.N + g.x]; }
  c[g.y * p.N + g.x] = acc;
}`;

function data(n: number, k: number, scale = 1): Float32Array {
  return new Float32Array(n).map((_, i) => Math.sin(i * 0.37 * k) * scale);
}

interface Spec {
  kernel: "matmul" | "linear" | "linear_packed";
  M: number;
  N: number;
  K: number;
  weights: DType;
  variant?: string;
  /** A register tile other than TEXTURE_TILE (texture variant, packed weights only). */
  tile?: { tm: number; tn: number };
  repeats: number;
  inner: number;
}

async function measure(gpu: Gpu, s: Spec, log: (m: string) => void): Promise<BenchRow> {
  const { M, N, K } = s;
  const a = Tensor.from(gpu, data(M * K, 1), [M, K]);
  const packed = s.kernel === "linear_packed", nk = s.kernel !== "matmul";
  const w = Tensor.from(gpu, data(N * K, 2, 1 / Math.sqrt(K)), nk ? [N, K] : [K, N], s.weights);
  const def = pickVariant(gpu, "matmul", MATMUL_VARIANTS).name;
  const variant = s.variant ?? def;
  const label = s.tile ? `${variant}_${s.tile.tm}x${s.tile.tn}` : variant;
  gpu.resetPeak();
  const row = await withVariant(gpu, "matmul", variant, async () => {
    const pw = packed ? packWeight(w) : undefined;
    let fn = pw ? () => linear(a, pw) : nk ? () => linear(a, w) : () => matmul(a, w);
    if (s.tile && pw) {
      const tile = s.tile, chunks = pw.textures() ?? undefined;
      fn = () => {
        const out = Tensor.empty(gpu, [M, N], "f32", "matmul");
        const p = { gpu, a, b: w, out, batch: 1, M, N, K, aBatchStride: 0, bBatchStride: 0 };
        matmulTexture({ ...p, transB: true, act: MATMUL_ACTIVATIONS.none }, chunks, tile);
        return out;
      };
    }
    // slow rows take timeOp's first call as compile_ms; fast ones get a separate first call so
    // that cpu_ms counts warm calls only
    const single = s.repeats * s.inner === 1;
    const t0 = performance.now();
    if (!single) {
      scope(() => void fn()); // the first call: compile, JIT, packing
      await gpu.sync();
    }
    const compileMs = performance.now() - t0;
    const c0 = cpuTimeMs();
    const t = await timeOp(gpu, fn, { repeats: s.repeats, inner: s.inner });
    const cpu = (cpuTimeMs() - c0) / (1 + s.repeats * s.inner); // timeOp makes one more call
    pw?.dispose();
    return { t: single ? t : { ...t, compileMs }, cpu };
  });
  const { t, cpu } = row;
  const gflops = (2 * M * N * K) / t.ms / 1e6;
  log(
    `  ${s.kernel} ${label} ${M}x${N}x${K} w ${s.weights}: ${t.ms.toFixed(1)} ms, ` +
      `${gflops.toFixed(1)} GFLOP/s (compile ${t.compileMs.toFixed(0)} ms)`,
  );
  a.dispose();
  w.dispose();
  return {
    kernel: s.kernel,
    case: `${M}x${N}x${K}`,
    dtype: s.weights === "f16" ? "f32 x, f16 w" : "f32",
    variant: label,
    ms: round(t.ms),
    timing: t.timing,
    adapter: gpu.description,
    baseline: variant !== def || s.tile !== undefined,
    gflops: round(gflops, 2),
    compile_ms: round(t.compileMs, 1),
    peak_bytes: gpu.memory().peakBytes,
    ...(gpu.kind === "cpu" ? { cpu_ms: round(cpu, 1) } : {}),
  };
}

async function naive(gpu: Gpu, n: number, log: (m: string) => void): Promise<BenchRow> {
  const a = Tensor.from(gpu, data(n * n, 1), [n, n]);
  const b = Tensor.from(gpu, data(n * n, 2), [n, n]);
  const program = { name: "naive_matmul", wgsl: NAIVE_WGSL };
  const fn = () => {
    const c = Tensor.empty(gpu, [n, n], "f32", "naive_matmul");
    gpu.dispatch(program, [a, b, c], [n / 16, n / 16], new Uint32Array([n, n, n, 0]));
    return c;
  };
  const c0 = cpuTimeMs();
  const t = await timeOp(gpu, fn, { repeats: 1, inner: 1 });
  const cpu = (cpuTimeMs() - c0) / 2;
  a.dispose();
  b.dispose();
  const gflops = (2 * n ** 3) / t.ms / 1e6;
  log(`  naive_matmul ${n}³: ${t.ms.toFixed(0)} ms, ${gflops.toFixed(2)} GFLOP/s`);
  return {
    kernel: "naive_matmul",
    case: `${n}x${n}x${n}`,
    dtype: "f32",
    ms: round(t.ms),
    timing: t.timing,
    adapter: gpu.description,
    baseline: true,
    gflops: round(gflops, 2),
    compile_ms: round(t.compileMs, 1),
    ...(gpu.kind === "cpu" ? { cpu_ms: round(cpu, 1) } : {}),
  };
}

/** TF.js WebGPU matMul on its own device of the same adapter (bench-only dependency). */
async function tfjs(gpu: Gpu, sizes: number[], log: (m: string) => void): Promise<BenchRow[]> {
  // pinned here on purpose: a bench-only dependency that library code must never pull in
  // deno-lint-ignore no-import-prefix
  const tf = await import("npm:@tensorflow/tfjs-core@4.22.0");
  // deno-lint-ignore no-import-prefix
  await import("npm:@tensorflow/tfjs-backend-webgpu@4.22.0");
  await tf.setBackend("webgpu");
  await tf.ready();
  const rows: BenchRow[] = [];
  for (const n of sizes) {
    // a first call (shader compile, upload, readback; skipped at 2048³, where one call takes a
    // minute on lavapipe and the shader is compiled already), then batches of matMuls ending in
    // one data()
    const a = tf.tensor2d(data(n * n, 1), [n, n]), b = tf.tensor2d(data(n * n, 2), [n, n]);
    let t0 = performance.now();
    let compileMs: number | undefined;
    if (n <= 1024) {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
      compileMs = performance.now() - t0;
    }
    const reps = 2, batches = n <= 1024 ? 2 : 1, samples: number[] = [];
    const c0 = cpuTimeMs();
    for (let r = 0; r < batches; r++) {
      t0 = performance.now();
      const outs = Array.from({ length: reps }, () => tf.matMul(a, b));
      await outs[reps - 1].data();
      samples.push((performance.now() - t0) / reps);
      outs.forEach((o) => o.dispose());
    }
    const cpu = (cpuTimeMs() - c0) / (batches * reps);
    a.dispose();
    b.dispose();
    const ms = median(samples), gflops = (2 * n ** 3) / ms / 1e6;
    log(`  tfjs_matmul ${n}³: ${ms.toFixed(0)} ms, ${gflops.toFixed(2)} GFLOP/s`);
    rows.push({
      kernel: "tfjs_matmul",
      case: `${n}x${n}x${n}`,
      dtype: "f32",
      ms: round(ms),
      timing: "batched",
      adapter: gpu.description, // TF.js takes the default adapter: the same one
      baseline: true,
      gflops: round(gflops, 2),
      ...(compileMs !== undefined ? { compile_ms: round(compileMs, 1) } : {}),
      cpu_ms: round(cpu, 1),
      version: tf.version_core,
    });
  }
  tf.engine().reset();
  return rows;
}

/** The matmul bench case. */
export const matmulBench: BenchCase = {
  kernel: "matmul",
  async run(gpu, log) {
    const other =
      MATMUL_VARIANTS.find((v) => v.name !== pickVariant(gpu, "matmul", MATMUL_VARIANTS).name)!
        .name;
    const specs: Spec[] = [
      { kernel: "matmul", M: 1024, N: 1024, K: 1024, weights: "f32", repeats: 3, inner: 4 },
      { kernel: "linear_packed", M: 1024, N: 1024, K: 1024, weights: "f32", repeats: 3, inner: 4 },
      { kernel: "linear_packed", M: 1024, N: 1024, K: 1024, weights: "f16", repeats: 3, inner: 4 },
      ...(pickVariant(gpu, "matmul", MATMUL_VARIANTS).name === "texture"
        ? [{
          kernel: "linear_packed" as const,
          M: 1024,
          N: 1024,
          K: 1024,
          weights: "f32" as const,
          tile: { tm: 32, tn: TEXTURE_TILE.tn },
          repeats: 3,
          inner: 4,
        }]
        : []),
      { kernel: "matmul", M: 2048, N: 2048, K: 2048, weights: "f32", repeats: 3, inner: 1 },
      { kernel: "linear_packed", M: 2048, N: 4608, K: 1152, weights: "f16", repeats: 3, inner: 1 },
      { kernel: "linear_packed", M: 2048, N: 1152, K: 4608, weights: "f16", repeats: 3, inner: 1 },
      { kernel: "linear_packed", M: 2048, N: 1152, K: 1152, weights: "f16", repeats: 3, inner: 2 },
      { kernel: "linear", M: 2048, N: 1152, K: 1152, weights: "f16", repeats: 3, inner: 2 },
      {
        kernel: "matmul",
        M: 1024,
        N: 1024,
        K: 1024,
        weights: "f32",
        variant: other,
        repeats: 1,
        inner: 1,
      },
    ];
    const rows: BenchRow[] = [];
    for (const s of specs) rows.push(await measure(gpu, s, log));
    rows.push(await naive(gpu, 1024, log));
    const tf = await tfjs(gpu, [1024, 2048], log);
    const ref = (r: BenchRow) => tf[r.case === "1024x1024x1024" ? 0 : 1].gflops!;
    for (const r of rows) r.vs_tfjs = round(r.gflops! / ref(r), 2);
    return [...rows, ...tf];
  },
};
