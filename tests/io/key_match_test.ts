// io/key_match.ts: strict key matching between a model's expected tensors and a checkpoint.

import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { assertKeysMatch, formatKeyList, matchKeys } from "../../io/key_match.ts";
import { readSafetensorsBytes } from "../../io/safetensors.ts";
import { serializeSafetensors } from "../../io/safetensors_write.ts";

const ckpt = readSafetensorsBytes(
  serializeSafetensors({
    "proj.weight": { dtype: "F32", shape: [4, 8], data: new Float32Array(32) },
    "proj.bias": { dtype: "F32", shape: [4], data: new Float32Array(4) },
    "extra.table": { dtype: "F16", shape: [2], data: new Uint16Array(2) },
  }),
  "ckpt.safetensors",
);

Deno.test("matchKeys() reports missing, unused and mis-shaped keys by name", () => {
  const r = matchKeys({ "proj.weight": [8, 4], "proj.bias": [4], "norm.weight": [4] }, ckpt);
  assertEquals(r.missing, ["norm.weight"]);
  assertEquals(r.unused, ["extra.table"]);
  assertEquals(r.shapeMismatches, [{ key: "proj.weight", expected: [8, 4], actual: [4, 8] }]);
  const ok = matchKeys(new Map([["a", undefined], ["b", [1]]]), { a: [3], b: [1] });
  assertEquals(ok, { missing: [], unused: [], shapeMismatches: [] });
});

Deno.test("assertKeysMatch() throws a message naming the checkpoint and every problem", () => {
  const e = assertThrows(
    () => assertKeysMatch({ "proj.weight": [8, 4], "proj.bias": [4], "norm.weight": [4] }, ckpt),
    Error,
  );
  assertEquals(
    e.message,
    'Cannot load weights from "ckpt.safetensors": keys 1 missing ("norm.weight"), 1 unused ' +
      '("extra.table"), 1 with the wrong shape ("proj.weight" expected [8, 4], got [4, 8])',
  );
  assertKeysMatch({ "proj.weight": [4, 8], "proj.bias": [4] }, ckpt, { allowUnused: true });
  assertKeysMatch({ "proj.weight": [4, 8], "proj.bias": [4], "extra.table": undefined }, ckpt);
});

Deno.test("assertKeysMatch() truncates long lists after 10 names with a count", () => {
  const expected: Record<string, number[]> = {};
  for (let i = 0; i < 25; i++) expected[`blocks.${String(i).padStart(2, "0")}.w`] = [1];
  const e = assertThrows(() => assertKeysMatch(expected, {}), Error);
  assertStringIncludes(e.message, 'keys 25 missing ("blocks.00.w", "blocks.01.w"');
  assertStringIncludes(e.message, '"blocks.09.w" and 15 more)');
  assertEquals(formatKeyList(["a", "b", "c"], 2), '"a", "b" and 1 more');
  assertEquals(formatKeyList([]), "");
});
