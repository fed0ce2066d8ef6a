// Writer round trips for every dtype, and interop with the Python `safetensors` library.
//
// Fixtures: tools/make_safetensors_fixtures.py (safetensors 0.8.0, torch 2.15.0, numpy 2.4.6; the
// versions are also in python_mixed.safetensors `__metadata__`).
// Reverse direction, checked by hand on 2026-11-25: the all-dtypes file of the round-trip test
// (kept with DIT4EDIT_KEEP_ROUNDTRIP=/tmp/deno_all.safetensors) loads with
// `tools/.venv/bin/python tools/make_safetensors_fixtures.py --check /tmp/deno_all.safetensors`
// (safe_open + load_file, all 17 tensors, metadata kept), and the values torch loads equal our
// readF32 on all 226 elements. The byte-identical test below shows the same for the layout.

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { decodeToF32, dtypeSize, SAFETENSORS_DTYPES } from "../../io/safetensors_dtype.ts";
import { openSafetensors, readSafetensorsBytes } from "../../io/safetensors.ts";
import {
  serializeSafetensors,
  type TensorToWrite,
  writeSafetensors,
} from "../../io/safetensors_write.ts";
import { f16ToF32, fp8E4m3Table, fp8E5m2Table } from "../../io/f16.ts";
import { FIXTURES, randomBytes, rng, withTempDir } from "./_safetensors_helpers.ts";

/** Independent per-element f32 value of raw little-endian bytes. */
function oracle(dtype: string, b: Uint8Array, i: number): number {
  const v = new DataView(b.buffer, b.byteOffset);
  switch (dtype) {
    case "F64":
      return Math.fround(v.getFloat64(i * 8, true));
    case "F32":
      return v.getFloat32(i * 4, true);
    case "F16":
      return f16ToF32(v.getUint16(i * 2, true));
    case "BF16":
      return new Float32Array(new Uint32Array([v.getUint16(i * 2, true) << 16]).buffer)[0];
    case "F8_E4M3":
      return fp8E4m3Table()[b[i]];
    case "F8_E5M2":
      return fp8E5m2Table()[b[i]];
    case "BOOL":
      return b[i] ? 1 : 0;
    case "U8":
      return b[i];
    case "I8":
      return v.getInt8(i);
    case "I16":
      return v.getInt16(i * 2, true);
    case "U16":
      return v.getUint16(i * 2, true);
    case "I32":
      return Math.fround(v.getInt32(i * 4, true));
    case "U32":
      return Math.fround(v.getUint32(i * 4, true));
    case "I64":
      return Math.fround(Number(v.getBigInt64(i * 8, true)));
    default:
      return Math.fround(Number(v.getBigUint64(i * 8, true)));
  }
}

function same(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

Deno.test("writeSafetensors() -> openSafetensors() round-trips every dtype", async () => {
  await withTempDir(async (dir) => {
    const rand = rng(1);
    const tensors: Record<string, TensorToWrite> = {};
    for (const dtype of SAFETENSORS_DTYPES) {
      const shape = [3, 5];
      const data = randomBytes(15 * dtypeSize(dtype), rand);
      if (dtype === "BOOL") data.forEach((x, i) => (data[i] = x & 1));
      tensors[`${dtype.toLowerCase()}.w`] = { dtype, shape, data };
    }
    tensors["scalar"] = { dtype: "F32", shape: [], data: new Float32Array([1.5]) };
    tensors["empty"] = { dtype: "F16", shape: [4, 0], data: new Uint16Array(0) };
    const path = Deno.env.get("DIT4EDIT_KEEP_ROUNDTRIP") ?? `${dir}/all.safetensors`;
    await writeSafetensors(path, tensors, { format: "pt", note: "round trip" });
    const st = await openSafetensors(path);
    assertEquals(st.metadata, { format: "pt", note: "round trip" });
    assertEquals(st.keys().sort(), Object.keys(tensors).sort());
    for (const [key, t] of Object.entries(tensors)) {
      const info = st.info(key);
      assertEquals([info.dtype, info.shape], [t.dtype, [...t.shape]]);
      assertEquals(info.byteOffset % 8 === 0 || dtypeSize(t.dtype) < 8, true);
      const raw = await st.readRaw(key);
      assertEquals(raw, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      const f = await st.readF32(key);
      for (let i = 0; i < f.length; i++) {
        assert(same(f[i], oracle(t.dtype, raw, i)), `${key}[${i}]: ${f[i]}`);
      }
    }
    st.close();
    const bytes = await Deno.readFile(path);
    assertEquals(bytes, serializeSafetensors(tensors, { format: "pt", note: "round trip" }));
    if (path.startsWith(dir)) {
      assertEquals((await Array.fromAsync(Deno.readDir(dir))).length, 1, "no temp file left");
    }
  });
});

Deno.test("serializeSafetensors() pads the header with spaces to 8 and orders like the reference", () => {
  const bytes = serializeSafetensors({
    b: { dtype: "U8", shape: [1], data: new Uint8Array([1]) },
    "é": { dtype: "F32", shape: [1], data: new Float32Array([1]) },
    z: { dtype: "F32", shape: [1], data: new Float32Array([2]) },
    a: { dtype: "F64", shape: [1], data: new Float64Array([3]) },
  });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals(n % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert(/^\{.*\} *$/.test(text));
  // F64 first, then F32 by UTF-8 bytes ("z" < "é"), then U8.
  assertEquals(readSafetensorsBytes(bytes, "o").keys(), ["a", "z", "é", "b"]);
  assertEquals(
    serializeSafetensors({}),
    new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]),
  );
});

Deno.test("serializeSafetensors() rejects bad tensors with messages naming the key", () => {
  const f = (t: unknown) => () => serializeSafetensors({ k: t as TensorToWrite });
  assertThrows(
    f({ dtype: "F32", shape: [3], data: new Float32Array(2) }),
    RangeError,
    'Cannot write tensor "k": data has 8 bytes but shape [3] of F32 needs 12',
  );
  assertThrows(
    f({ dtype: "F9", shape: [1], data: new Uint8Array(1) }),
    TypeError,
    'Cannot write tensor "k": unknown dtype "F9"',
  );
  assertThrows(
    f({ dtype: "U8", shape: [-1], data: new Uint8Array(1) }),
    TypeError,
    "shape [-1] is not a list of counts",
  );
  assertThrows(f({ dtype: "U8", shape: [1], data: [1] }), TypeError, "data is not a typed array");
  assertThrows(
    () =>
      serializeSafetensors({ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array(0) } }),
    TypeError,
    "reserved",
  );
  assertThrows(
    () => serializeSafetensors({}, { n: 1 } as unknown as Record<string, string>),
    TypeError,
    'Cannot write metadata "n"',
  );
});

Deno.test("writeSafetensors() replaces files via a rename and fails cleanly for a missing folder", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(
      () => writeSafetensors(`${dir}/missing/x.safetensors`, {}),
      Deno.errors.NotFound,
    );
    await writeSafetensors(`${dir}/x.safetensors`, {});
    await writeSafetensors(`${dir}/x.safetensors`, {
      a: { dtype: "U8", shape: [1], data: new Uint8Array([9]) },
    });
    assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["x.safetensors"]);
    assertEquals(
      (await openSafetensors(`${dir}/x.safetensors`).then(async (s) => {
        const r = await s.readRaw("a");
        s.close();
        return r;
      }))[0],
      9,
    );
  });
});

Deno.test("a file written by the Python safetensors library reads back exactly", async () => {
  const expected = JSON.parse(await Deno.readTextFile(`${FIXTURES}python_mixed.expected.json`));
  using st = await openSafetensors(`${FIXTURES}python_mixed.safetensors`);
  assertEquals(st.metadata.maker, "tools/make_safetensors_fixtures.py");
  assertEquals(st.metadata.safetensors, "0.8.0");
  assertEquals(st.keys().sort(), Object.keys(expected).sort());
  const dtypes = new Set(st.keys().map((k) => st.info(k).dtype));
  for (const d of ["F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "U64", "BOOL"]) {
    assert(dtypes.has(d as never), d);
  }
  for (const key of st.keys()) {
    const info = st.info(key);
    const want = expected[key] as { shape: number[]; values: (number | string)[] };
    assertEquals(info.shape, want.shape, key);
    const f = await st.readF32(key);
    const raw = await st.readRaw(key);
    assertEquals(f.length, want.values.length);
    for (let i = 0; i < f.length; i++) {
      const w = want.values[i];
      if (info.dtype === "I64" || info.dtype === "U64") {
        const v = new DataView(raw.buffer);
        const exact = info.dtype === "I64"
          ? v.getBigInt64(i * 8, true)
          : v.getBigUint64(i * 8, true);
        assertEquals(exact, BigInt(w as string), `${key}[${i}]`);
      }
      const value = w === "nan"
        ? NaN
        : w === "inf"
        ? Infinity
        : w === "-inf"
        ? -Infinity
        : Number(w);
      assert(same(f[i], Math.fround(value)), `${key}[${i}]: got ${f[i]}, Python ${w}`);
    }
    assertEquals(decodeToF32(info.dtype, raw), f);
  }
});

Deno.test("serializeSafetensors() reproduces the Python library's bytes exactly", async () => {
  const theirs = await Deno.readFile(`${FIXTURES}python_exact.safetensors`);
  const r = readSafetensorsBytes(theirs, "python_exact.safetensors");
  const tensors: Record<string, TensorToWrite> = {};
  for (const k of [...r.keys()].reverse()) {
    const i = r.info(k);
    tensors[k] = { dtype: i.dtype, shape: i.shape, data: r.raw(k) };
  }
  assertEquals(serializeSafetensors(tensors, { ...r.metadata }), theirs);
});
