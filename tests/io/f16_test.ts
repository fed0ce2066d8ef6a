// io/f16.ts against independent oracles: V8's Float16Array (IEEE binary16, round to nearest even),
// exact bit arithmetic for bfloat16, and hand-checked FP8 values.

import { assert, assertEquals } from "@std/assert";
import {
  bf16ArrayToF32,
  bf16ToF32,
  f16ArrayToF32,
  f16ToF32,
  f32ArrayToF16,
  f32ToBf16,
  f32ToF16,
  fp8E4m3Table,
  fp8E5m2Table,
} from "../../io/f16.ts";
import { rng } from "./_safetensors_helpers.ts";

// deno-lint-ignore no-explicit-any
const Float16 = (globalThis as any).Float16Array as {
  new (b: ArrayBufferLike | number): ArrayLike<number> & { [i: number]: number };
};

function f16Oracle(bits: number): number {
  const u = new Uint16Array([bits]);
  return new Float16(u.buffer)[0];
}

/** f16 bits of `x` rounded by Float16Array (x must already be an f32 value). */
function f16BitsOracle(x: number): number {
  const h = new Float16(1);
  h[0] = x;
  return new Uint16Array((h as unknown as Uint16Array).buffer)[0];
}

function f32FromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

Deno.test("f16ToF32() is exact on all 65536 f16 values", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const arr = f16ArrayToF32(all);
  for (let h = 0; h < 65536; h++) {
    const want = f16Oracle(h);
    const exp = (h >>> 10) & 31, mant = h & 1023, sign = h & 0x8000 ? -1 : 1;
    const analytic = exp === 31
      ? (mant ? NaN : sign * Infinity)
      : sign * (exp ? (1 + mant / 1024) * 2 ** (exp - 15) : mant * 2 ** -24);
    assert(Object.is(f16ToF32(h), want), `f16 0x${h.toString(16)}: ${f16ToF32(h)} vs ${want}`);
    assert(Object.is(arr[h], want));
    assert(Object.is(want, analytic));
  }
});

Deno.test("f32ToF16() round-trips every non-NaN f16 and keeps NaN quiet", () => {
  for (let h = 0; h < 65536; h++) {
    const v = f16ToF32(h);
    if (Number.isNaN(v)) {
      const back = f32ToF16(v);
      assertEquals(back & 0x7e00, 0x7e00, `NaN 0x${h.toString(16)} -> 0x${back.toString(16)}`);
      assertEquals(back & 0x8000, h & 0x8000);
    } else assertEquals(f32ToF16(v), h, `0x${h.toString(16)}`);
  }
});

Deno.test("f32ToF16() rounds every midpoint between adjacent f16 values to even", () => {
  for (let h = 0; h < 0x7bff; h++) {
    const lo = f16ToF32(h), hi = f16ToF32(h + 1);
    const mid = (lo + hi) / 2; // exact in f32: 12 significant bits
    assertEquals(Math.fround(mid), mid);
    const even = h % 2 === 0 ? h : h + 1;
    assertEquals(f32ToF16(mid), even, `tie between 0x${h.toString(16)} and next`);
    assertEquals(f32ToF16(-mid), even | 0x8000);
    assertEquals(f32ToF16(Math.fround(mid * (1 + 2 ** -20))), h + 1);
    assertEquals(f32ToF16(Math.fround(mid * (1 - 2 ** -20))), h);
  }
});

Deno.test("f32ToF16() handles subnormals, overflow, infinities and signed zero", () => {
  const cases: [number, number][] = [
    [0, 0],
    [-0, 0x8000],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie with zero goes to even (zero)
    [Math.fround(2 ** -25 * 1.0000001), 0x0001],
    [3 * 2 ** -25, 0x0002], // 1.5 ulp ties to even (2)
    [3 * 2 ** -26, 0x0001], // 0.75 ulp rounds up
    [2 ** -14 - 2 ** -25, 0x0400], // rounds up into the smallest normal
    [1e-10, 0],
    [-1e-45, 0x8000], // f32 subnormal
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00], // tie at max rounds to infinity (even)
    [1e10, 0x7c00],
    [-Infinity, 0xfc00],
    [Infinity, 0x7c00],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
  ];
  for (const [x, h] of cases) assertEquals(f32ToF16(x), h, `${x}`);
  assert(Number.isNaN(f16ToF32(f32ToF16(NaN))));
});

Deno.test("f32ToF16() matches Float16Array on 200000 random f32 bit patterns", () => {
  const rand = rng(7);
  const bits = new Uint32Array(200000).map(() => (rand() * 2 ** 32) >>> 0);
  const src = new Float32Array(bits.buffer);
  const batch = f32ArrayToF16(src);
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    if (Number.isNaN(x)) {
      assert(Number.isNaN(f16ToF32(batch[i])));
      continue;
    }
    const want = f16BitsOracle(x);
    assertEquals(batch[i], want, `f32 0x${bits[i].toString(16)} (${x})`);
    assertEquals(f32ToF16(x), want);
  }
});

Deno.test("bf16ToF32() is exact on all 65536 bf16 values", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const arr = bf16ArrayToF32(all);
  for (let b = 0; b < 65536; b++) {
    const want = f32FromBits((b << 16) >>> 0);
    assert(Object.is(bf16ToF32(b), want) || (Number.isNaN(want) && Number.isNaN(bf16ToF32(b))));
    assert(Object.is(arr[b], want) || (Number.isNaN(want) && Number.isNaN(arr[b])));
  }
});

/** Nearest-even bf16 by comparing the two candidates' values exactly (as f64). */
function bf16Oracle(x: number): number {
  const bits = new Uint32Array(new Float32Array([x]).buffer)[0];
  const lo = bits >>> 16, hi = (lo + 1) & 0xffff;
  const vlo = bf16ToF32(lo), vhi = bf16ToF32(hi);
  const dlo = Math.abs(x - vlo), dhi = Math.abs(vhi - x);
  if (!Number.isFinite(vhi) && Number.isFinite(x)) {
    // Above the largest finite bf16: round to infinity past the midpoint (as IEEE does).
    const max = bf16ToF32(lo), ulp = max - bf16ToF32(lo - 1);
    const d = Math.abs(x) - Math.abs(max);
    return d > ulp / 2 || (d === ulp / 2 && (lo & 1)) ? hi : lo;
  }
  if (dlo < dhi) return lo;
  if (dhi < dlo) return hi;
  return lo & 1 ? hi : lo;
}

Deno.test("f32ToBf16() rounds to nearest even (ties, overflow, NaN, random values)", () => {
  assertEquals(f32ToBf16(1), 0x3f80);
  assertEquals(f32ToBf16(1 + 2 ** -8), 0x3f80); // tie -> even
  assertEquals(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82); // tie -> even (up)
  assertEquals(f32ToBf16(Math.fround(1 + 2 ** -8 + 2 ** -20)), 0x3f81);
  assertEquals(f32ToBf16(3.4028234663852886e38), 0x7f80); // max f32 rounds to inf
  assertEquals(f32ToBf16(-Infinity), 0xff80);
  assertEquals(f32ToBf16(-0), 0x8000);
  assert(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
  const rand = rng(11);
  for (let i = 0; i < 100000; i++) {
    const x = f32FromBits((rand() * 2 ** 32) >>> 0);
    if (Number.isNaN(x) || !Number.isFinite(x)) continue;
    assertEquals(f32ToBf16(x), bf16Oracle(x), `${x}`);
  }
});

Deno.test("fp8 tables decode E4M3FN and E5M2 bytes", () => {
  const e4 = fp8E4m3Table(), e5 = fp8E5m2Table();
  assertEquals([e4[0x38], e4[0x7e], e4[0xfe], e4[0x01], e4[0x08], e4[0x80]], [
    1,
    448,
    -448,
    2 ** -9,
    2 ** -6,
    -0,
  ]);
  assert(Number.isNaN(e4[0x7f]) && Number.isNaN(e4[0xff]));
  assertEquals(e4.filter(Number.isNaN).length, 2); // no infinities in E4M3FN
  assertEquals([e5[0x3c], e5[0x7b], e5[0x7c], e5[0xfc], e5[0x01]], [
    1,
    57344,
    Infinity,
    -Infinity,
    2 ** -16,
  ]);
  assert(Number.isNaN(e5[0x7d]));
});
