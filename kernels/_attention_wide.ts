// Looped kernels of cross_attention.ts for heads wider than its unrolled kernels take (the VAE's
// single 512-channel head): the head dim is a loop, so one small pipeline serves every width.
// Each is appended to the matching *_HEAD of cross_attention.ts (Params, bindings, helpers).

/** Scores 4 rows × 4 keys per step; probabilities in a second pass. */
export const PROBS_LOOP = /* wgsl */ `
@group(0) @binding(0) var qt: texture_storage_2d<Q_FORMAT, read>;
override RECOMPUTE: bool = false; // f16 probs cannot hold raw scores: compute them twice
fn qtexel(i: u32) -> vec4f {
  return textureLoad(qt, vec2u(i & ((1u << p.wsh) - 1u), i >> p.wsh));
}
fn keep(kvb: u32, key: u32) -> vec4<bool> {
  var ok = vec4<bool>();
  for (var c = 0u; c < 4u; c++) { ok[c] = !masked(kvb, key + c); }
  return ok;
}
// Scores (log2 units) of rows i0..i0+3 against keys j..j+3; row r in component [r].
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
  for (var r = 0u; r < 4u; r++) {
    s[r] *= p.scale;
    if (HAS_BIAS) {
      for (var c = 0u; c < 4u; c++) { s[r][c] += biasAt(b, h, min(i0 + r, last), j + c); }
    }
  }
  return s;
}
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32) {
  let i0 = (wid.x * WG + li) * 4u;
  if (i0 >= p.rows) { return; }
  let zb = wid.z / p.heads;
  let h = wid.z % p.heads;
  let b = p.b0 + zb;
  let kvb = p.kvmap[zb / 4u][zb % 4u];
  let pa = ((b * p.heads + h) * p.rows + i0) * p.sk; // probs row i0 of this chunk
  var m = vec4f(-1e30);
  var l = vec4f(0.0);
  for (var j = 0u; j < p.sk; j += 4u) {
    let s = scores(b, h, kvb, i0, j);
    let ok = keep(kvb, j);
    for (var r = 0u; r < 4u; r++) {
      let sr = select(vec4f(-1e30), s[r], ok);
      let mn = max(m[r], max(max(sr.x, sr.y), max(sr.z, sr.w)));
      let e = select(vec4f(0.0), exp2(sr - mn), ok);
      l[r] = l[r] * exp2(m[r] - mn) + e.x + e.y + e.z + e.w;
      m[r] = mn;
      if (!RECOMPUTE && i0 + r < p.rows) {
        for (var c = 0u; c < 4u; c++) {
          if (j + c < p.sk) { probs[pa + r * p.sk + j + c] = T(s[r][c]); }
        }
      }
    }
  }
  let il = select(vec4f(0.0), 1.0 / l, l > vec4f(0.0));
  for (var j = 0u; j < p.sk; j += 4u) {
    var s = mat4x4f();
    if (RECOMPUTE) { s = scores(b, h, kvb, i0, j); }
    let ok = keep(kvb, j);
    for (var r = 0u; r < 4u; r++) {
      if (i0 + r >= p.rows) { break; }
      for (var c = 0u; c < 4u; c++) {
        let at = pa + r * p.sk + j + c;
        if (j + c < p.sk) {
          var x = s[r][c];
          if (!RECOMPUTE) { x = f32(probs[at]); }
          probs[at] = T(select(0.0, exp2(x - m[r]) * il[r], ok[c]));
        }
      }
    }
  }
}`;

/** Accumulates 4 rows × 16 output dims per invocation. */
export const ATTEND_LOOP = /* wgsl */ `
// Each invocation: rows i0..i0+3 of one (batch, head) × output texels t0..t0+3 (16 dims).
@compute @workgroup_size(WG) fn main(@builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32) {
  let i0 = (wid.x * WG + li) * 4u;
  if (i0 >= p.rows) { return; }
  let t0 = wid.y * 4u;
  let zb = wid.z / p.heads;
  let h = wid.z % p.heads;
  let b = p.b0 + zb;
  let kvb = p.kvmap[zb / 4u][zb % 4u];
  let last = p.rows - 1u;
  let pa = (vec4u((b * p.heads + h) * p.rows) + min(vec4u(i0) + vec4u(0u, 1u, 2u, 3u),
      vec4u(last))) * p.sk;
  let tl = p.d4 - 1u;
  let va = vec4u(kvb * p.vb + h * p.vh) + min(vec4u(t0) + vec4u(0u, 1u, 2u, 3u), vec4u(tl));
  var acc = array<mat4x4f, 4>(); // [texel][row]
  for (var j = 0u; j < p.sk; j++) {
    let w = vec4f(f32(probs[pa.x + j]), f32(probs[pa.y + j]), f32(probs[pa.z + j]),
        f32(probs[pa.w + j]));
    let vj = va + vec4u(j * p.vs);
    let v = mat4x4f(vtexel(vj.x), vtexel(vj.y), vtexel(vj.z), vtexel(vj.w));
    acc[0] += mat4x4f(w.x * v[0], w.y * v[0], w.z * v[0], w.w * v[0]);
    acc[1] += mat4x4f(w.x * v[1], w.y * v[1], w.z * v[1], w.w * v[1]);
    acc[2] += mat4x4f(w.x * v[2], w.y * v[2], w.z * v[2], w.w * v[2]);
    acc[3] += mat4x4f(w.x * v[3], w.y * v[3], w.z * v[3], w.w * v[3]);
  }
  for (var r = 0u; r < 4u; r++) {
    if (i0 + r >= p.rows) { break; }
    let oa = b * p.ob + h * p.oh + (p.row0 + i0 + r) * p.os;
    for (var t = 0u; t < 4u; t++) {
      for (var c = 0u; c < 4u; c++) {
        let d = (t0 + t) * 4u + c;
        if (d < p.d) { out[oa + d] = T(acc[t][r][c]); }
      }
    }
  }
}`;
