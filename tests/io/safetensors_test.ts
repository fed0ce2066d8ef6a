// The lazy file reader and the in-memory reader of io/safetensors.ts: ranged reads (a spy on
// Deno.FsFile.prototype.read counts bytes), chunk streaming, concurrent reads, access errors.

import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { openSafetensors, readSafetensorsBytes, SafetensorsError } from "../../io/safetensors.ts";
import { serializeSafetensors, writeSafetensors } from "../../io/safetensors_write.ts";
import { randomBytes, rawSafetensors, rng, withTempDir } from "./_safetensors_helpers.ts";

const BIG = 16 << 20; // 64 MiB of F32

/** Counts bytes returned by every Deno.FsFile read while `fn` runs. */
async function countReads(fn: () => Promise<void>): Promise<number> {
  const proto = Deno.FsFile.prototype;
  const original = proto.read;
  let total = 0;
  proto.read = async function (this: Deno.FsFile, p: Uint8Array) {
    const n = await original.call(this, p);
    total += n ?? 0;
    return n;
  };
  try {
    await fn();
  } finally {
    proto.read = original;
  }
  return total;
}

function bigFile() {
  const big = new Float32Array(BIG);
  for (let i = 0; i < big.length; i += 4099) big[i] = i;
  return {
    "big.weight": { dtype: "F32" as const, shape: [BIG / 1024, 1024], data: big },
    "small.bias": {
      dtype: "F16" as const,
      shape: [3],
      data: new Uint16Array([0x3c00, 0xc000, 0x3800]),
    },
    "z.index": { dtype: "I64" as const, shape: [2], data: new BigInt64Array([-5n, 1n << 40n]) },
  };
}

Deno.test("openSafetensors() reads the header and then only the requested byte range", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.safetensors`;
    await writeSafetensors(path, bigFile(), { format: "pt" });
    let st!: Awaited<ReturnType<typeof openSafetensors>>;
    const headerBytes = await countReads(async () => {
      st = await openSafetensors(path);
    });
    assert(headerBytes < 1024, `open read ${headerBytes} bytes`);
    assertEquals(st.bytesRead, headerBytes);
    assertEquals(st.metadata, { format: "pt" });
    assertEquals(st.keys(), ["z.index", "big.weight", "small.bias"]); // I64, F32, F16 order
    let small!: Float32Array, idx!: Uint8Array;
    const dataBytes = await countReads(async () => {
      small = await st.readF32("small.bias");
      idx = await st.readRaw("z.index");
    });
    assertEquals(dataBytes, 6 + 16);
    assertEquals([...small], [1, -2, 0.5]);
    assertEquals([...new BigInt64Array(idx.buffer)], [-5n, 1n << 40n]);
    const info = st.info("big.weight");
    assertEquals(info.byteLength, BIG * 4);
    assertEquals(info.byteOffset, st.info("z.index").byteOffset + 16);
    assertEquals(info.file, path);
    const big = await st.readF32("big.weight");
    assertEquals(big[4099 * 7], 4099 * 7);
    assertEquals(st.bytesRead, headerBytes + 22 + BIG * 4);
    st.close();
  });
});

Deno.test("readChunks() streams a tensor in aligned chunks that add up to readRaw()", async () => {
  await withTempDir(async (dir) => {
    const rand = rng(3);
    const data = randomBytes(3 * 1000 * 8, rand);
    const path = `${dir}/c.safetensors`;
    await writeSafetensors(path, {
      f64: { dtype: "F64", shape: [3, 1000], data: new Float64Array(data.buffer) },
      u8: { dtype: "U8", shape: [37], data: randomBytes(37, rand) },
    });
    using st = await openSafetensors(path);
    for (
      const [key, max, step] of [["f64", 1001, 1000], ["f64", 8, 8], ["u8", 10, 8], [
        "u8",
        4,
        4,
      ]] as const
    ) {
      const raw = await st.readRaw(key);
      const parts: Uint8Array[] = [];
      let expectOffset = 0;
      for await (const c of st.readChunks(key, max)) {
        assertEquals(c.byteOffset, expectOffset);
        assert(c.bytes.length <= max);
        if (c.byteOffset + c.bytes.length < raw.length) assertEquals(c.bytes.length, step);
        expectOffset += c.bytes.length;
        parts.push(c.bytes);
      }
      assertEquals(expectOffset, raw.length);
      const joined = new Uint8Array(raw.length);
      let at = 0;
      for (const p of parts) joined.set(p, (at += p.length) - p.length);
      assertEquals(joined, raw);
    }
    const e = await assertRejects(async () => {
      for await (const _ of st.readChunks("f64", 7)) { /* never reached */ }
    }, RangeError);
    assertStringIncludes(e.message, 'Cannot read tensor "f64" in chunks: maxChunkBytes 7');
    assertEquals([...(await Array.fromAsync(st.readChunks("u8")))].length, 1);
  });
});

Deno.test("concurrent reads on one file return the right bytes", async () => {
  await withTempDir(async (dir) => {
    const rand = rng(5);
    const tensors: Record<string, { dtype: "U8"; shape: number[]; data: Uint8Array }> = {};
    for (let i = 0; i < 40; i++) {
      tensors[`t${i}`] = {
        dtype: "U8",
        shape: [1 + i * 997],
        data: randomBytes(1 + i * 997, rand),
      };
    }
    await writeSafetensors(`${dir}/m.safetensors`, tensors);
    using st = await openSafetensors(`${dir}/m.safetensors`);
    const keys = Object.keys(tensors).reverse();
    const got = await Promise.all(keys.map((k) => st.readRaw(k)));
    keys.forEach((k, i) => assertEquals(got[i], tensors[k].data));
  });
});

Deno.test("openSafetensors() errors name the file and the key", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(
      () => openSafetensors(`${dir}/nope.safetensors`),
      SafetensorsError,
      `Cannot open safetensors file "${dir}/nope.safetensors": no such file`,
    );
    const bad = `${dir}/bad.safetensors`;
    await Deno.writeFile(bad, rawSafetensors({}, 0, { lengthField: 9007199254n }));
    await assertRejects(
      () => openSafetensors(bad),
      SafetensorsError,
      `Cannot read safetensors header of "${bad}": header length 9007199254 exceeds file size 16`,
    );
    await Deno.writeFile(bad, new Uint8Array(3));
    await assertRejects(() => openSafetensors(bad), SafetensorsError, "file size 3 is smaller");
    const path = `${dir}/ok.safetensors`;
    await writeSafetensors(path, { a: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
    const st = await openSafetensors(path);
    assertThrows(
      () => st.info("b"),
      SafetensorsError,
      `Cannot find tensor "b" in "${path}": the file has no such key`,
    );
    await assertRejects(() => st.readRaw("b"), SafetensorsError, 'tensor "b"');
    await Deno.truncate(path, 8 + 8); // shrink after opening
    await assertRejects(() => st.readRaw("a"), SafetensorsError, "the file ended at byte");
    st.close();
    st.close();
    await assertRejects(
      () => st.readRaw("a"),
      SafetensorsError,
      `Cannot read tensor "a" of "${path}": the file is closed`,
    );
  });
});

Deno.test("openSafetensors() refuses a 150 MB header after reading only its 8-byte length", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/sparse.safetensors`;
    const f = await Deno.open(path, { write: true, create: true });
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigUint64(0, 150_000_000n, true);
    await f.write(head);
    await f.truncate(200_000_000);
    f.close();
    const n = await countReads(async () => {
      await assertRejects(
        () => openSafetensors(path),
        SafetensorsError,
        "header length 150000000 exceeds the limit of 100000000 bytes",
      );
    });
    assertEquals(n, 8);
  });
});

Deno.test("readSafetensorsBytes() reads in memory with zero-copy views and async twins", async () => {
  const bytes = serializeSafetensors({
    w: { dtype: "BF16", shape: [2], data: new Uint16Array([0x3f80, 0xc000]) },
    b: { dtype: "I8", shape: [3], data: new Int8Array([-1, 0, 7]) },
  });
  const r = readSafetensorsBytes(bytes, "mem");
  assertEquals(r.keys(), ["w", "b"]);
  assertEquals([...r.f32("w")], [1, -2]);
  assertEquals([...(await r.readF32("b"))], [-1, 0, 7]);
  const view = r.raw("b");
  assertEquals(view.buffer, bytes.buffer);
  const copy = await r.readRaw("b");
  assert(copy.buffer !== bytes.buffer);
  const chunks = await Array.fromAsync(r.readChunks("w", 4));
  assertEquals(chunks.length, 1);
  // An odd offset into a larger buffer still decodes (the reader copies to align).
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  assertEquals([...readSafetensorsBytes(shifted.subarray(1), "odd").f32("w")], [1, -2]);
  const e = assertThrows(() => r.info("x"), SafetensorsError);
  assertInstanceOf(e, Error);
  assertStringIncludes(e.message, '"x" in "mem"');
});

Deno.test("close() during a pending read rejects it with SafetensorsError", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/p.safetensors`;
    await writeSafetensors(path, {
      a: { dtype: "U8", shape: [1 << 20], data: new Uint8Array(1 << 20) },
      b: { dtype: "U8", shape: [4], data: new Uint8Array(4) },
    });
    const st = await openSafetensors(path);
    const pending = [st.readRaw("a"), st.readRaw("b")];
    st.close();
    for (const p of pending) {
      await assertRejects(() => p, SafetensorsError, `of "${path}": the file`);
    }
  });
});
