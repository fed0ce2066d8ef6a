// Seeded fuzzing of decodePng(): thousands of mutated valid files (bit flips, byte changes,
// truncation, lying chunk lengths, huge or nonsense IHDR fields with the CRC fixed up, chunks
// dropped, repeated or swapped, scanlines and filter bytes scrambled and recompressed). The only
// outcome besides a well-formed image must be ImageDecodeError; anything else is a decoder bug.

import { assert, assertEquals, fail } from "@std/assert";
import { unzlibSync } from "fflate";
import { encodePng } from "../../image/encode_png.ts";
import { ImageDecodeError } from "../../image/image_decode_error.ts";
import { decodePng } from "../../image/png_decode.ts";
import {
  chunk,
  concat,
  fixCrc,
  listChunks,
  mulberry32,
  readFixture,
  SIGNATURE,
  zlib,
} from "./png_helpers.ts";

const SEED = 0x5eed_f00d;
const ROUNDS = 8000;
const MAX_PIXELS = 1 << 22;

const BASES = [
  "ct0_1bit",
  "ct0_16bit_adam7",
  "ct2_8bit_trns",
  "ct2_16bit",
  "ct3_4bit_trns",
  "ct3_2bit_adam7",
  "ct4_8bit_adam7",
  "ct6_8bit",
  "ct6_16bit",
  "multi_idat",
  "ancillary_chunks",
  "size_7x5_adam7",
  "im_rgba8_adam7",
].map((n) => readFixture(`${n}.png`));

type Rand = () => number;

function int(rand: Rand, n: number): number {
  return Math.floor(rand() * n);
}

function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[int(rand, items.length)];
}

/** Values that tend to hit limits in a 32-bit header field. */
function edgyU32(rand: Rand): number {
  return pick(rand, [
    0,
    1,
    2,
    7,
    255,
    65535,
    65536,
    100000,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    int(rand, 64) + 1,
    int(rand, 0x100000000),
  ]);
}

function chunkBytes(file: Uint8Array): Uint8Array[] {
  return listChunks(file).map((c) => file.slice(c.offset, c.offset + 12 + c.length));
}

function idatPayload(file: Uint8Array): Uint8Array {
  return concat(
    ...listChunks(file).filter((c) => c.type === "IDAT").map((c) =>
      file.subarray(c.offset + 8, c.offset + 8 + c.length)
    ),
  );
}

/** Replaces all IDAT chunks by one chunk holding `payload`. */
function withIdat(file: Uint8Array, payload: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  let done = false;
  for (const c of listChunks(file)) {
    if (c.type !== "IDAT") out.push(file.subarray(c.offset, c.offset + 12 + c.length));
    else if (!done) {
      out.push(chunk("IDAT", payload));
      done = true;
    }
  }
  return concat(SIGNATURE, ...out);
}

const MUTATIONS: Record<string, (f: Uint8Array, rand: Rand) => Uint8Array> = {
  flipBits(f, rand) {
    const out = f.slice();
    for (let n = int(rand, 4) + 1; n > 0; n--) out[int(rand, out.length)] ^= 1 << int(rand, 8);
    return out;
  },
  setBytes(f, rand) {
    const out = f.slice();
    for (let n = int(rand, 4) + 1; n > 0; n--) out[int(rand, out.length)] = int(rand, 256);
    return out;
  },
  truncate(f, rand) {
    return f.slice(0, int(rand, f.length));
  },
  appendGarbage(f, rand) {
    return concat(f, new Uint8Array(int(rand, 40)).map(() => int(rand, 256)));
  },
  lyingLength(f, rand) {
    const out = f.slice();
    const c = pick(rand, listChunks(out));
    const view = new DataView(out.buffer);
    const length = rand() < 0.5 ? Math.max(0, c.length + int(rand, 21) - 10) : edgyU32(rand);
    view.setUint32(c.offset, length);
    if (rand() < 0.7) fixCrc(out, c.offset);
    return out;
  },
  /** Changes bytes inside one chunk's data and fixes its CRC, so deeper checks see them. */
  chunkData(f, rand) {
    const out = f.slice();
    const c = pick(rand, listChunks(out).filter((c) => c.length > 0));
    for (let n = int(rand, 3) + 1; n > 0; n--) {
      const at = c.offset + 8 + int(rand, c.length);
      out[at] = rand() < 0.5 ? out[at] ^ (1 << int(rand, 8)) : int(rand, 256);
    }
    fixCrc(out, c.offset);
    return out;
  },
  /** Huge, zero or nonsense dimensions with a valid CRC: the size checks must refuse them. */
  hugeDimensions(f, rand) {
    const out = f.slice();
    const view = new DataView(out.buffer);
    if (rand() < 0.7) view.setUint32(16, edgyU32(rand));
    if (rand() < 0.7) view.setUint32(20, edgyU32(rand));
    fixCrc(out, 8);
    return out;
  },
  headerFields(f, rand) {
    const out = f.slice();
    out[24] = pick(rand, [0, 1, 2, 3, 4, 5, 8, 16, 32, int(rand, 256)]);
    if (rand() < 0.6) out[25] = pick(rand, [0, 1, 2, 3, 4, 5, 6, 7, int(rand, 256)]);
    if (rand() < 0.3) out[28] = int(rand, 3);
    if (rand() < 0.1) out[26 + int(rand, 2)] = int(rand, 2);
    fixCrc(out, 8);
    return out;
  },
  /** Drops, repeats or swaps whole chunks (CRCs stay valid). */
  reorderChunks(f, rand) {
    const chunks = chunkBytes(f);
    const i = int(rand, chunks.length), j = int(rand, chunks.length);
    const op = int(rand, 3);
    if (op === 0) chunks.splice(i, 1);
    else if (op === 1) chunks.splice(j, 0, chunks[i]);
    else [chunks[i], chunks[j]] = [chunks[j], chunks[i]];
    return concat(SIGNATURE, ...chunks);
  },
  insertChunk(f, rand) {
    const chunks = chunkBytes(f);
    const type = pick(rand, ["PLTE", "tRNS", "IDAT", "IEND", "IHDR", "ABCD", "abcd", "gAMA"]);
    const data = new Uint8Array(pick(rand, [0, 1, 2, 3, 6, 13, int(rand, 800)])).map(() =>
      int(rand, 256)
    );
    chunks.splice(int(rand, chunks.length + 1), 0, chunk(type, data));
    return concat(SIGNATURE, ...chunks);
  },
  /** Scrambles the decompressed scanlines (filter bytes included) and recompresses them. */
  scanlines(f, rand) {
    const raw = unzlibSync(idatPayload(f));
    let out: Uint8Array = raw.slice();
    for (let n = int(rand, 6) + 1; n > 0; n--) {
      if (out.length > 0) out[int(rand, out.length)] = pick(rand, [int(rand, 256), int(rand, 8)]);
    }
    if (rand() < 0.2) out = out.slice(0, int(rand, out.length + 1));
    if (rand() < 0.1) out = concat(out, new Uint8Array(int(rand, 100)));
    return withIdat(f, zlib(out));
  },
  /** A valid zlib header followed by random deflate data. */
  randomDeflate(f, rand) {
    const body = new Uint8Array(int(rand, 200) + 4).map(() => int(rand, 256));
    return withIdat(f, concat(new Uint8Array([0x78, 0x9c]), body));
  },
};

Deno.test(`decodePng() survives ${ROUNDS} seeded mutations with only ImageDecodeError`, () => {
  const rand = mulberry32(SEED);
  const bases = [
    ...BASES,
    encodePng({ width: 9, height: 4, data: new Uint8Array(144).map((_, i) => i * 37) }),
  ];
  for (const b of bases) decodePng(b, MAX_PIXELS); // every base must be valid to start with
  const names = Object.keys(MUTATIONS);
  const outcomes: Record<string, { ok: number; refused: number }> = {};
  for (const n of names) outcomes[n] = { ok: 0, refused: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const name = names[round % names.length];
    const base = pick(rand, bases);
    let file = MUTATIONS[name](base, rand);
    if (rand() < 0.15) {
      // Sometimes stack a second mutation; it may not apply to a file the first one broke.
      try {
        file = MUTATIONS[pick(rand, names)](file, rand);
      } catch {
        // keep the once-mutated file
      }
    }
    try {
      const image = decodePng(file, MAX_PIXELS);
      assert(image.width > 0 && image.height > 0 && image.width * image.height <= MAX_PIXELS);
      assertEquals(image.data.length, image.width * image.height * 4);
      outcomes[name].ok++;
    } catch (e) {
      if (!(e instanceof ImageDecodeError)) {
        fail(`round ${round} (${name}, seed ${SEED}) threw ${e instanceof Error ? e.stack : e}`);
      }
      assert(e.message.startsWith("Cannot decode PNG: "), e.message);
      outcomes[name].refused++;
    }
  }
  // The mutations must reach both outcomes, or the fuzzer is not testing much.
  const total = Object.values(outcomes).reduce((s, o) => ({
    ok: s.ok + o.ok,
    refused: s.refused + o.refused,
  }));
  assert(total.ok > ROUNDS / 20, `only ${total.ok} mutated files decoded`);
  assert(total.refused > ROUNDS / 2, `only ${total.refused} mutated files were refused`);
  assert(outcomes.hugeDimensions.refused > 0 && outcomes.scanlines.ok > 0);
});
