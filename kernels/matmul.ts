// Matrix products with a fused epilogue: `matmul` for [..., M, K] × [..., K, N] (a 2-D side
// broadcasts over the other's batch) and `linear` for x[..., K] · weight[N, K]^T, PyTorch Linear's
// layout. f32 or f16 storage for any operand, f32 accumulation; the epilogue computes
// act(acc + bias) + residual in f32 and stores the output in the dtype of `a` / `x`.
// CPU twin in matmul_ref.ts. Variants:
// - "texture" (CPU adapters): operands packed into rgba textures, a TEXTURE_TILE block of outputs
//   per invocation in registers (matmul_texture.ts). Falls back to "workgroup_tiled" when K/4 (or
//   N/4 with a residual) exceeds the device's maxTextureDimension2D (K > 32764 at the default
//   8192), and for small unpinned problems (TEXTURE_MIN_MACS); M and N split into texture chunks.
// - "workgroup_tiled" (GPUs): 64×64 workgroup-memory tiles, 4×4 per thread (matmul_tiled.ts).

import { Tensor } from "../tensor/tensor.ts";
import { isFloat } from "../tensor/dtype.ts";
import { type Disposable, keep, scope, track } from "../tensor/scope.ts";
import type { DType } from "../tensor/dtype.ts";
import type { Gpu } from "../tensor/device.ts";
import { formatShape, numel } from "../tensor/shape.ts";
import { type KernelVariant, pickVariant, withVariant } from "./_variant.ts";
import { MATMUL_ACTIVATIONS, type MatmulProblem } from "./matmul_epilogue.ts";
import {
  matmulTexture,
  packWeightTextures,
  type TextureChunk,
  textureFits,
  textureKernelWarm,
} from "./matmul_texture.ts";
import { matmulTiled } from "./matmul_tiled.ts";

/** An activation fused into the epilogue (GELU with the tanh approximation, or SiLU). */
export type MatmulActivation = "gelu_tanh" | "silu";

/** Options of `linear`: the fused epilogue, applied as act(x·Wᵀ + bias) + residual. */
export interface LinearOptions {
  /** Added per output column: shape [N], f32 or f16. */
  bias?: Tensor;
  /** Applied after the bias. */
  activation?: MatmulActivation;
  /** Added last: same shape as the output, f32 or f16. */
  residual?: Tensor;
}

/** Options of `matmul`: the epilogue of `linear`, and whether `b` is stored transposed. */
export interface MatmulOptions extends LinearOptions {
  /** `b` is [..., N, K] (read as its transpose), e.g. keys in q·kᵀ. */
  transposeB?: boolean;
}

/** Matmul variants, in order of preference. */
export const MATMUL_VARIANTS: readonly KernelVariant[] = [
  { name: "texture", suits: ["cpu"] },
  { name: "workgroup_tiled", suits: ["gpu"] },
];

/**
 * A Linear weight [N, K] prepared once for repeated `linear` calls: on CPU adapters it is packed
 * into textures (an f16 weight stays f16), so no call repacks it. Holds a reference to the weight
 * tensor for the other variants. Dispose it (or let a `scope` do so) when done.
 */
export class PackedWeight implements Disposable {
  /** A view of the weight [N, K], kept alive while this is. */
  readonly weight: Tensor;
  #chunks: TextureChunk[] | null;
  #bytes: number;

  /** @internal use packWeight() */
  constructor(weight: Tensor, chunks: TextureChunk[] | null) {
    this.weight = weight;
    this.#chunks = chunks;
    this.#bytes = 0;
    for (const c of chunks ?? []) {
      const t = c.texture;
      this.#bytes += t.width * t.height * (t.format === "rgba32float" ? 16 : 8);
    }
    weight.gpu.memoryAdd(this.#bytes);
    track(this);
  }

  /** [N, K] of the weight. */
  get shape(): readonly number[] {
    return this.weight.shape;
  }

  /** True once disposed. */
  get disposed(): boolean {
    return this.weight.disposed;
  }

  /** @internal the texture chunks (B^T rows), or null when packed for another variant */
  textures(): TextureChunk[] | null {
    if (this.weight.disposed) {
      throw new ReferenceError(`Cannot use packed weight ${this.weight}: it was disposed`);
    }
    return this.#chunks;
  }

  /** Frees the textures (after submitting work that may read them) and the weight view. */
  dispose(): void {
    if (this.weight.disposed) return;
    if (this.#chunks) {
      this.weight.gpu.flush(); // recorded launches may still read the textures
      for (const c of this.#chunks) c.texture.destroy();
      this.weight.gpu.memoryAdd(-this.#bytes);
      this.#chunks = null;
    }
    this.weight.dispose();
  }
}

/**
 * Packs a Linear weight [N, K] for repeated `linear` calls (see PackedWeight).
 *
 * @param weight the weight as PyTorch stores it, [out, in], f32 or f16
 * @returns a handle `linear` accepts in place of the weight
 * @example
 * ```ts ignore
 * const w = packWeight(await weights.get("to_q.weight", [1152, 1152]));
 * const q = linear(x, w, { bias });
 * ```
 */
export function packWeight(weight: Tensor): PackedWeight {
  if (weight.shape.length !== 2 || !isFloat(weight.dtype)) {
    throw new TypeError(
      `Cannot pack weight ${weight}: expected a 2-D f32 or f16 tensor [out, in]`,
    );
  }
  const gpu = weight.gpu;
  const view = keep(weight.reshape(weight.shape)); // owned by the handle, which scopes track
  const v = pickVariant(gpu, "matmul", MATMUL_VARIANTS);
  const chunks = v.name === "texture" && textureFits(gpu, weight.shape[1]) && weight.size > 0
    ? packWeightTextures(weight)
    : null;
  return new PackedWeight(view, chunks);
}

function checkEpilogue(op: string, options: LinearOptions, outShape: number[], N: number): number {
  const { bias, residual, activation } = options;
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== N || !isFloat(bias.dtype))) {
    throw new TypeError(`Cannot ${op} with bias ${bias}: expected a float tensor [${N}]`);
  }
  if (
    residual &&
    (formatShape(residual.shape) !== formatShape(outShape) || !isFloat(residual.dtype))
  ) {
    throw new TypeError(
      `Cannot ${op} with residual ${residual}: expected a float tensor ${formatShape(outShape)}`,
    );
  }
  if (activation === undefined) return MATMUL_ACTIVATIONS.none;
  if (activation !== "gelu_tanh" && activation !== "silu") {
    throw new RangeError(
      `Cannot ${op} with activation "${activation}": expected "gelu_tanh" or "silu"`,
    );
  }
  return MATMUL_ACTIVATIONS[activation];
}

/**
 * Below this many multiply-adds the texture variant is not worth its first-use compile (its
 * generated register-tile kernel takes seconds, under load tens of seconds, in lavapipe's LLVM;
 * Mesa's disk cache keeps it afterwards), so unpinned small problems take the tiled kernel, which
 * compiles in about a second, until a larger problem has compiled the texture kernel on this
 * device (on lavapipe the tiled kernel runs at ~0.3 GFLOP/s against ~10 for the texture one).
 */
export const TEXTURE_MIN_MACS = 2 ** 28;

/**
 * Compiles the texture variant for linear layers with `weightDtype` weights where it is this
 * adapter's preferred variant (CPU adapters), so every later such matmul takes it however small.
 * Model loaders call this: a model runs its small matmuls thousands of times, and below
 * `TEXTURE_MIN_MACS` the tiled kernel is ~30x slower on lavapipe (a 64-token, 192-wide DiT forward
 * took 2.6 s instead of 0.3 s). A no-op where another variant is preferred or pinned.
 */
export async function warmTextureMatmul(gpu: Gpu, weightDtype: DType): Promise<void> {
  if (pickVariant(gpu, "matmul", MATMUL_VARIANTS).name !== "texture") return;
  await withVariant(gpu, "matmul", "texture", () =>
    scope(async () => {
      linear(Tensor.empty(gpu, [1, 4]), Tensor.empty(gpu, [4, 4], weightDtype));
      await gpu.sync();
    }));
}

function run(p: MatmulProblem, packed?: PackedWeight): void {
  const v = pickVariant(p.gpu, "matmul", MATMUL_VARIANTS, `${p.M}x${p.N}x${p.K}`);
  const worth = p.gpu.pinnedVariants.has("matmul") || packed?.textures() ||
    p.M * p.N * p.K >= TEXTURE_MIN_MACS || textureKernelWarm(p);
  const fits = textureFits(p.gpu, p.K) && (!p.residual || textureFits(p.gpu, p.N));
  if (v.name === "texture" && worth && fits) {
    matmulTexture(p, packed?.textures() ?? undefined);
  } else matmulTiled(p);
}

/**
 * Matrix product with a fused epilogue: act(a·b + bias) + residual.
 *
 * @param a [..., M, K], f32 or f16
 * @param b [..., K, N] (or [..., N, K] with `transposeB`); batch dimensions equal to a's, or b
 *   2-D (broadcast over a's batch), or a 2-D (broadcast over b's)
 * @param options bias [N], activation, residual (output shape), transposeB
 * @returns [...batch, M, N] in a's dtype
 * @example
 * ```ts ignore
 * const scores = matmul(q, k, { transposeB: true }); // [B, S, D] x [B, S, D]^T -> [B, S, S]
 * ```
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const what = () => `tensors ${a} and ${b}${options.transposeB ? " (b transposed)" : ""}`;
  if (!isFloat(a.dtype) || !isFloat(b.dtype)) {
    throw new TypeError(`Cannot matmul ${what()}: both must be f32 or f16`);
  }
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new TypeError(`Cannot matmul ${what()}: both need at least 2 dimensions`);
  }
  const [M, K] = a.shape.slice(-2);
  const transB = options.transposeB === true;
  const [bK, N] = transB ? [b.shape.at(-1)!, b.shape.at(-2)!] : b.shape.slice(-2);
  if (K !== bK) {
    throw new TypeError(`Cannot matmul ${what()}: inner dimensions ${K} and ${bK} differ`);
  }
  const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
  if (aBatch.length > 0 && bBatch.length > 0 && formatShape(aBatch) !== formatShape(bBatch)) {
    throw new TypeError(
      `Cannot matmul ${what()}: batch dimensions ${formatShape(aBatch)} and ` +
        `${formatShape(bBatch)} differ`,
    );
  }
  const batchShape = aBatch.length > 0 ? aBatch : bBatch;
  const outShape = [...batchShape, M, N];
  const act = checkEpilogue("matmul", options, outShape, N);
  const out = Tensor.empty(a.gpu, outShape, a.dtype, "matmul");
  run({
    gpu: a.gpu,
    a,
    b,
    out,
    batch: numel(batchShape),
    M,
    N,
    K,
    aBatchStride: aBatch.length > 0 ? M * K : 0,
    bBatchStride: bBatch.length > 0 ? K * N : 0,
    transB,
    bias: options.bias,
    residual: options.residual,
    act,
  });
  return out;
}

/**
 * PyTorch's Linear with a fused epilogue: act(x·weightᵀ + bias) + residual.
 *
 * @param x [..., K], f32 or f16
 * @param weight [N, K] as checkpoints store it (f32 or f16), or a `packWeight` handle
 * @param options bias [N], activation, residual ([..., N])
 * @returns [..., N] in x's dtype
 * @example
 * ```ts ignore
 * const h = linear(x, fc1, { bias: b1, activation: "gelu_tanh" });
 * const y = linear(h, fc2, { bias: b2, residual: x });
 * ```
 */
export function linear(
  x: Tensor,
  weight: Tensor | PackedWeight,
  options: LinearOptions = {},
): Tensor {
  const packed = weight instanceof PackedWeight ? weight : undefined;
  const w = packed ? packed.weight : weight as Tensor;
  if (!isFloat(x.dtype) || !isFloat(w.dtype)) {
    throw new TypeError(`Cannot linear ${x} by weight ${w}: both must be f32 or f16`);
  }
  const K = x.shape.at(-1);
  if (x.shape.length < 1 || w.shape.length !== 2 || w.shape[1] !== K) {
    throw new TypeError(
      `Cannot linear ${x} by weight ${w}: expected x [..., K] and weight [N, K] with the same K`,
    );
  }
  const N = w.shape[0];
  const outShape = [...x.shape.slice(0, -1), N];
  const act = checkEpilogue("linear", options, outShape, N);
  const out = Tensor.empty(x.gpu, outShape, x.dtype, "linear");
  run({
    gpu: x.gpu,
    a: x,
    b: w,
    out,
    batch: 1,
    M: numel(x.shape.slice(0, -1)),
    N,
    K,
    aBatchStride: 0,
    bBatchStride: 0,
    transB: true,
    bias: options.bias,
    residual: options.residual,
    act,
  }, packed);
  return out;
}
