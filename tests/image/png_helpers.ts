// Test helpers for building and taking apart PNG files by hand: chunks with their CRCs, headers,
// and whole files from raw scanlines. The CRC here is a bit-at-a-time version written apart from
// the table-driven one in image/png_crc.ts, so tests do not check that code against itself.

import { zlibSync } from "fflate";

/** The PNG file signature. */
export const SIGNATURE: Uint8Array = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);

/** CRC-32 of `bytes` (the ISO 3309 / zlib CRC that PNG uses), computed bit by bit. */
export function crc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** One chunk: length, type, data and a correct CRC. */
export function chunk(type: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(data.length + 12);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
  return out;
}

/** IHDR chunk data (13 bytes). */
export function ihdrData(
  width: number,
  height: number,
  bitDepth: number,
  colourType: number,
  interlace = 0,
  compression = 0,
  filter = 0,
): Uint8Array {
  const d = new Uint8Array(13);
  const view = new DataView(d.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  d.set([bitDepth, colourType, compression, filter, interlace], 8);
  return d;
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** A PNG file: the signature followed by `chunks`. */
export function png(...chunks: Uint8Array[]): Uint8Array {
  return concat(SIGNATURE, ...chunks);
}

/** zlib-compresses `raw` (already filtered scanlines) for IDAT. */
export function zlib(raw: Uint8Array): Uint8Array {
  return zlibSync(raw, { level: 6 });
}

/** A chunk found in a file by {@linkcode listChunks}. */
export interface ChunkInfo {
  /** Offset of the length field. */
  offset: number;
  /** Chunk type, e.g. "IDAT". */
  type: string;
  /** Length of the data. */
  length: number;
}

/** Lists the chunks of a well-formed PNG file. */
export function listChunks(bytes: Uint8Array): ChunkInfo[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ChunkInfo[] = [];
  for (let pos = 8; pos + 12 <= bytes.length;) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    out.push({ offset: pos, type, length });
    pos += 12 + length;
  }
  return out;
}

/** Rewrites the CRC of the chunk at `offset` in place (no-op if the chunk runs past the end). */
export function fixCrc(bytes: Uint8Array, offset: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(offset);
  const end = offset + 8 + length;
  if (length > bytes.length || end + 4 > bytes.length) return;
  view.setUint32(end, crc(bytes.subarray(offset + 4, end)));
}

/** An 8-bit RGBA (colour type 6) PNG of the given filtered scanlines (`rows` with filter bytes). */
export function rgbaPng(width: number, height: number, raw: Uint8Array): Uint8Array {
  return png(chunk("IHDR", ihdrData(width, height, 8, 6)), chunk("IDAT", zlib(raw)), chunk("IEND"));
}

/** Deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reads a fixture file from tests/fixtures/png/. */
export function readFixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`../fixtures/png/${name}`, import.meta.url));
}
