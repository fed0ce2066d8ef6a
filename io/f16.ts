// Host-side conversions between f32 and the 16- and 8-bit float formats found in safetensors files
// (IEEE binary16, bfloat16, OCP FP8 E4M3FN and E5M2). f32 -> 16-bit rounds to nearest, ties to
// even, keeps subnormals, overflows to infinity and keeps NaN quiet, as PyTorch's `.half()` does.

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

let f16Table: Uint32Array | undefined;

/** f32 bit patterns of all 65536 f16 values, built on first use (256 KiB). */
function f16ToF32Table(): Uint32Array {
  if (f16Table) return f16Table;
  const table = new Uint32Array(65536);
  const f = new Float32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) table[h] = sign | 0x7f800000 | (mant << 13); // inf, NaN (payload kept)
    else if (exp !== 0) table[h] = sign | ((exp + 112) << 23) | (mant << 13);
    else f[h] = (sign ? -1 : 1) * mant * 2 ** -24; // zero and subnormals, exact in f32
  }
  f16Table = table;
  return table;
}

/**
 * Converts one f16 bit pattern to its value.
 * @param bits f16 bits in the low 16 bits
 * @returns the value (exact: every f16 is representable in f32)
 * @example f16ToF32(0x3c00) === 1
 */
export function f16ToF32(bits: number): number {
  u32Scratch[0] = f16ToF32Table()[bits & 0xffff];
  return f32Scratch[0];
}

/**
 * Converts an array of f16 bit patterns to f32.
 * @param src f16 bits
 * @param dst optional output of the same length
 * @returns `dst`, or a new array
 * @example f16ArrayToF32(new Uint16Array([0x3c00, 0xc000])) // [1, -2]
 */
export function f16ArrayToF32(src: Uint16Array, dst?: Float32Array): Float32Array {
  const out = dst ?? new Float32Array(src.length);
  const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const table = f16ToF32Table();
  for (let i = 0; i < src.length; i++) u[i] = table[src[i]];
  return out;
}

/** Rounds f32 bits to f16 bits (nearest, ties to even). */
function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf, quiet NaN
  const e = exp - 112; // f16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal result: value / 2^-24 = (1.mant) * 2^(e + 9); shift right by 14 - e.
    const shift = 14 - e;
    if (shift > 24) return sign; // below half the smallest subnormal
    const full = mant | 0x800000;
    const half = 1 << (shift - 1);
    const rest = full & ((1 << shift) - 1);
    let m = full >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++; // may carry into the smallest normal
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // carry may reach infinity, as it should
  return h;
}

/**
 * Converts a number to f16 bits. The number is first rounded to f32, so this matches an f32 -> f16
 * cast (not a direct f64 -> f16 one, which can differ by double rounding).
 * @param value the number
 * @returns f16 bits, rounded to nearest even
 * @example f32ToF16(1) === 0x3c00
 */
export function f32ToF16(value: number): number {
  f32Scratch[0] = value;
  return f32BitsToF16(u32Scratch[0]);
}

/**
 * Converts an f32 array to f16 bit patterns.
 * @param src f32 values
 * @param dst optional output of the same length
 * @returns `dst`, or a new array
 * @example f32ArrayToF16(new Float32Array([1, 65520])) // [0x3c00, 0x7c00]
 */
export function f32ArrayToF16(src: Float32Array, dst?: Uint16Array): Uint16Array {
  const out = dst ?? new Uint16Array(src.length);
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16(u[i]);
  return out;
}

/**
 * Converts one bfloat16 bit pattern to its value (bf16 is the top half of an f32).
 * @param bits bf16 bits in the low 16 bits
 * @returns the value
 * @example bf16ToF32(0x3f80) === 1
 */
export function bf16ToF32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0];
}

/**
 * Converts an array of bfloat16 bit patterns to f32.
 * @param src bf16 bits
 * @param dst optional output of the same length
 * @returns `dst`, or a new array
 * @example bf16ArrayToF32(new Uint16Array([0x3f80])) // [1]
 */
export function bf16ArrayToF32(src: Uint16Array, dst?: Float32Array): Float32Array {
  const out = dst ?? new Float32Array(src.length);
  const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) u[i] = src[i] << 16;
  return out;
}

/**
 * Converts a number to bfloat16 bits (via f32, nearest, ties to even; NaN stays a quiet NaN).
 * @param value the number
 * @returns bf16 bits
 * @example f32ToBf16(1) === 0x3f80
 */
export function f32ToBf16(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

let e4m3Table: Float32Array | undefined;
let e5m2Table: Float32Array | undefined;

/**
 * Values of all 256 FP8 E4M3FN bytes (bias 7, no infinities, NaN at S.1111.111), as
 * `torch.float8_e4m3fn` and safetensors `F8_E4M3` use.
 * @returns a 256-entry table indexed by the byte
 * @example fp8E4m3Table()[0x38] === 1
 */
export function fp8E4m3Table(): Float32Array {
  if (e4m3Table) return e4m3Table;
  const t = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    const s = b & 0x80 ? -1 : 1;
    const exp = (b >>> 3) & 0xf;
    const mant = b & 7;
    if (exp === 0xf && mant === 7) t[b] = NaN;
    else if (exp === 0) t[b] = s * mant * 2 ** -9;
    else t[b] = s * (1 + mant / 8) * 2 ** (exp - 7);
  }
  return e4m3Table = t;
}

/**
 * Values of all 256 FP8 E5M2 bytes (the top byte of an f16), as `torch.float8_e5m2` and
 * safetensors `F8_E5M2` use.
 * @returns a 256-entry table indexed by the byte
 * @example fp8E5m2Table()[0x3c] === 1
 */
export function fp8E5m2Table(): Float32Array {
  if (e5m2Table) return e5m2Table;
  const t = new Float32Array(256);
  for (let b = 0; b < 256; b++) t[b] = f16ToF32(b << 8);
  return e5m2Table = t;
}
