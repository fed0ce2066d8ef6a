// Attention.self with { kvBatch, union }: MasaCtrl's Union variant, each row attends to the keys
// and values of its kvBatch row followed by its own. Compared with a plain f64 reference.

import { Tensor } from "../../tensor/tensor.ts";
import { Linear } from "../../model/linear.ts";
import { Attention } from "../../model/pixart/attention.ts";
import { assertClose, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";

const B = 3, N = 5, C = 8, HEADS = 2, D = C / HEADS;

/** x [B, N, C] times Wᵀ (W [C, C], PyTorch's [out, in]). */
function project(x: Float32Array, w: Float32Array): Float64Array {
  const out = new Float64Array(B * N * C);
  for (let r = 0; r < B * N; r++) {
    for (let o = 0; o < C; o++) {
      let s = 0;
      for (let i = 0; i < C; i++) s += x[r * C + i] * w[o * C + i];
      out[r * C + o] = s;
    }
  }
  return out;
}

/** Union attention per row b over keys [kv[b]; b], then to_out. */
function unionRef(x: Float32Array, w: Float32Array[], kv: number[]): Float32Array {
  const [q, k, v] = [0, 1, 2].map((i) => project(x, w[i]));
  const o = new Float32Array(B * N * C);
  for (let b = 0; b < B; b++) {
    const rows = [kv[b], b];
    for (let h = 0; h < HEADS; h++) {
      for (let n = 0; n < N; n++) {
        const scores: number[] = [], vals: number[][] = [];
        for (const r of rows) {
          for (let m = 0; m < N; m++) {
            let s = 0;
            for (let d = 0; d < D; d++) {
              s += q[(b * N + n) * C + h * D + d] * k[(r * N + m) * C + h * D + d];
            }
            scores.push(s / Math.sqrt(D));
            vals.push([...Array(D).keys()].map((d) => v[(r * N + m) * C + h * D + d]));
          }
        }
        const mx = Math.max(...scores), e = scores.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, c) => a + c, 0);
        for (let d = 0; d < D; d++) {
          o[(b * N + n) * C + h * D + d] = e.reduce((a, c, j) => a + c * vals[j][d], 0) / z;
        }
      }
    }
  }
  return Float32Array.from(project(o, w[3]));
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
