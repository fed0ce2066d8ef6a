// Deterministic fuzzing of decodeJpeg(): seeded mutations of valid fixtures (bit flips, byte edits,
// truncation, lying segment lengths, huge or zero SOF dimensions, duplicated, deleted or inserted
// chunks and markers). The only outcome besides an image is an ImageDecodeError; no case may run
// long, and no typed array may be sized beyond what maxPixels allows.

import { assert, assertEquals } from "@std/assert";
import { decodeJpeg } from "../../image/jpeg_decode.ts";
import { ImageDecodeError } from "../../image/image_decode_error.ts";
import { readExifOrientation } from "../../image/exif.ts";

const DIR = new URL("../fixtures/jpeg/", import.meta.url);
const SOURCES = [
  "base420_50x31",
  "base444_33x17",
  "base422_16x16",
  "gray_33x17",
  "prog420_50x31",
  "progapprox_50x31",
  "progspectral_50x31",
  "restart420_50x31",
  "restartprog_50x31",
  "exif6_33x17",
  "mixed_50x31",
  "seqscans420_50x31",
  "q5_420_50x31",
  "base411_50x31",
].map((n) => Deno.readFileSync(new URL(`${n}.jpg`, DIR)));
const CASES = 5000;
const MAX_PIXELS = 1 << 16;
/** Largest typed array (in elements) a decode may make: MCU-padded planes of a 65535-wide image. */
const MAX_ELEMENTS = 64 * MAX_PIXELS;
/** Per-case time limit: generous for a 2-core machine, far below what a hang would take. */
const MAX_CASE_MS = 2000;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

/** Offsets of the marker segments before the first SOS: [0xFF offset, end]. */
function segments(b: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let p = 2;
  while (p + 4 <= b.length && b[p] === 0xff) {
    const end = p + 2 + ((b[p + 2] << 8) | b[p + 3]);
    out.push([p, end]);
    if (b[p + 1] === 0xda) break;
    p = end;
  }
  return out;
}

const SPECIAL = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xd9, 0xda, 0xc4];
const MARKERS = [
  0xc0,
  0xc1,
  0xc2,
  0xc3,
  0xc4,
  0xc9,
  0xd0,
  0xd7,
  0xd8,
  0xd9,
  0xda,
  0xdb,
  0xdd,
  0xe1,
];

function mutate(src: Uint8Array, rnd: (n: number) => number): Uint8Array {
  let b = src.slice();
  const segs = segments(b);
  const headerEnd = segs.length ? segs[segs.length - 1][1] : b.length;
  const pos = () => (rnd(2) === 0 ? rnd(Math.max(1, headerEnd)) : rnd(b.length));
  const rounds = 1 + rnd(3);
  for (let round = 0; round < rounds && b.length > 0; round++) {
    switch (rnd(9)) {
      case 0: // bit flips
        for (let i = 1 + rnd(8); i > 0; i--) b[pos() % b.length] ^= 1 << rnd(8);
        break;
      case 1: // byte edits
        for (let i = 1 + rnd(4); i > 0; i--) {
          b[pos() % b.length] = rnd(2) ? SPECIAL[rnd(SPECIAL.length)] : rnd(256);
        }
        break;
      case 2: // truncation
        b = b.slice(0, rnd(b.length));
        break;
      case 3: { // a lying segment length
        const s = segments(b);
        if (!s.length) break;
        const [off, end] = s[rnd(s.length)];
        const len = end - off - 2;
        const lies = [
          0,
          1,
          2,
          3,
          len - 1,
          len + 1,
          len + 1 + rnd(16),
          len - rnd(16),
          0xffff,
          rnd(65536),
        ];
        const v = Math.max(0, Math.min(0xffff, lies[rnd(lies.length)]));
        if (off + 3 < b.length) b.set([v >> 8, v & 255], off + 2);
        break;
      }
      case 4: { // SOF dimensions and component bytes
        const sof = segments(b).find(([o]) => b[o + 1] >= 0xc0 && b[o + 1] <= 0xc2);
        if (!sof) break;
        const dims = [0, 1, 2, 255, 256, 4096, 65500, 65535, rnd(65536)];
        const field = sof[0] + 5 + 2 * rnd(2);
        const v = dims[rnd(dims.length)];
        if (field + 1 < b.length) b.set([v >> 8, v & 255], field);
        if (rnd(3) === 0 && sof[0] + 9 + 9 < b.length) b[sof[0] + 9 + rnd(10)] = rnd(256);
        break;
      }
      case 5: { // duplicate a chunk (e.g. repeat scans or tables)
        const from = rnd(b.length);
        const to = Math.min(b.length, from + 1 + rnd(400));
        const at = rnd(b.length + 1);
        const chunk = b.slice(from, to);
        const out = new Uint8Array(b.length + chunk.length);
        out.set(b.subarray(0, at));
        out.set(chunk, at);
        out.set(b.subarray(at), at + chunk.length);
        b = out;
        break;
      }
      case 6: { // delete a chunk
        const from = rnd(b.length);
        const to = Math.min(b.length, from + 1 + rnd(64));
        const out = new Uint8Array(b.length - (to - from));
        out.set(b.subarray(0, from));
        out.set(b.subarray(to), from);
        b = out;
        break;
      }
      case 7: { // insert a marker
        const at = pos() % (b.length + 1);
        const ins = [0xff, MARKERS[rnd(MARKERS.length)]];
        if (rnd(2)) ins.push(0, rnd(8));
        const out = new Uint8Array(b.length + ins.length);
        out.set(b.subarray(0, at));
        out.set(ins, at);
        out.set(b.subarray(at), at + ins.length);
        b = out;
        break;
      }
      default: { // scribble over one header segment
        const s = segments(b);
        if (!s.length) break;
        const [off, end] = s[rnd(s.length)];
        for (let i = 1 + rnd(6); i > 0; i--) {
          const p = off + 4 + rnd(Math.max(1, end - off - 4));
          if (p < b.length) b[p] = rnd(256);
        }
      }
    }
  }
  return b;
}

const ARRAYS = [
  "Uint8Array",
  "Int8Array",
  "Uint16Array",
  "Int16Array",
  "Uint32Array",
  "Int32Array",
  "Float32Array",
  "Float64Array",
  "Uint8ClampedArray",
  "ArrayBuffer",
  "Array",
] as const;

/** Runs `fn` while recording the largest numeric length passed to a typed-array constructor. */
function withAllocationProbe<T>(fn: () => T): { value?: T; error?: unknown; largest: number } {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = ARRAYS.map((n) => g[n]);
  let largest = 0;
  ARRAYS.forEach((name, i) => {
    g[name] = new Proxy(saved[i] as new (...a: unknown[]) => unknown, {
      construct(target, args, newTarget) {
        if (typeof args[0] === "number") largest = Math.max(largest, args[0]);
        return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
      },
    });
  });
  try {
    return { value: fn(), largest };
  } catch (error) {
    return { error, largest };
  } finally {
    ARRAYS.forEach((name, i) => (g[name] = saved[i]));
  }
}

Deno.test(`decodeJpeg() survives ${CASES} mutated files with only ImageDecodeError`, () => {
  const rnd = prng(0x6a706567);
  let decoded = 0;
  let refused = 0;
  let slowest = 0;
  let largest = 0;
  for (let i = 0; i < CASES; i++) {
    const input = mutate(SOURCES[i % SOURCES.length], rnd);
    const t0 = performance.now();
    const r = withAllocationProbe(() => decodeJpeg(input, MAX_PIXELS));
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    largest = Math.max(largest, r.largest);
    const where = `case ${i} (source ${i % SOURCES.length}, ${input.length} bytes)`;
    if (r.error !== undefined) {
      if (!(r.error instanceof ImageDecodeError)) {
        throw new Error(`${where}: expected ImageDecodeError, got ${r.error}`, { cause: r.error });
      }
      assert(r.error.message.startsWith("Cannot decode JPEG: "), `${where}: ${r.error.message}`);
      refused++;
    } else {
      const img = r.value!;
      assert(img.width * img.height <= MAX_PIXELS, `${where}: ${img.width}x${img.height}`);
      assertEquals(img.data.length, img.width * img.height * 4, where);
      decoded++;
    }
    assert(ms < MAX_CASE_MS, `${where} took ${ms.toFixed(0)} ms`);
    assert(r.largest <= MAX_ELEMENTS, `${where} allocated ${r.largest} elements`);
  }
  console.log(
    `  ${decoded} decoded, ${refused} refused; slowest ${slowest.toFixed(1)} ms, ` +
      `largest array ${largest} elements`,
  );
  assert(decoded > CASES / 10 && refused > CASES / 10, "mutations too mild or too harsh");
});

Deno.test("decodeJpeg() bounds work on many empty scans and restart markers", () => {
  // 1000 copies of the progressive file's last scan header with no data: each is cheap, and the
  // scan limit stops a file made of nothing but scan headers.
  const prog = SOURCES[4];
  const s = segments(prog);
  const [sosOff, sosEnd] = s[s.length - 1];
  const sos = prog.subarray(sosOff, sosEnd);
  const many = (n: number) => {
    const out = new Uint8Array(sosEnd + n * sos.length + 2);
    out.set(prog.subarray(0, sosEnd));
    for (let i = 0; i < n; i++) out.set(sos, sosEnd + i * sos.length);
    out.set([0xff, 0xd9], out.length - 2);
    return out;
  };
  const t0 = performance.now();
  assertEquals(decodeJpeg(many(998), MAX_PIXELS).width, 50);
  try {
    decodeJpeg(many(1000), MAX_PIXELS);
    throw new Error("expected a refusal");
  } catch (e) {
    assert(e instanceof ImageDecodeError && e.message.includes("more than 1000 scans"), String(e));
  }
  assert(performance.now() - t0 < 5000, "empty scans took too long");
});

Deno.test("readExifOrientation() never throws on mutated EXIF blocks", () => {
  const jpeg = Deno.readFileSync(new URL("exif6_33x17.jpg", DIR));
  const [off, end] = segments(jpeg).find(([o]) => jpeg[o + 1] === 0xe1)!;
  const app1 = jpeg.slice(off + 4, end);
  assertEquals(readExifOrientation(app1), 6);
  const rnd = prng(42);
  for (let i = 0; i < 3000; i++) {
    const b = app1.slice(0, rnd(3) ? app1.length : rnd(app1.length + 1));
    for (let k = 1 + rnd(4); k > 0 && b.length; k--) b[rnd(b.length)] = rnd(256);
    const o = readExifOrientation(b);
    assert(Number.isInteger(o) && o >= 1 && o <= 8, `orientation ${o}`);
  }
});
