// io/sharded.ts: a `*.safetensors.index.json` with two shards seen as one reader, and its errors.

import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { openShardedSafetensors, parseShardIndex } from "../../io/sharded.ts";
import { SafetensorsError } from "../../io/safetensors.ts";
import { writeSafetensors } from "../../io/safetensors_write.ts";
import { withTempDir } from "./_safetensors_helpers.ts";

const S1 = "model-00001-of-00002.safetensors";
const S2 = "model-00002-of-00002.safetensors";

async function writeShards(dir: string, weightMap?: Record<string, string>) {
  await writeSafetensors(`${dir}/${S1}`, {
    "encoder.a": { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) },
    "encoder.b": { dtype: "F16", shape: [1], data: new Uint16Array([0x4000]) },
  });
  await writeSafetensors(`${dir}/${S2}`, {
    "shared.weight": { dtype: "BF16", shape: [2, 1], data: new Uint16Array([0x3f80, 0xbf80]) },
  });
  const index = {
    metadata: { total_size: 14 },
    weight_map: weightMap ?? { "shared.weight": S2, "encoder.a": S1, "encoder.b": S1 },
  };
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index, null, 2));
  return `${dir}/model.safetensors.index.json`;
}

Deno.test("openShardedSafetensors() gives one view over all shards", async () => {
  await withTempDir(async (dir) => {
    using r = await openShardedSafetensors(await writeShards(dir));
    assertEquals(r.keys(), ["shared.weight", "encoder.a", "encoder.b"]);
    assertEquals(r.metadata, { total_size: "14" });
    assertEquals(r.shardPaths(), [`${dir}/${S2}`, `${dir}/${S1}`]);
    assertEquals(r.info("encoder.b").file, `${dir}/${S1}`);
    assertEquals(r.info("shared.weight").shape, [2, 1]);
    assertEquals([...(await r.readF32("shared.weight"))], [1, -1]);
    assertEquals([...(await r.readF32("encoder.b"))], [2]);
    assertEquals((await r.readRaw("encoder.a")).length, 8);
    assertEquals((await Array.fromAsync(r.readChunks("encoder.a", 4))).length, 2);
    assertEquals(r.has("encoder.a"), true);
    assertThrows(
      () => r.info("nope"),
      SafetensorsError,
      `Cannot find tensor "nope" in "${dir}/model.safetensors.index.json": the index has no such key`,
    );
  });
});

Deno.test("openShardedSafetensors() names a missing shard file", async () => {
  await withTempDir(async (dir) => {
    const index = await writeShards(dir, {
      "encoder.a": S1,
      "x": "model-00003-of-00003.safetensors",
    });
    await assertRejects(
      () => openShardedSafetensors(index),
      SafetensorsError,
      `Cannot open shard "model-00003-of-00003.safetensors" listed in "${index}": no such file in "${dir}/"`,
    );
  });
});

Deno.test("openShardedSafetensors() names a key mapped to a shard that lacks it", async () => {
  await withTempDir(async (dir) => {
    const index = await writeShards(dir, { "encoder.a": S1, "shared.weight": S1 });
    await assertRejects(
      () => openShardedSafetensors(index),
      SafetensorsError,
      `Cannot find tensor "shared.weight" in shard "${dir}/${S1}": the index "${index}" ` +
        "maps it there but the shard has no such key",
    );
  });
});

Deno.test("openShardedSafetensors() reports bad JSON with file and position", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/model.safetensors.index.json`;
    await Deno.writeTextFile(path, '{"weight_map": {"a": "x",\n}}');
    const e = await assertRejects(() => openShardedSafetensors(path), SyntaxError);
    assertStringIncludes(e.message, `Cannot parse JSON file "${path}"`);
    assertStringIncludes(e.message, "(line 2 column 1)");
    await assertRejects(
      () => openShardedSafetensors(`${dir}/none.json`),
      Deno.errors.NotFound,
      `Cannot read shard index at "${dir}/none.json": no such file`,
    );
  });
});

Deno.test("parseShardIndex() checks the index's structure", () => {
  const bad = (json: unknown, part: string) =>
    assertThrows(() => parseShardIndex(json, "i.json"), SafetensorsError, part);
  bad([], 'Cannot read shard index "i.json": the file is not a JSON object');
  bad({ metadata: {} }, '"weight_map" is missing or not an object');
  bad({ weight_map: [] }, '"weight_map" is missing or not an object');
  bad({ metadata: 3, weight_map: {} }, '"metadata" is not an object');
  bad({ weight_map: { k: 3 } }, '"weight_map" entry "k" is 3, expected a file name');
  bad({ weight_map: { k: "../x.safetensors" } }, 'names "../x.safetensors", outside the index');
  bad({ weight_map: { k: "/etc/x" } }, "outside the index's folder");
  assertEquals(
    parseShardIndex({ weight_map: { k: "a.safetensors" } }, "i").weightMap.get("k"),
    "a.safetensors",
  );
});
