// The GPU matmul variant: a 64×64 output tile per workgroup of 16×16 threads, each thread 4×4
// outputs (rows l.y + 16r, columns l.x + 16c, so workgroup-memory reads and output writes stay
// contiguous across threads), K in steps of 16 staged through workgroup memory. Operands are read
// from storage buffers as stored (f32 or f16) with bounds checks, so any M, N, K and any batch
// stride work; it is also the fallback where a texture cannot hold K.

import { withTypes } from "./_wgsl.ts";
import {
  dummyBinding,
  EPILOGUE_STORAGE_WGSL,
  EPILOGUE_WGSL,
  epilogueFlags,
  type MatmulProblem,
} from "./matmul_epilogue.ts";

const TILED_WGSL = /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, flags: u32, outOffset: u32, ldo: u32, biasOffset: u32,
  resOffset: u32, aBatch: u32, bBatch: u32, transB: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> a: array<TA>;
@group(0) @binding(1) var<storage, read> b: array<TB>;
@group(0) @binding(2) var<storage, read_write> out: array<TO>;
@group(0) @binding(3) var<storage, read> biasRaw: array<u32>;
@group(0) @binding(4) var<storage, read> resRaw: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;
${EPILOGUE_WGSL}
${EPILOGUE_STORAGE_WGSL}
var<workgroup> As: array<array<f32, 64>, 16>; // [k][m]
var<workgroup> Bs: array<array<f32, 64>, 16>; // [k][n]
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>,
    @builtin(local_invocation_index) li: u32) {
  let m0 = wg.y * 64u;
  let n0 = wg.x * 64u;
  let aBase = wg.z * p.aBatch;
  let bBase = wg.z * p.bBatch;
  let tb = p.transB != 0u;
  let bias = vec4<f32>(biasAt(n0 + l.x), biasAt(n0 + l.x + 16u), biasAt(n0 + l.x + 32u),
    biasAt(n0 + l.x + 48u));
  var acc = array<vec4<f32>, 4>(bias, bias, bias, bias);
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    for (var e = li; e < 1024u; e += 256u) {
      // consecutive threads walk k for A (rows are k-contiguous) and for B^T, n for B
      let am = e / 16u;
      let ak = e % 16u;
      var av = 0.0;
      if (m0 + am < p.M && k0 + ak < p.K) { av = f32(a[aBase + (m0 + am) * p.K + k0 + ak]); }
      As[ak][am] = av;
      let bn = select(e % 64u, e / 16u, tb);
      let bk = select(e / 64u, e % 16u, tb);
      let gn = n0 + bn;
      let gk = k0 + bk;
      var bv = 0.0;
      if (gn < p.N && gk < p.K) { bv = f32(b[bBase + select(gk * p.N + gn, gn * p.K + gk, tb)]); }
      Bs[bk][bn] = bv;
    }
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) {
      let bv = vec4<f32>(Bs[k][l.x], Bs[k][l.x + 16u], Bs[k][l.x + 32u], Bs[k][l.x + 48u]);
      for (var r = 0u; r < 4u; r++) { acc[r] = fma(vec4<f32>(As[k][l.y + 16u * r]), bv, acc[r]); }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let row = m0 + l.y + 16u * r;
    if (row >= p.M) { break; }
    let orow = wg.z * p.M + row;
    let col = vec4<u32>(n0 + l.x) + vec4<u32>(0u, 16u, 32u, 48u);
    let res = vec4<f32>(resAt(orow, col.x), resAt(orow, col.y), resAt(orow, col.z), resAt(orow, col.w));
    let y = epilogue(acc[r], res);
    for (var c = 0u; c < 4u; c++) {
      if (col[c] < p.N) { out[p.outOffset + orow * p.ldo + col[c]] = TO(y[c]); }
    }
  }
}`;

/** Records the workgroup-tiled variant for a validated problem. */
export function matmulTiled(p: MatmulProblem): void {
  const { gpu, M, N, K } = p;
  if (M === 0 || N === 0 || p.batch === 0) return;
  const program = {
    name: "matmul_tiled",
    op: "matmul",
    wgsl: withTypes(gpu, TILED_WGSL, { TA: p.a.dtype, TB: p.b.dtype, TO: p.out.dtype }),
  };
  const dummy = dummyBinding(gpu);
  const params = new Uint32Array([
    M,
    N,
    K,
    epilogueFlags(p),
    0,
    N,
    0,
    0,
    p.aBatchStride,
    p.bBatchStride,
    p.transB ? 1 : 0,
    0,
  ]);
  gpu.dispatch(
    program,
    [p.a, p.b, p.out, p.bias ?? dummy, p.residual ?? dummy],
    [Math.ceil(N / 64), Math.ceil(M / 64), p.batch],
    params,
  );
}
