// The safetensors element types we know, their sizes, the writer's ordering, and conversion of
// raw little-endian bytes to f32. Dtype names and order follow huggingface/safetensors
// `safetensors/src/tensor.rs` (`enum Dtype`, declared in increasing alignment order).

import { bf16ArrayToF32, f16ArrayToF32, fp8E4m3Table, fp8E5m2Table } from "./f16.ts";

/** Element types a safetensors header may name, in the reference implementation's enum order. */
export const SAFETENSORS_DTYPES = [
  "BOOL",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "F64",
  "I64",
  "U64",
] as const;

/** A safetensors element type name, e.g. `"F32"` or `"BF16"`. */
export type SafetensorsDtype = typeof SAFETENSORS_DTYPES[number];

const SIZES: Record<SafetensorsDtype, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

const RANK = new Map<string, number>(SAFETENSORS_DTYPES.map((d, i) => [d, i]));

/**
 * Tells whether a string names a known safetensors dtype.
 * @param name the header's `dtype` value
 * @returns true for one of {@link SAFETENSORS_DTYPES}
 * @example isSafetensorsDtype("BF16") === true
 */
export function isSafetensorsDtype(name: unknown): name is SafetensorsDtype {
  return typeof name === "string" && RANK.has(name);
}

/**
 * Bytes per element of a dtype.
 * @param dtype a known dtype
 * @returns 1, 2, 4 or 8
 * @example dtypeSize("F16") === 2
 */
export function dtypeSize(dtype: SafetensorsDtype): number {
  return SIZES[dtype];
}

/**
 * Position of a dtype in the reference enum; the writer puts higher ranks first.
 * @param dtype a known dtype
 * @returns the index in {@link SAFETENSORS_DTYPES}
 */
export function dtypeRank(dtype: SafetensorsDtype): number {
  return RANK.get(dtype)!;
}

/** Returns `bytes` itself when it is aligned to `size`, otherwise an aligned copy. */
function aligned(bytes: Uint8Array, size: number): Uint8Array {
  return bytes.byteOffset % size === 0 ? bytes : bytes.slice();
}

/**
 * Converts little-endian elements of `dtype` to f32. Integers above 2^24 and f64 values are
 * rounded to the nearest f32; BOOL gives 0 or 1; I64/U64 go through BigInt. `bytes.length` must be
 * a multiple of the element size (a whole tensor, or a chunk from `readChunks`).
 * @param dtype the elements' dtype
 * @param bytes the raw bytes
 * @returns a new Float32Array with one value per element
 * @example decodeToF32("BF16", new Uint8Array([0x80, 0x3f])) // [1]
 */
export function decodeToF32(dtype: SafetensorsDtype, bytes: Uint8Array): Float32Array {
  const size = SIZES[dtype];
  if (bytes.length % size !== 0) {
    throw new RangeError(
      `Cannot convert ${dtype} to F32: byte length ${bytes.length} is not a multiple of ${size}`,
    );
  }
  const n = bytes.length / size;
  const b = aligned(bytes, size);
  const buf = b.buffer, off = b.byteOffset;
  switch (dtype) {
    case "F32":
      return new Float32Array(buf.slice(off, off + bytes.length) as ArrayBuffer);
    case "F16":
      return f16ArrayToF32(new Uint16Array(buf, off, n));
    case "BF16":
      return bf16ArrayToF32(new Uint16Array(buf, off, n));
    case "F64":
      return Float32Array.from(new Float64Array(buf, off, n));
    case "F8_E4M3":
    case "F8_E5M2": {
      const table = dtype === "F8_E4M3" ? fp8E4m3Table() : fp8E5m2Table();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[b[i]];
      return out;
    }
    case "BOOL": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = b[i] ? 1 : 0;
      return out;
    }
    case "U8":
      return Float32Array.from(b);
    case "I8":
      return Float32Array.from(new Int8Array(buf, off, n));
    case "I16":
      return Float32Array.from(new Int16Array(buf, off, n));
    case "U16":
      return Float32Array.from(new Uint16Array(buf, off, n));
    case "I32":
      return Float32Array.from(new Int32Array(buf, off, n));
    case "U32":
      return Float32Array.from(new Uint32Array(buf, off, n));
    case "I64":
    case "U64": {
      const src = dtype === "I64"
        ? new BigInt64Array(buf, off, n)
        : new BigUint64Array(buf, off, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(src[i]);
      return out;
    }
  }
}
