// Data types a Tensor can hold, and how each is laid out in a GPU buffer.

/** Logical element types. `f16` is stored as f16 only where the adapter has `shader-f16`. */
export type DType = "f32" | "f16" | "i32" | "u32";

/** The host array type that uploads take and readbacks return for each dtype. */
export type HostArray<D extends DType> = D extends "i32" ? Int32Array
  : D extends "u32" ? Uint32Array
  : Float32Array;

/** Bytes per element as stored on the device. */
export function storageBytes(dtype: DType, f16Storage: boolean): number {
  return dtype === "f16" && f16Storage ? 2 : 4;
}

/** The WGSL scalar type a kernel reads for a dtype given the storage choice. */
export function wgslType(dtype: DType, f16Storage: boolean): "f32" | "f16" | "i32" | "u32" {
  if (dtype === "f16") return f16Storage ? "f16" : "f32";
  return dtype;
}

/** True for dtypes that hold real numbers. */
export function isFloat(dtype: DType): boolean {
  return dtype === "f32" || dtype === "f16";
}

/** Throws a TypeError unless `value` names a dtype. */
export function checkDType(value: string): DType {
  if (value === "f32" || value === "f16" || value === "i32" || value === "u32") return value;
  throw new TypeError(`Cannot use dtype "${value}": expected one of "f32", "f16", "i32", "u32"`);
}

// --- f16 conversion on the host (round to nearest even, subnormals, inf and NaN kept)

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Converts one f32 value to its f16 bit pattern, rounding to nearest even. */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf or NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow to signed zero
    mant |= 0x800000; // subnormal: shift in the implicit bit, then round
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  const m = mant >>> 13;
  const rest = mant & 0x1fff;
  let out = sign | (e << 10) | m;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) out++; // may carry into the exponent: correct
  return out;
}

/** Converts an f16 bit pattern to the f32 value it encodes (exactly). */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Rounds every value to the nearest f16 (what an f16-stored tensor holds). */
export function roundToF16(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16BitsToF32(f32ToF16Bits(values[i]));
  return out;
}
