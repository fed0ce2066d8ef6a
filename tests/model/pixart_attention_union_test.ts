// Attention.self with { kvBatch, union }: MasaCtrl's Union variant, each row attends to the keys
// and values of its kvBatch row followed by its own. Compared with the f64 CPU references of
// linear and attention over the concatenated keys.

import { Tensor } from "../../tensor/tensor.ts";
import { Linear } from "../../model/linear.ts";
import { Attention } from "../../model/pixart/attention.ts";
import { linearRef } from "../../kernels/matmul_ref.ts";
import { flashAttentionRef } from "../../kernels/flash_attention_ref.ts";
import { assertClose, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";
import { toTokenMajor } from "../kernels/_attention_cases.ts";

const B = 3, N = 5, C = 8, HEADS = 2, D = C / HEADS;

/** Union attention per row b over keys [kv[b]; b], then to_out (f64 CPU references). */
function unionRef(x: Float32Array, w: Float32Array[], kv: number[]): Float64Array {
  const [q, k, v] = [0, 1, 2].map((i) => linearRef(x, [B, N, C], w[i], [C, C]));
  // token-major [B, 2N, C]: row kv[b]'s tokens, then row b's own
  const both = (t: Float64Array) => {
    const out = new Float64Array(B * 2 * N * C);
    for (let b = 0; b < B; b++) {
      out.set(t.subarray(kv[b] * N * C, (kv[b] + 1) * N * C), b * 2 * N * C);
      out.set(t.subarray(b * N * C, (b + 1) * N * C), (b * 2 + 1) * N * C);
    }
    return out;
  };
  const headMajor = (t: ArrayLike<number>, s: number) => toTokenMajor(t, B, HEADS, s, D, true);
  const o = flashAttentionRef(
    headMajor(q, N),
    headMajor(both(k), 2 * N),
    headMajor(both(v), 2 * N),
    {
      batch: B,
      heads: HEADS,
      sq: N,
      sk: 2 * N,
      dim: D,
    },
  );
  return linearRef(toTokenMajor(o, B, HEADS, N, D), [B, N, C], w[3], [C, C]);
}

Deno.test({
  name: "Attention.self({ kvBatch, union }) matches an f64 reference of [K_kv; K_own] attention " +
    "(atol 1e-5, rtol 1e-4)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const w = [1, 2, 3, 4].map((s) => randomArray(C * C, s, -0.5, 0.5));
    const x = randomArray(B * N * C, 5);
    const lin = w.map((a) => new Linear(Tensor.from(gpu, a, [C, C]), undefined));
    const attn = new Attention(lin[0], lin[1], lin[2], lin[3], HEADS);
    const xt = Tensor.from(gpu, x, [B, N, C]);
    const kv = [0, 0, 0];
    const got = await attn.self(xt, { kvBatch: kv, union: true }).toArray();
    assertClose(got, unionRef(x, w, kv), F32_TOL, "union");
    // without union the rows differ from the reference (the test can fail)
    const mutual = await attn.self(xt, { kvBatch: kv }).toArray();
    const ref = unionRef(x, w, kv);
    let far = 0;
    for (let i = N * C; i < ref.length; i++) far = Math.max(far, Math.abs(mutual[i] - ref[i]));
    if (!(far > 1e-3)) throw new Error(`mutual attention equals union (max diff ${far})`);
    attn.dispose();
    xt.dispose();
  },
});
