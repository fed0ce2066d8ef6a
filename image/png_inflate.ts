// Inflates a PNG's IDAT stream with fflate's streaming Inflate, bounded by the size the header
// implies: input goes in 16 KiB steps, output past that size (plus a little slack) stops decoding,
// and the buffer grows only as data really arrives. Checks the zlib header and the Adler-32.

import { Inflate } from "fflate";
import { ImageDecodeError } from "./image_decode_error.ts";

/** Inflate input is pushed this many bytes at a time, so one push yields at most ~16 MiB. */
const INFLATE_STEP = 16384;
/** Decompressed bytes tolerated past the size the header implies before decoding stops. */
const EXTRA_DATA_SLACK = 65536;

function fail(message: string): never {
  throw new ImageDecodeError(`Cannot decode PNG: ${message}`);
}

function allocate(size: number): Uint8Array {
  try {
    return new Uint8Array(size);
  } catch {
    return fail(`cannot allocate ${size} bytes for image data`);
  }
}

function adler32(a: number, b: number, chunk: Uint8Array): [number, number] {
  let i = 0;
  while (i < chunk.length) {
    const end = Math.min(i + 5552, chunk.length); // zlib's NMAX: reduce before b grows large
    for (; i < end; i++) {
      a += chunk[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return [a, b];
}

/**
 * Inflates the concatenated IDAT data (a zlib stream) into exactly `expected` bytes.
 *
 * @param chunks the IDAT chunks' data, in file order
 * @param expected the size of the filtered scanlines the header implies
 * @returns `expected` bytes of filtered scanlines
 * @throws {ImageDecodeError} for a bad zlib stream or too little or too much data
 */
export function inflateImageData(chunks: Uint8Array[], expected: number): Uint8Array {
  let z = chunks[0];
  if (chunks.length > 1) {
    let total = 0;
    for (const c of chunks) total += c.length;
    z = new Uint8Array(total);
    total = 0;
    for (const c of chunks) {
      z.set(c, total);
      total += c.length;
    }
  }
  if (z.length < 6) fail(`bad zlib stream: only ${z.length} bytes of IDAT data`);
  const cmf = z[0], flg = z[1];
  if ((cmf & 15) !== 8 || cmf >> 4 > 7) fail(`bad zlib stream: header byte ${cmf} is not deflate`);
  if (((cmf << 8) | flg) % 31 !== 0) fail("bad zlib stream: header check bits are wrong");
  if (flg & 32) fail("bad zlib stream: preset dictionary is not allowed in PNG");

  // Output grows with the data actually inflated, never past `expected`.
  let out: Uint8Array = new Uint8Array(0);
  let produced = 0;
  let a = 1, b = 0;
  const inflater = new Inflate((chunk: Uint8Array) => {
    [a, b] = adler32(a, b, chunk);
    const keep = Math.min(chunk.length, Math.max(0, expected - produced));
    if (keep > 0) {
      if (produced + keep > out.length) {
        const grown = allocate(
          Math.min(expected, Math.max(produced + keep, out.length * 2, 65536)),
        );
        grown.set(out.subarray(0, produced));
        out = grown;
      }
      out.set(chunk.subarray(0, keep), produced);
    }
    produced += chunk.length;
    if (produced > expected + EXTRA_DATA_SLACK) {
      fail(
        `too much image data: more than ${expected + EXTRA_DATA_SLACK} bytes, expected ${expected}`,
      );
    }
  });
  const deflate = z.subarray(2, z.length - 4);
  try {
    if (deflate.length === 0) inflater.push(deflate, true);
    for (let i = 0; i < deflate.length; i += INFLATE_STEP) {
      const end = Math.min(i + INFLATE_STEP, deflate.length);
      inflater.push(deflate.subarray(i, end), end === deflate.length);
    }
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    fail(`bad zlib stream (${e instanceof Error ? e.message : String(e)})`);
  }
  if (produced < expected) fail(`too little image data: ${produced} bytes, expected ${expected}`);
  const t = z.length - 4;
  const stored = ((z[t] << 24) | (z[t + 1] << 16) | (z[t + 2] << 8) | z[t + 3]) >>> 0;
  const computed = ((b << 16) | a) >>> 0;
  if (stored !== computed) fail("bad zlib stream: Adler-32 checksum mismatch");
  return out;
}
