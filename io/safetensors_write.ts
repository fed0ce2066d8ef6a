// safetensors writer laid out as huggingface/safetensors `tensor.rs` `prepare` does: tensors sorted
// by descending dtype (enum order) then by name, `__metadata__` first, compact JSON padded with
// spaces to a multiple of 8 so every tensor's data is 8-byte aligned in the file.

import {
  dtypeRank,
  dtypeSize,
  isSafetensorsDtype,
  type SafetensorsDtype,
} from "./safetensors_dtype.ts";

/** A tensor to write: little-endian elements in C order (e.g. F16/BF16 as Uint16Array bits). */
export interface TensorToWrite {
  /** Element type. */
  dtype: SafetensorsDtype;
  /** Dimensions; product(shape) * dtypeSize(dtype) must equal `data.byteLength`. */
  shape: readonly number[];
  /** The elements, any typed array or DataView over the right number of bytes. */
  data: ArrayBufferView;
}

interface Prepared {
  header: Uint8Array;
  parts: Uint8Array[];
  total: number;
}

const utf8 = new TextEncoder();

/** Orders strings by their UTF-8 bytes, as Rust's `String::cmp` does. */
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a), y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function prepare(
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata: Readonly<Record<string, string>> | undefined,
): Prepared {
  const items = Object.entries(tensors).map(([key, t]) => {
    const what = `Cannot write tensor "${key}"`;
    if (key === "__metadata__") throw new TypeError(`${what}: the key is reserved for metadata`);
    if (!isSafetensorsDtype(t?.dtype)) throw new TypeError(`${what}: unknown dtype "${t?.dtype}"`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new TypeError(`${what}: shape ${JSON.stringify(t.shape)} is not a list of counts`);
    }
    if (!ArrayBuffer.isView(t.data)) throw new TypeError(`${what}: data is not a typed array`);
    const need = t.shape.reduce((a, d) => a * d, 1) * dtypeSize(t.dtype);
    if (t.data.byteLength !== need) {
      throw new RangeError(
        `${what}: data has ${t.data.byteLength} bytes but shape ${
          JSON.stringify(t.shape)
        } of ${t.dtype} needs ${need}`,
      );
    }
    return { key, t };
  });
  items.sort((a, b) => dtypeRank(b.t.dtype) - dtypeRank(a.t.dtype) || compareUtf8(a.key, b.key));
  const json: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new TypeError(`Cannot write metadata "${k}": value ${String(v)} is not a string`);
      }
    }
    json.__metadata__ = { ...metadata };
  }
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const { key, t } of items) {
    const n = t.data.byteLength;
    Object.defineProperty(json, key, {
      value: { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + n] },
      enumerable: true,
    });
    parts.push(new Uint8Array(t.data.buffer, t.data.byteOffset, n));
    offset += n;
  }
  const text = utf8.encode(JSON.stringify(json));
  const padded = (text.length + 7) & ~7;
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, parts, total: header.length + offset };
}

/**
 * Serializes tensors to safetensors bytes, readable by the Python `safetensors` library.
 * @param tensors tensors by key
 * @param metadata optional `__metadata__` (string values only)
 * @returns the whole file
 * @example
 * ```ts
 * const w = { dtype: "F32" as const, shape: [2], data: new Float32Array([1, 2]) };
 * const bytes = serializeSafetensors({ w }, { format: "pt" });
 * ```
 */
export function serializeSafetensors(
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const { header, parts, total } = prepare(tensors, metadata);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let at = header.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
}

/**
 * Writes a safetensors file atomically: a temporary file in the same folder, then a rename, so
 * readers never see a partial file. Tensor data is written piece by piece, not concatenated.
 * @param path the destination
 * @param tensors tensors by key
 * @param metadata optional `__metadata__` (string values only)
 * @returns when the file is in place
 * @example
 * ```ts
 * const w = { dtype: "F16" as const, shape: [1], data: new Uint16Array([0x3c00]) };
 * await writeSafetensors("out.safetensors", { w });
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const { header, parts } = prepare(tensors, metadata);
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash + 1);
  const tmp = `${dir}${slash < 0 ? "/" : ""}.${path.slice(slash + 1)}.${
    crypto.randomUUID().slice(0, 8)
  }.tmp`;
  const file = await Deno.open(tmp, { write: true, createNew: true });
  try {
    await writeAll(file, header);
    for (const p of parts) await writeAll(file, p);
    await file.sync();
    file.close();
    await Deno.rename(tmp, path);
  } catch (e) {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
