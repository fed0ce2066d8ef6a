// The matmul problem as both variants see it, and the fused epilogue they share:
// y = act(acc + bias[col]) + residual[row, col], in f32, then stored as the output dtype.
// Bias and residual are bound as raw u32 words and decoded by a uniform flag (f32 bits, or two
// f16 halves per word), so one compiled pipeline serves every dtype mix of them.

import type { Gpu } from "../tensor/device.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** Activations the epilogue can apply, numbered as the shader's flag bits 4-5. */
export const MATMUL_ACTIVATIONS = { none: 0, gelu_tanh: 1, silu: 2 } as const;

/**
 * One (batched) product out[g] = epilogue(A[g] · B[g]) as the variants receive it, validated.
 * A[g] is [M, K] row-major at `aOffset + g·aBatchStride` (elements); B[g] is [K, N], or [N, K]
 * when `transB`, at `g·bBatchStride`. A stride of 0 broadcasts. out[g] is [M, N] at `g·M·N`.
 */
export interface MatmulProblem {
  gpu: Gpu;
  a: Tensor;
  b: Tensor;
  out: Tensor;
  batch: number;
  M: number;
  N: number;
  K: number;
  aBatchStride: number;
  bBatchStride: number;
  transB: boolean;
  bias?: Tensor;
  residual?: Tensor;
  /** MATMUL_ACTIVATIONS value. */
  act: number;
}

/** Epilogue flag word: bit 0 bias, bit 1 bias is f16, bit 2 residual, bit 3 residual is f16. */
export function epilogueFlags(p: MatmulProblem): number {
  let f = p.act << 4;
  if (p.bias) f |= 1 | (p.bias.elementBytes === 2 ? 2 : 0);
  if (p.residual) f |= 4 | (p.residual.elementBytes === 2 ? 8 : 0);
  return f;
}

const dummies = new WeakMap<Gpu, GPUBuffer>();

/** A tiny storage buffer bound in place of an absent bias or residual. */
export function dummyBinding(gpu: Gpu): GPUBufferBinding {
  let buf = dummies.get(gpu);
  if (!buf) {
    buf = gpu.device.createBuffer({
      label: "matmul dummy",
      size: 16,
      usage: GPUBufferUsage.STORAGE,
    });
    dummies.set(gpu, buf);
  }
  return { buffer: buf, offset: 0, size: 16 };
}

/**
 * WGSL `epilogue(v, res)` on 4 outputs: the activation (flag bits 4-5), then the residual `res`
 * (masked unless flag bit 2), in f32. Branch-free. Variants start accumulators from the bias.
 */
export const EPILOGUE_WGSL = /* wgsl */ `
fn epilogue(v: vec4<f32>, res: vec4<f32>) -> vec4<f32> {
  let act = (p.flags >> 4u) & 3u;
  // GELU: tanh through exp of a clamped argument (WGSL tanh overflows to NaN on some drivers)
  let u = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), vec4<f32>(-15.0), vec4<f32>(15.0));
  let e = exp(2.0 * u);
  let gelu = 0.5 * v * (1.0 + (e - 1.0) / (e + 1.0));
  let silu = v / (1.0 + exp(-v));
  let y = select(select(v, gelu, act == 1u), silu, act == 2u);
  return y + select(vec4<f32>(0.0), res, (p.flags & 4u) != 0u);
}`;

/**
 * WGSL reading bias and residual from storage buffers `biasRaw`, `resRaw: array<u32>` as raw
 * words (f32 bits, or two f16 halves by flag bits 1 and 3): `biasAt(col)` (0 without a bias) at
 * p.biasOffset + col, `resAt(row, col)` at p.resOffset + row·p.ldo + col. An absent input reads a
 * dummy binding (robust access keeps it in bounds) and is masked.
 */
export const EPILOGUE_STORAGE_WGSL = /* wgsl */ `
fn rawAt(w: u32, i: u32, half: bool) -> f32 {
  return select(bitcast<f32>(w), unpack2x16float(w)[i & 1u], half);
}
fn biasAt(col: u32) -> f32 {
  let i = p.biasOffset + col;
  let half = (p.flags & 2u) != 0u;
  return select(0.0, rawAt(biasRaw[select(i, i >> 1u, half)], i, half), (p.flags & 1u) != 0u);
}
fn resAt(row: u32, col: u32) -> f32 {
  let i = p.resOffset + row * p.ldo + col;
  let half = (p.flags & 8u) != 0u;
  return rawAt(resRaw[select(i, i >> 1u, half)], i, half);
}`;
