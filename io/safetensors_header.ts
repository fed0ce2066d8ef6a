// Validating parser for the safetensors header: 8-byte little-endian length N, N bytes of UTF-8
// JSON, then the data area. Rules follow huggingface/safetensors `tensor.rs` (`read_metadata`,
// `Metadata::validate`): N <= 100 MB, entries sorted by offsets tile the data area exactly.

import { dtypeSize, isSafetensorsDtype, type SafetensorsDtype } from "./safetensors_dtype.ts";

/** The largest header the reference implementation accepts (`MAX_HEADER_SIZE`). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Thrown for every malformed safetensors file or bad access to one; callers may catch it. */
export class SafetensorsError extends Error {
  /** @param message what failed, naming the file, the key and the rule */
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

/** Where one tensor lives in its file. */
export interface TensorInfo {
  /** Element type as written in the header. */
  dtype: SafetensorsDtype;
  /** Dimensions, outermost first (C order); `[]` is a scalar. */
  shape: number[];
  /** Absolute byte offset of the first element in the file. */
  byteOffset: number;
  /** Number of bytes: product(shape) * dtypeSize(dtype). */
  byteLength: number;
  /** The file holding the tensor, as given to the reader. */
  file: string;
}

/** A parsed and validated header. */
export interface SafetensorsHeader {
  /** The header's JSON length N (the file's data area starts at 8 + N). */
  headerLength: number;
  /** `__metadata__`, or an empty object when absent. */
  metadata: Record<string, string>;
  /** Tensors by key, in increasing file offset order. */
  tensors: Map<string, TensorInfo>;
}

function fail(name: string, rule: string): never {
  throw new SafetensorsError(`Cannot read safetensors header of "${name}": ${rule}`);
}

/**
 * Reads and checks the header length N from the first 8 bytes.
 * @param first8 the file's first 8 bytes (or more)
 * @param fileSize the whole file's size in bytes
 * @param name the file name used in error messages
 * @returns N, with 2 <= N <= 100 MB and 8 + N <= fileSize
 * @example parseHeaderLength(bytes.subarray(0, 8), bytes.length, "x.safetensors")
 */
export function parseHeaderLength(first8: Uint8Array, fileSize: number, name: string): number {
  if (fileSize < 8 || first8.length < 8) {
    fail(name, `file size ${fileSize} is smaller than the 8-byte length prefix`);
  }
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) fail(name, `header length ${n} exceeds file size ${fileSize}`);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    fail(name, `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (n < 2n) fail(name, `header length ${n} is below the minimum of 2 ("{}")`);
  return Number(n);
}

/** product(shape) * size, or -1 when it passes Number.MAX_SAFE_INTEGER at any step. */
function checkedByteLength(shape: number[], size: number): number {
  let n = 1;
  for (const d of shape) {
    n *= d; // exact while the true product stays safe; otherwise the float result exceeds it too
    if (n > Number.MAX_SAFE_INTEGER) return -1;
  }
  n *= size;
  return n > Number.MAX_SAFE_INTEGER ? -1 : n;
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

function parseEntry(
  name: string,
  key: string,
  entry: unknown,
  dataStart: number,
  dataSize: number,
): TensorInfo {
  const bad: (rule: string) => never = (rule) => fail(name, `tensor "${key}" ${rule}`);
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    bad(`is ${describe(entry)}, expected an object with dtype, shape and data_offsets`);
  }
  const fields = Object.keys(entry);
  for (const f of ["dtype", "shape", "data_offsets"]) {
    if (!Object.hasOwn(entry, f)) bad(`lacks the field "${f}"`);
  }
  const extra = fields.filter((f) => f !== "dtype" && f !== "shape" && f !== "data_offsets");
  if (extra.length) bad(`has the unknown field "${extra[0]}"`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (!isSafetensorsDtype(dtype)) bad(`has unknown dtype ${describe(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    bad(`has shape ${describe(shape)}, expected an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    bad(`has data_offsets ${describe(offsets)}, expected two non-negative integers`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) bad(`has data_offsets [${begin}, ${end}] with begin after end`);
  if (end > dataSize) {
    bad(`has data_offsets [${begin}, ${end}] past the end of the ${dataSize}-byte data area`);
  }
  const bytes = checkedByteLength(shape, dtypeSize(dtype));
  if (bytes < 0) bad(`has shape ${describe(shape)} whose byte size overflows`);
  if (bytes !== end - begin) {
    bad(
      `has shape ${describe(shape)} of ${dtype} needing ${bytes} bytes but data_offsets ` +
        `[${begin}, ${end}] span ${end - begin}`,
    );
  }
  return {
    dtype,
    shape: shape.slice(),
    byteOffset: dataStart + begin,
    byteLength: bytes,
    file: name,
  };
}

/**
 * Validates the header JSON and the layout of the data area.
 * @param header the N header bytes (without the 8-byte prefix)
 * @param fileSize the whole file's size in bytes
 * @param name the file name used in error messages
 * @returns the parsed header; throws {@link SafetensorsError} on any violation
 * @example parseHeaderJson(bytes.subarray(8, 8 + n), bytes.length, "x.safetensors")
 */
export function parseHeaderJson(
  header: Uint8Array,
  fileSize: number,
  name: string,
): SafetensorsHeader {
  const n = header.length;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(header);
  } catch {
    fail(name, "header is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(name, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(name, `header is ${describe(json)}, expected a JSON object`);
  }
  const metadata: Record<string, string> = {};
  const dataStart = 8 + n;
  const dataSize = fileSize - dataStart;
  const entries: [string, TensorInfo][] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail(name, `__metadata__ is ${describe(value)}, expected an object of strings`);
      }
      for (const [mk, mv] of Object.entries(value)) {
        if (typeof mv !== "string") {
          fail(name, `__metadata__ key "${mk}" is ${describe(mv)}, expected a string`);
        }
        Object.defineProperty(metadata, mk, { value: mv, enumerable: true, writable: true });
      }
    } else {
      entries.push([key, parseEntry(name, key, value, dataStart, dataSize)]);
    }
  }
  entries.sort((a, b) => a[1].byteOffset - b[1].byteOffset || a[1].byteLength - b[1].byteLength);
  let cursor = dataStart;
  for (const [key, info] of entries) {
    const begin = info.byteOffset - dataStart;
    if (info.byteOffset > cursor) {
      fail(
        name,
        `tensor "${key}" starts at data offset ${begin}, leaving a gap after ${cursor - dataStart}`,
      );
    }
    if (info.byteOffset < cursor) {
      fail(
        name,
        `tensor "${key}" starts at data offset ${begin}, overlapping data up to ${
          cursor - dataStart
        }`,
      );
    }
    cursor += info.byteLength;
  }
  if (cursor - dataStart !== dataSize) {
    fail(name, `tensors cover ${cursor - dataStart} bytes but the data area holds ${dataSize}`);
  }
  return { headerLength: n, metadata, tensors: new Map(entries) };
}

/**
 * Parses a header held in memory: the first 8 + N bytes of a file (more is fine).
 * @param prefix bytes from the start of the file, covering at least the whole header
 * @param fileSize the whole file's size in bytes (may exceed `prefix.length`)
 * @param name the file name used in error messages
 * @returns the validated header; throws {@link SafetensorsError} on any violation
 * @example parseSafetensorsHeader(bytes, bytes.length, "weights.safetensors").tensors.keys()
 */
export function parseSafetensorsHeader(
  prefix: Uint8Array,
  fileSize: number,
  name: string,
): SafetensorsHeader {
  const n = parseHeaderLength(prefix, fileSize, name);
  if (prefix.length < 8 + n) {
    fail(name, `only ${prefix.length} bytes given but the header ends at byte ${8 + n}`);
  }
  return parseHeaderJson(prefix.subarray(8, 8 + n), fileSize, name);
}
