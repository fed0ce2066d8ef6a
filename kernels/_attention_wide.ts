// Looped kernels of cross_attention.ts for heads wider than its unrolled kernels take (the VAE's
// single 512-channel head): the head dim is a loop, so one small pipeline serves every width.
// Each is appended to the matching *_HEAD of cross_attention.ts (Params, bindings, helpers).

/** Scores 4 rows × 4 keys per step; probabilities in a second pass. */
export const PROBS_LOOP = /* wgsl */ `
@group(0) @binding(0) var qt: texture_storage_2d<Q_FORMAT, read>;
override RECOMPUTE: bool = false; // f16 probs cannot hold raw scores: compute them twice
// Every vector and matrix below is indexed by constants: on lavapipe one dynamic index moves a
// variable to per-lane scratch memory, which costs more than the arithmetic.
fn qtexel(i: u32) -> vec4f {
  return textureLoad(qt, vec2u(i & ((1u << p.qwsh) - 1u), i >> p.qwsh));
}
fn keep(kvb: u32, j: u32) -> vec4<bool> {
  return vec4<bool>(!masked(kvb, j), !masked(kvb, j + 1u), !masked(kvb, j + 2u),
      !masked(kvb, j + 3u));
}
fn biasRow(b: u32, h: u32, row: u32, j: u32) -> vec4f {
  if (!HAS_BIAS) { return vec4f(0.0); }
  return vec4f(biasAt(b, h, row, j), biasAt(b, h, row, j + 1u), biasAt(b, h, row, j + 2u),
      biasAt(b, h, row, j + 3u));
}
// Scores (log2 units) of rows i0..i0+3 (columns) against keys j..j+3 (components).
fn scores(b: u32, h: u32, kvb: u32, i0: u32, j: u32) -> mat4x4f {
  let last = p.rows - 1u;
  let qa = vec4u(b * p.qb + h * p.qh) + (p.row0 + min(vec4u(i0) + vec4u(0u, 1u, 2u, 3u),
      vec4u(last))) * p.qs;
  let ka = vec4u(kvb * p.kb + h * p.kh) + min(vec4u(j) + vec4u(0u, 1u, 2u, 3u),
      vec4u(p.sk - 1u)) * p.ks;
  var s = mat4x4f();
  for (var d = 0u; d < p.d4; d++) {
    let k = mat4x4f(ktexel(ka.x + d), ktexel(ka.y + d), ktexel(ka.z + d), ktexel(ka.w + d));
    s[0] += qtexel(qa.x + d) * k;
    s[1] += qtexel(qa.y + d) * k;
    s[2] += qtexel(qa.z + d) * k;
    s[3] += qtexel(qa.w + d) * k;
  }
  return mat4x4f(s[0] * p.scale + biasRow(b, h, i0, j),
      s[1] * p.scale + biasRow(b, h, min(i0 + 1u, last), j),
      s[2] * p.scale + biasRow(b, h, min(i0 + 2u, last), j),
      s[3] * p.scale + biasRow(b, h, min(i0 + 3u, last), j));
}
// Online (max, sum) of one row after 4 more scores.
fn online(ml: vec2f, s: vec4f, ok: vec4<bool>) -> vec2f {
  let sr = select(vec4f(-1e30), s, ok);
  let mn = max(ml.x, max(max(sr.x, sr.y), max(sr.z, sr.w)));
  let e = select(vec4f(0.0), exp2(sr - mn), ok);
  return vec2f(mn, ml.y * exp2(ml.x - mn) + e.x + e.y + e.z + e.w);
}
fn writeRow(i: u32, at: u32, j: u32, x: vec4f) {
  if (i >= p.rows) { return; }
  for (var c = 0u; c < 4u; c++) {
    if (j + c < p.sk) { probs[at + c] = T(x[c]); }
  }
}
fn readRow(at: u32, j: u32) -> vec4f {
  let n = p.sk - 1u - j; // keys past the end read the last one; their probability is 0 anyway
  return vec4f(f32(probs[at]), f32(probs[at + min(1u, n)]), f32(probs[at + min(2u, n)]),
      f32(probs[at + min(3u, n)]));
}
fn probRow(s: vec4f, ml: vec2f, ok: vec4<bool>) -> vec4f {
  let il = select(0.0, 1.0 / ml.y, ml.y > 0.0);
  return select(vec4f(0.0), exp2(s - ml.x) * il, ok);
}
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32) {
  let i0 = (wid.x * WG + li) * 4u;
  if (i0 >= p.rows) { return; }
  let zb = wid.z / p.heads;
  let h = wid.z % p.heads;
  let b = p.b0 + zb;
  let kvb = p.kvmap[zb / 4u][zb % 4u];
  let last = p.rows - 1u;
  let base = (b * p.heads + h) * p.rows; // probs rows of this (batch, head) in the chunk
  let pa = (vec4u(base) + min(vec4u(i0) + vec4u(0u, 1u, 2u, 3u), vec4u(last))) * p.sk;
  var ml0 = vec2f(-1e30, 0.0);
  var ml1 = ml0;
  var ml2 = ml0;
  var ml3 = ml0;
  for (var j = 0u; j < p.sk; j += 4u) {
    let s = scores(b, h, kvb, i0, j);
    let ok = keep(kvb, j);
    ml0 = online(ml0, s[0], ok);
    ml1 = online(ml1, s[1], ok);
    ml2 = online(ml2, s[2], ok);
    ml3 = online(ml3, s[3], ok);
    if (!RECOMPUTE) {
      writeRow(i0, pa.x + j, j, s[0]);
      writeRow(i0 + 1u, pa.y + j, j, s[1]);
      writeRow(i0 + 2u, pa.z + j, j, s[2]);
      writeRow(i0 + 3u, pa.w + j, j, s[3]);
    }
  }
  for (var j = 0u; j < p.sk; j += 4u) {
    var s: mat4x4f;
    if (RECOMPUTE) {
      s = scores(b, h, kvb, i0, j);
    } else {
      s = mat4x4f(readRow(pa.x + j, j), readRow(pa.y + j, j), readRow(pa.z + j, j),
          readRow(pa.w + j, j));
    }
    let ok = keep(kvb, j);
    writeRow(i0, pa.x + j, j, probRow(s[0], ml0, ok));
    writeRow(i0 + 1u, pa.y + j, j, probRow(s[1], ml1, ok));
    writeRow(i0 + 2u, pa.z + j, j, probRow(s[2], ml2, ok));
    writeRow(i0 + 3u, pa.w + j, j, probRow(s[3], ml3, ok));
  }
}`;

/** Accumulates 4 rows × 16 output dims per invocation, 4 keys (a texel of probs) per step. */
export const ATTEND_LOOP = /* wgsl */ `
fn store4(at: u32, first: u32, x: vec4f) {
  for (var c = 0u; c < 4u; c++) {
    if (first + c < p.d) { out[at + c] = T(x[c]); }
  }
}
fn storeRow(i: u32, b: u32, h: u32, t0: u32, a0: vec4f, a1: vec4f, a2: vec4f, a3: vec4f) {
  if (i >= p.rows) { return; }
  let oa = b * p.ob + h * p.oh + (p.row0 + i) * p.os + t0 * 4u;
  store4(oa, t0 * 4u, a0);
  store4(oa + 4u, t0 * 4u + 4u, a1);
  store4(oa + 8u, t0 * 4u + 8u, a2);
  store4(oa + 12u, t0 * 4u + 12u, a3);
}
// acc[t][r] += w[r] · V[key][texel t0 + t], vj holding the key's 4 texel addresses
fn accumulate(acc: ptr<function, array<mat4x4f, 4>>, w: vec4f, vj: vec4u) {
  let v0 = vtexel(vj.x);
  let v1 = vtexel(vj.y);
  let v2 = vtexel(vj.z);
  let v3 = vtexel(vj.w);
  (*acc)[0] += mat4x4f(w.x * v0, w.y * v0, w.z * v0, w.w * v0);
  (*acc)[1] += mat4x4f(w.x * v1, w.y * v1, w.z * v1, w.w * v1);
  (*acc)[2] += mat4x4f(w.x * v2, w.y * v2, w.z * v2, w.w * v2);
  (*acc)[3] += mat4x4f(w.x * v3, w.y * v3, w.z * v3, w.w * v3);
}
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32) {
  let i0 = (wid.x * WG + li) * 4u;
  if (i0 >= p.rows) { return; }
  let t0 = wid.y * 4u;
  let zb = wid.z / p.heads;
  let h = wid.z % p.heads;
  let b = p.b0 + zb;
  let kvb = p.kvmap[zb / 4u][zb % 4u];
  let pa = vec4u(b * p.pb + h * p.ph) + min(vec4u(i0) + vec4u(0u, 1u, 2u, 3u),
      vec4u(p.rows - 1u)) * p.ps;
  let va = vec4u(kvb * p.vb + h * p.vh) + min(vec4u(t0) + vec4u(0u, 1u, 2u, 3u),
      vec4u(p.d4 - 1u));
  var acc = array<mat4x4f, 4>(); // [texel][row]; constant indices only (registers)
  for (var j = 0u; j < p.sk; j += 4u) {
    // rows × keys, transposed so that wt[c] holds key c's weight for the 4 rows
    let wt = transpose(mat4x4f(ptexel(pa.x + j / 4u), ptexel(pa.y + j / 4u),
        ptexel(pa.z + j / 4u), ptexel(pa.w + j / 4u)));
    accumulate(&acc, wt[0], va + vec4u(j * p.vs));
    accumulate(&acc, wt[1], va + vec4u(min(j + 1u, p.sk - 1u) * p.vs));
    accumulate(&acc, wt[2], va + vec4u(min(j + 2u, p.sk - 1u) * p.vs));
    accumulate(&acc, wt[3], va + vec4u(min(j + 3u, p.sk - 1u) * p.vs));
  }
  // constant indices only: one dynamic index would move acc to per-lane scratch memory
  storeRow(i0, b, h, t0, acc[0][0], acc[1][0], acc[2][0], acc[3][0]);
  storeRow(i0 + 1u, b, h, t0, acc[0][1], acc[1][1], acc[2][1], acc[3][1]);
  storeRow(i0 + 2u, b, h, t0, acc[0][2], acc[1][2], acc[2][2], acc[3][2]);
  storeRow(i0 + 3u, b, h, t0, acc[0][3], acc[1][3], acc[2][3], acc[3][3]);
}`;
