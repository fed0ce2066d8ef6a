// The scores kernel of tome_plan.ts: S = A·Bᵀ between L2-normalised sources (texture rows, texel =
// 4 channels) and destinations (transposed: texture row = channel, texel = 4 destinations), keeping
// each source's running max and first argmax. Each invocation holds a register block of R sources ×
// 4·J destinations, so one fetch feeds many FMAs (lavapipe reads textures ~3-9x faster than storage
// buffers; see shared/peers). Destinations can be split into chunks for parallelism on GPUs, then
// REDUCE_WGSL combines the chunk maxima in destination order.

import type { KernelVariant } from "./_variant.ts";

/** One way to run the scores kernel: its register block and how destinations are split. */
export interface TomeScoresVariant extends KernelVariant {
  /** Sources per invocation. */
  rows: number;
  /** Destination texels (4 destinations each) per step. */
  cols: number;
  /** Destinations per chunk (0: one chunk, no reduce pass). */
  chunk: number;
  /** Invocations per workgroup. */
  wg: number;
}

/** Scores-kernel variants, in order of preference. */
export const TOME_SCORES_VARIANTS: readonly TomeScoresVariant[] = [
  // lavapipe: a big register block, all destinations per invocation (one SIMD lane each)
  { name: "texture_rows", suits: ["cpu"], rows: 32, cols: 4, chunk: 0, wg: 8 },
  // GPUs: small blocks and 256-destination chunks for parallelism, then a reduce pass
  { name: "texture_chunked", suits: ["gpu"], rows: 4, cols: 2, chunk: 256, wg: 64 },
];

/**
 * The scores kernel for a register block of `rows` sources × `4·cols` destinations, unrolled
 * (lavapipe keeps unrolled accumulators in registers; WGSL arrays indexed in loops spill).
 */
export function scoresWgsl(rows: number, cols: number): string {
  const R = [...Array(rows).keys()], J = [...Array(cols).keys()], Q = [0, 1, 2, 3];
  const lanes = ["x", "y", "z", "w"];
  const L: string[] = [];
  for (const i of R) {
    L.push(`  let r${i} = min(a0 + ${i}u, p.ns - 1u);`);
    L.push(`  let x${i} = (r${i} % p.fold) * p.c4; let y${i} = r${i} / p.fold;`);
    L.push(`  var m${i} = -3.402823e38; var k${i} = 0u;`);
  }
  L.push(`  for (var d4 = d0; d4 < d1; d4 += ${cols}u) {`);
  for (const j of J) L.push(`    let e${j} = min(d4 + ${j}u, p.w4 - 1u);`);
  for (const i of R) for (const j of J) L.push(`    var s${i}_${j} = vec4f(0.0);`);
  L.push(`    for (var k4 = 0u; k4 < p.c4; k4++) {`, `      let ky = k4 * 4u;`);
  for (const q of Q) {
    for (const j of J) {
      L.push(`      let b${q}_${j} = textureLoad(dstT, vec2u(e${j}, ky + ${q}u), b, 0);`);
    }
  }
  for (const i of R) {
    L.push(`      let a${i} = textureLoad(srcT, vec2u(x${i} + k4, y${i}), b, 0);`);
    for (const j of J) {
      const e = Q.reduce(
        (acc, q) => `fma(vec4f(a${i}.${lanes[q]}), b${q}_${j}, ${acc})`,
        `s${i}_${j}`,
      );
      L.push(`      s${i}_${j} = ${e};`);
    }
  }
  L.push(`    }`);
  for (const j of J) {
    L.push(`    let dd${j} = (d4 + ${j}u) * 4u;`);
    L.push(
      `    let ok${j} = (vec4u(dd${j}) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.nd)) & vec4<bool>(d4 + ${j}u < d1);`,
    );
  }
  for (const i of R) {
    for (const j of J) {
      L.push(`    { let v = select(vec4f(-3.402823e38), s${i}_${j}, ok${j});`);
      for (const q of Q) {
        const s = `v.${lanes[q]}`;
        L.push(
          `      let g${q} = ${s} > m${i}; m${i} = select(m${i}, ${s}, g${q}); k${i} = select(k${i}, dd${j} + ${q}u, g${q});`,
        );
      }
      L.push(`    }`);
    }
  }
  L.push(`  }`);
  for (const i of R) {
    L.push(
      `  if (a0 + ${i}u < p.ns) { best[o + a0 + ${i}u] = m${i}; bestIdx[o + a0 + ${i}u] = ` +
        `i32(k${i}); }`,
    );
  }
  return /* wgsl */ `
struct Params { ns: u32, nd: u32, c4: u32, fold: u32, chunk4: u32, w4: u32, chunks: u32, p0: u32 }
@group(0) @binding(0) var srcT: texture_2d_array<f32>;
@group(0) @binding(1) var dstT: texture_2d_array<f32>;
@group(0) @binding(2) var<storage, read_write> best: array<f32>;
@group(0) @binding(3) var<storage, read_write> bestIdx: array<i32>;
@group(0) @binding(4) var<uniform> p: Params;
override WG: u32 = 8;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let a0 = gid.x * ${rows}u;
  if (a0 >= p.ns) { return; }
  let b = gid.z;
  let o = (b * p.chunks + gid.y) * p.ns; // [B, chunks, ns]
  let d0 = gid.y * p.chunk4;
  let d1 = min(d0 + p.chunk4, p.w4);
${L.join("\n")}
}`;
}

export const REDUCE_WGSL = /* wgsl */ `
struct Params { ns: u32, chunks: u32 }
@group(0) @binding(0) var<storage, read> partBest: array<f32>;
@group(0) @binding(1) var<storage, read> partIdx: array<i32>;
@group(0) @binding(2) var<storage, read_write> best: array<f32>;
@group(0) @binding(3) var<storage, read_write> bestIdx: array<i32>;
@group(0) @binding(4) var<uniform> p: Params;
override WG: u32 = 64;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let a = gid.x;
  if (a >= p.ns) { return; }
  let b = gid.z;
  var m = -3.402823e38;
  var k = 0;
  for (var ch = 0u; ch < p.chunks; ch++) { // chunks in destination order: first maximum wins
    let i = (b * p.chunks + ch) * p.ns + a;
    if (partBest[i] > m) { m = partBest[i]; k = partIdx[i]; }
  }
  best[b * p.ns + a] = m;
  bestIdx[b * p.ns + a] = k;
}`;
