// CPU reference for kernels/matmul.ts: plain loops in f64, same shapes and epilogue order
// act(a·b + bias) + residual.

import type { MatmulActivation } from "./matmul.ts";

/** Host operands and epilogue of a reference product. */
export interface MatmulRefOptions {
  /** b is [..., N, K]. */
  transposeB?: boolean;
  /** [N] */
  bias?: ArrayLike<number>;
  activation?: MatmulActivation;
  /** Output shape. */
  residual?: ArrayLike<number>;
}

function activate(v: number, act?: MatmulActivation): number {
  if (act === "gelu_tanh") {
    return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  }
  if (act === "silu") return v / (1 + Math.exp(-v));
  return v;
}

/**
 * `matmul` on host data: a [...batch?, M, K] × b [...batch?, K, N] (either side 2-D broadcasts).
 * @returns the output values, [...batch, M, N] row-major
 */
export function matmulRef(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  options: MatmulRefOptions = {},
): Float64Array {
  const [M, K] = aShape.slice(-2);
  const N = options.transposeB ? bShape.at(-2)! : bShape.at(-1)!;
  const aBatch = aShape.slice(0, -2).reduce((x, y) => x * y, 1);
  const bBatch = bShape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batch = Math.max(aBatch, bBatch);
  const out = new Float64Array(batch * M * N);
  for (let g = 0; g < batch; g++) {
    const ao = aShape.length > 2 ? g * M * K : 0, bo = bShape.length > 2 ? g * K * N : 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          acc += a[ao + i * K + k] * b[bo + (options.transposeB ? j * K + k : k * N + j)];
        }
        if (options.bias) acc += options.bias[j];
        acc = activate(acc, options.activation);
        const o = (g * M + i) * N + j;
        if (options.residual) acc += options.residual[o];
        out[o] = acc;
      }
    }
  }
  return out;
}

/** `linear` on host data: x [..., K] · w [N, K]ᵀ. @returns [..., N] row-major */
export function linearRef(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  options: Omit<MatmulRefOptions, "transposeB"> = {},
): Float64Array {
  const K = xShape.at(-1)!;
  const rows = K === 0 ? xShape.slice(0, -1).reduce((p, d) => p * d, 1) : x.length / K;
  return matmulRef(x, [rows, K], w, wShape, { ...options, transposeB: true });
}
