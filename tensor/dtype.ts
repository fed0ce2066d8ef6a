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

// --- f16 conversion on the host lives in io/f16.ts (exhaustively tested); re-exported here under
// the runtime's names.

import { f16ToF32, f32ToF16 } from "../io/f16.ts";

/** Converts one f32 value to its f16 bit pattern, rounding to nearest even. */
export const f32ToF16Bits: (value: number) => number = f32ToF16;

/** Converts an f16 bit pattern to the f32 value it encodes (exactly). */
export const f16BitsToF32: (bits: number) => number = f16ToF32;

/** Rounds every value to the nearest f16 (what an f16-stored tensor holds). */
export function roundToF16(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16BitsToF32(f32ToF16Bits(values[i]));
  return out;
}
