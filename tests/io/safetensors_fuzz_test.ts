// Fuzzing the safetensors readers with deterministic seeds: mutated valid files (bit flips,
// truncation, length-field lies, header byte edits, JSON edits with huge or negative shapes and
// offsets, duplicated and overlapping ranges) must either parse into a layout that tiles the file
// or be refused with SafetensorsError; any other exception (RangeError from a huge allocation,
// TypeError from a missing check) fails the test with its seed.

import { assert, fail } from "@std/assert";
import { openSafetensors, readSafetensorsBytes, SafetensorsError } from "../../io/safetensors.ts";
import { serializeSafetensors, type TensorToWrite } from "../../io/safetensors_write.ts";
import { dtypeSize, SAFETENSORS_DTYPES } from "../../io/safetensors_dtype.ts";
import { randomBytes, rng, withTempDir } from "./_safetensors_helpers.ts";

const CASES = 20000;

function baseFiles(): Uint8Array[] {
  const rand = rng(99);
  const files: Uint8Array[] = [];
  for (let f = 0; f < 6; f++) {
    const tensors: Record<string, TensorToWrite> = {};
    const n = 1 + f * 2;
    for (let i = 0; i < n; i++) {
      const dtype = SAFETENSORS_DTYPES[(f * 7 + i * 3) % SAFETENSORS_DTYPES.length];
      const shape = i % 4 === 3 ? [0, 3] : i % 5 === 4 ? [] : [1 + (i % 3), 2 + (f % 4)];
      const count = shape.reduce((a, d) => a * d, 1);
      const size = dtypeSize(dtype);
      tensors[`blk.${i}.w`] = { dtype, shape, data: randomBytes(count * size, rand) };
    }
    files.push(
      serializeSafetensors(tensors, f % 2 ? { format: "pt", seed: String(f) } : undefined),
    );
  }
  return files;
}

const HUGE = [0, 1, 7, 8, 2 ** 31, 2 ** 32 + 8, 2 ** 53 - 1, 2 ** 53, 1e300, -1, -0, 0.5, 1e21];

function pick<T>(a: readonly T[], rand: () => number): T {
  return a[(rand() * a.length) | 0];
}

/** Rewrites the header JSON with one random semantic edit, keeping the length field honest. */
function jsonEdit(file: Uint8Array, rand: () => number): Uint8Array {
  const n = Number(new DataView(file.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
  const keys = Object.keys(header).filter((k) => k !== "__metadata__");
  const key = keys.length ? pick(keys, rand) : "x";
  const e = header[key] ?? (header[key] = { dtype: "U8", shape: [1], data_offsets: [0, 1] });
  const other = header[pick(keys.length ? keys : ["x"], rand)] ?? e;
  switch ((rand() * 12) | 0) {
    case 0:
      e.shape = [pick(HUGE, rand), pick(HUGE, rand)];
      break;
    case 1:
      e.data_offsets = [pick(HUGE, rand), pick(HUGE, rand)];
      break;
    case 2:
      e.data_offsets = [...other.data_offsets];
      break; // duplicate range
    case 3:
      e.data_offsets = [e.data_offsets[0] + 1, e.data_offsets[1] + 1];
      break; // overlap/gap
    case 4:
      e.dtype = pick([...SAFETENSORS_DTYPES, "F4", "", "c64", 3], rand);
      break;
    case 5:
      delete e[pick(["dtype", "shape", "data_offsets"], rand)];
      break;
    case 6:
      e.extra = 1;
      break;
    case 7:
      header.__metadata__ = pick([{ a: 1 }, [], "x", null, { b: "c" }], rand);
      break;
    case 8:
      header[key] = pick([null, 3, [], "F32", { shape: [] }], rand);
      break;
    case 9:
      e.shape = pick([[-1], [1.5], "2", [2 ** 26, 2 ** 26, 2 ** 26], new Array(50).fill(2)], rand);
      break;
    case 10:
      e.data_offsets = [e.data_offsets[1], e.data_offsets[0]];
      break;
    default:
      e.shape = [...e.shape, pick([0, 1, 2], rand)];
  }
  const text = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = 8 + n;
  const out = new Uint8Array(8 + text.length + file.length - dataStart);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(file.subarray(dataStart), 8 + text.length);
  return out;
}

function mutate(base: Uint8Array, rand: () => number): Uint8Array {
  const kind = (rand() * 6) | 0;
  if (kind === 0) { // bit flips anywhere, biased to the header
    const out = base.slice();
    const flips = 1 + ((rand() * 8) | 0);
    const hn = Number(new DataView(base.buffer).getBigUint64(0, true)) + 8;
    for (let i = 0; i < flips; i++) {
      const at = rand() < 0.8 ? (rand() * hn) | 0 : (rand() * out.length) | 0;
      out[at] ^= 1 << ((rand() * 8) | 0);
    }
    return out;
  }
  if (kind === 1) return base.slice(0, (rand() * base.length) | 0); // truncation
  if (kind === 2) { // length-field lies
    const out = base.slice();
    const n = new DataView(out.buffer).getBigUint64(0, true);
    const lie = pick([
      0n,
      1n,
      2n,
      n - 1n,
      n + 1n,
      n + 8n,
      BigInt(out.length),
      100_000_001n,
      2n ** 63n,
      2n ** 64n - 1n,
    ], rand);
    new DataView(out.buffer).setBigUint64(0, lie < 0n ? 0n : lie, true);
    return out;
  }
  if (kind === 3) { // insert or delete bytes in the header or data
    const at = (rand() * base.length) | 0;
    const del = rand() < 0.5;
    const out = new Uint8Array(base.length + (del ? -1 : 1));
    out.set(base.subarray(0, at));
    if (del) out.set(base.subarray(at + 1), at);
    else {(out[at] = pick([0x7b, 0x7d, 0x22, 0x2c, 0x20, 0xff, 0x5b], rand),
        out.set(base.subarray(at), at + 1));}
    return out;
  }
  return jsonEdit(base, rand);
}

function check(bytes: Uint8Array, seed: number): boolean {
  try {
    const r = readSafetensorsBytes(bytes, `fuzz-${seed}`);
    let covered = 0;
    for (const k of r.keys()) {
      const info = r.info(k);
      assert(info.byteOffset + info.byteLength <= bytes.length, `seed ${seed}: ${k} out of range`);
      covered += info.byteLength;
      assert(r.f32(k).length * 1 >= 0);
    }
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    assert(covered === bytes.length - 8 - n, `seed ${seed}: layout does not tile the data area`);
    return true;
  } catch (e) {
    if (e instanceof SafetensorsError) return false;
    fail(`seed ${seed}: ${(e as Error)?.constructor?.name} ${(e as Error)?.message}`);
  }
}

Deno.test(`readSafetensorsBytes() refuses ${CASES} mutated files only with SafetensorsError`, () => {
  const bases = baseFiles();
  for (const b of bases) assert(check(b, -1));
  let refused = 0;
  for (let seed = 0; seed < CASES; seed++) {
    const rand = rng(seed);
    let bytes = pick(bases, rand);
    const rounds = 1 + ((rand() * 3) | 0);
    for (let i = 0; i < rounds; i++) {
      try {
        bytes = mutate(bytes, rand);
      } catch {
        break; // a previous round left JSON that jsonEdit cannot parse; test what we have
      }
    }
    if (!check(bytes, seed)) refused++;
  }
  assert(refused > CASES / 2, `only ${refused} refused: the mutations are too weak`);
  assert(refused < CASES, "nothing was accepted: the mutations are too strong");
});

Deno.test("openSafetensors() refuses mutated files on disk only with SafetensorsError", async () => {
  await withTempDir(async (dir) => {
    const bases = baseFiles();
    for (let seed = 0; seed < 200; seed++) {
      const rand = rng(100_000 + seed);
      const bytes = mutate(pick(bases, rand), rand);
      const path = `${dir}/f${seed}.safetensors`;
      await Deno.writeFile(path, bytes);
      try {
        using st = await openSafetensors(path);
        for (const k of st.keys()) await st.readF32(k);
      } catch (e) {
        if (!(e instanceof SafetensorsError)) fail(`seed ${seed}: ${(e as Error).message}`);
      }
    }
  });
});
