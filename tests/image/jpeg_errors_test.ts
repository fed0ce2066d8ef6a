// Refusals of decodeJpeg(): every failure is an ImageDecodeError whose message names the problem.
// Inputs are the fixtures from tools/make_jpeg_fixtures.sh, edited byte by byte.

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { decodeJpeg } from "../../image/jpeg_decode.ts";
import { ImageDecodeError } from "../../image/image_decode_error.ts";

const DIR = new URL("../fixtures/jpeg/", import.meta.url);
const read = (name: string) => Deno.readFileSync(new URL(name, DIR));
const BASE = read("base420_16x16.jpg");
const PROG = read("prog420_16x16.jpg");
const MAX = 1 << 20;

interface Segment {
  marker: number;
  /** Offset of the 0xFF. */
  offset: number;
  /** Offset just past the segment. */
  end: number;
}

/** Marker segments up to and including the first SOS. */
function segments(bytes: Uint8Array): Segment[] {
  const out: Segment[] = [];
  let p = 2;
  while (p + 4 <= bytes.length) {
    const marker = bytes[p + 1];
    const end = p + 2 + ((bytes[p + 2] << 8) | bytes[p + 3]);
    out.push({ marker, offset: p, end });
    if (marker === 0xda) break;
    p = end;
  }
  return out;
}

function find(bytes: Uint8Array, marker: number): Segment {
  const s = segments(bytes).find((s) => s.marker === marker);
  assert(s, `no marker 0x${marker.toString(16)}`);
  return s;
}

/** A copy of `bytes` with `values` written from `offset`. */
function patch(bytes: Uint8Array, offset: number, values: number[]): Uint8Array {
  const out = bytes.slice();
  out.set(values, offset);
  return out;
}

/** `bytes` without the first segment with `marker`. */
function drop(bytes: Uint8Array, marker: number): Uint8Array {
  const s = find(bytes, marker);
  return concat(bytes.subarray(0, s.offset), bytes.subarray(s.end));
}

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A marker segment with its length field. */
function seg(marker: number, payload: number[]): number[] {
  const n = payload.length + 2;
  return [0xff, marker, n >> 8, n & 255, ...payload];
}

/** Replaces the SOF0 segment of `bytes` with one made of `payload`. */
function withSof(bytes: Uint8Array, payload: number[], marker = 0xc0): Uint8Array {
  const s = find(bytes, 0xc0);
  return concat(bytes.subarray(0, s.offset), seg(marker, payload), bytes.subarray(s.end));
}

function refuses(bytes: Uint8Array, ...needles: string[]): void {
  const e = assertThrows(() => decodeJpeg(bytes, MAX), ImageDecodeError);
  assertStringIncludes(e.message, "Cannot decode JPEG: ");
  for (const n of needles) assertStringIncludes(e.message, n);
  assert(!e.message.endsWith("."), `message ends with a period: ${e.message}`);
}

const sof0 = () => find(BASE, 0xc0);

Deno.test("decodeJpeg() refuses arithmetic coding naming the SOF marker", () => {
  refuses(read("refuse_arith.jpg"), "arithmetic coding (SOF9) is not supported");
  refuses(read("refuse_arithprog.jpg"), "arithmetic coding (SOF10) is not supported");
});

Deno.test("decodeJpeg() refuses lossless and hierarchical frames", () => {
  refuses(patch(BASE, sof0().offset + 1, [0xc3]), "lossless coding (SOF3) is not supported");
  refuses(patch(BASE, sof0().offset + 1, [0xc5]), "hierarchical coding (SOF5) is not supported");
  refuses(patch(BASE, sof0().offset + 1, [0xcf]), "arithmetic coding (SOF15)");
});

Deno.test("decodeJpeg() refuses 12-bit precision", () => {
  refuses(patch(BASE, sof0().offset + 4, [12]), "12-bit sample precision is not supported");
});

Deno.test("decodeJpeg() refuses CMYK and other component counts", () => {
  const four = [8, 0, 16, 0, 16, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0];
  refuses(withSof(BASE, four), "4 components (CMYK or YCCK) are not supported");
  refuses(withSof(BASE, [8, 0, 16, 0, 16, 2, 1, 0x11, 0, 2, 0x11, 0]), "2 components");
  refuses(withSof(BASE, [8, 0, 16, 0, 16, 0]), "0 components");
});

Deno.test("decodeJpeg() refuses images over maxPixels before decoding", () => {
  const e = assertThrows(() => decodeJpeg(BASE, 255), ImageDecodeError);
  assertStringIncludes(e.message, "image size 16x16 (256 pixels) exceeds the limit of 255 pixels");
  assertEquals(decodeJpeg(BASE, 256).width, 16);
  // 65535x65535 in the header: refused from the header alone, quickly.
  const huge = patch(BASE, sof0().offset + 5, [0xff, 0xff, 0xff, 0xff]);
  const t0 = performance.now();
  refuses(huge, "65535x65535", "exceeds the limit");
  assert(performance.now() - t0 < 100, "the size check came late");
});

Deno.test("decodeJpeg() refuses a zero image size (DNL)", () => {
  refuses(patch(BASE, sof0().offset + 5, [0, 0]), "image size 16x0 is empty");
  refuses(patch(BASE, sof0().offset + 7, [0, 0]), "image size 0x16 is empty");
});

Deno.test("decodeJpeg() refuses bad sampling factors", () => {
  const o = sof0().offset + 11; // first component's sampling byte
  refuses(patch(BASE, o, [0x01]), "component 1 has invalid sampling factors 0x1");
  refuses(patch(BASE, o, [0x51]), "invalid sampling factors 5x1");
  const fractional = patch(patch(BASE, o, [0x31]), o + 3, [0x21]); // 3x1 luma, 2x1 chroma
  refuses(fractional, "component 2 sampling factors 2x1 do not divide the maximum 3x1");
  // 4x4 luma + 2 chroma blocks: 18 blocks in an interleaved MCU.
  refuses(patch(BASE, o, [0x44]), "scan MCU of 18 blocks exceeds the limit of 10");
});

Deno.test("decodeJpeg() refuses a malformed frame header", () => {
  const s = sof0();
  refuses(withSof(BASE, [8, 0, 16, 0, 16, 3, 1, 0x22, 0]), "frame header (SOF0) length 11");
  refuses(withSof(BASE, [8, 0, 16]), "frame header (SOF0) is truncated");
  refuses(patch(BASE, s.offset + 12, [4]), "component 1 selects quantisation table 4");
  refuses(patch(BASE, s.offset + 13, [1]), "component id 1 appears twice");
  const twice = concat(
    BASE.subarray(0, s.end),
    BASE.subarray(s.offset, s.end),
    BASE.subarray(s.end),
  );
  refuses(twice, "second frame header (SOF0)");
});

Deno.test("decodeJpeg() refuses bad Huffman tables", () => {
  const dht = find(BASE, 0xc4);
  // Three codes of length 1 overflow the code space (the symbol count stays 12).
  refuses(patch(BASE, dht.offset + 5, [3, 0, 3]), "bad Huffman table DC 0: code lengths overflow");
  // 16 lengths of 255 codes each: more than 256 symbols.
  refuses(patch(BASE, dht.offset + 5, new Array(16).fill(255)), "bad Huffman table", "exceed 256");
  refuses(patch(BASE, dht.offset + 4, [0x24]), "bad Huffman table: class 2 id 4 is out of range");
  const dcSymbol = seg(0xc4, [0x00, 1, ...new Array(15).fill(0), 16]);
  const s = find(BASE, 0xc4);
  refuses(
    concat(BASE.subarray(0, s.offset), dcSymbol, BASE.subarray(s.offset)),
    "bad Huffman table DC 0: DC symbol 16 exceeds 15",
  );
  const short = seg(0xc4, [0x00, 4, ...new Array(15).fill(0), 1, 2]);
  refuses(
    concat(BASE.subarray(0, s.offset), short, BASE.subarray(s.offset)),
    "bad Huffman table: DHT segment is truncated",
  );
});

Deno.test("decodeJpeg() refuses a file without a scan or a frame", () => {
  const sos = find(BASE, 0xda);
  refuses(concat(BASE.subarray(0, sos.offset), [0xff, 0xd9]), "no scan (SOS)");
  refuses(BASE.subarray(0, sos.offset), "no scan (SOS)");
  refuses(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), "no frame header (SOF)");
  refuses(concat(BASE.subarray(0, sof0().offset), BASE.subarray(sof0().end)), "scan (SOS) before");
});

Deno.test("decodeJpeg() refuses a missing quantisation table", () => {
  const noDqt = drop(drop(BASE, 0xdb), 0xdb);
  refuses(noDqt, "missing quantisation table 0 for component 1");
  refuses(patch(BASE, sof0().offset + 15, [3]), "missing quantisation table 3 for component 2");
});

Deno.test("decodeJpeg() refuses a bad quantisation table segment", () => {
  const dqt = find(BASE, 0xdb);
  refuses(patch(BASE, dqt.offset + 4, [0x05]), "quantisation table id 5 is out of range");
  refuses(patch(BASE, dqt.offset + 4, [0x20]), "quantisation table 0 has invalid precision 2");
  refuses(patch(BASE, dqt.offset + 4, [0x10]), "quantisation table 0: DQT segment is truncated");
});

Deno.test("decodeJpeg() refuses a missing Huffman table", () => {
  const sos = find(BASE, 0xda);
  refuses(patch(BASE, sos.offset + 6, [0x33]), "missing Huffman table DC 3 for component 1");
  refuses(patch(BASE, sos.offset + 6, [0x03]), "missing Huffman table AC 3 for component 1");
});

Deno.test("decodeJpeg() refuses a bad scan header", () => {
  const sos = find(BASE, 0xda);
  refuses(
    patch(BASE, sos.offset + 5, [9]),
    "scan names component 9, which the frame does not have",
  );
  refuses(patch(BASE, sos.offset + 7, [1]), "scan names component 1 twice");
  refuses(
    patch(BASE, sos.offset + 4, [2]),
    "scan header (SOS) length 12 does not match 2 components",
  );
  const psos = find(PROG, 0xda);
  // First scan of the progressive file is DC (Ss=Se=0): make it Se=5.
  refuses(patch(PROG, psos.end - 2, [5]), "bad progressive scan parameters Ss=0 Se=5");
});

Deno.test("decodeJpeg() refuses segment lengths past the end of the data", () => {
  const dqt = find(BASE, 0xdb);
  refuses(BASE.subarray(0, dqt.offset + 30), "marker 0xFFDB at offset", "past the end of the data");
  refuses(BASE.subarray(0, dqt.offset + 3), "truncated data: marker 0xFFDB", "has no length");
  refuses(patch(BASE, dqt.offset + 2, [0xff, 0xff]), "has length 65535, past the end of the data");
  refuses(patch(BASE, dqt.offset + 2, [0, 1]), "marker 0xFFDB at offset 20 has invalid length 1");
});

Deno.test("decodeJpeg() refuses a file that is not a JPEG", () => {
  refuses(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), "not a JPEG file", "0x89, 0x50");
  refuses(new Uint8Array(0), "not a JPEG file");
  refuses(concat([0xff, 0xd8], BASE), "second SOI marker");
});

Deno.test("decodeJpeg() refuses a bad restart interval segment", () => {
  const sos = find(BASE, 0xda);
  const dri = seg(0xdd, [0, 1, 0]);
  refuses(
    concat(BASE.subarray(0, sos.offset), dri, BASE.subarray(sos.offset)),
    "restart interval (DRI) length 5 is not 4",
  );
});

Deno.test("decodeJpeg() decodes entropy data that runs out as grey, as libjpeg does", () => {
  // Nothing after the scan header: libjpeg decodes the first MCU from zero bits, then stops.
  const big = read("base420_50x31.jpg");
  const img = decodeJpeg(big.subarray(0, find(big, 0xda).end), MAX);
  assertEquals([img.width, img.height], [50, 31]);
  for (let y = 0; y < 31; y++) {
    for (let x = y < 16 ? 16 : 0; x < 50; x++) {
      const i = (y * 50 + x) * 4;
      assertEquals([...img.data.subarray(i, i + 4)], [128, 128, 128, 255], `pixel ${x},${y}`);
    }
  }
});

Deno.test("decodeJpeg() throws RangeError for an invalid maxPixels", () => {
  assertThrows(() => decodeJpeg(BASE, Number.NaN), RangeError, "maxPixels");
  assertThrows(() => decodeJpeg(BASE, -1), RangeError, "maxPixels");
});
