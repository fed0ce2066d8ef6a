// One test per header rule of io/safetensors_header.ts; each asserts that the SafetensorsError
// message names the file, the key (when there is one) and the rule that failed.

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  MAX_HEADER_BYTES,
  parseHeaderLength,
  parseSafetensorsHeader,
  SafetensorsError,
} from "../../io/safetensors_header.ts";
import { readSafetensorsBytes } from "../../io/safetensors.ts";
import { rawHeaderBytes, rawSafetensors } from "./_safetensors_helpers.ts";

const NAME = "vae/x.safetensors";

function refuse(bytes: Uint8Array, ...parts: string[]): SafetensorsError {
  const e = assertThrows(() => readSafetensorsBytes(bytes, NAME), SafetensorsError);
  assertStringIncludes(e.message, `"${NAME}"`);
  for (const p of parts) assertStringIncludes(e.message, p);
  assertEquals(e.name, "SafetensorsError");
  return e;
}

const t = (dtype: string, shape: unknown, offsets: unknown) => ({
  dtype,
  shape,
  data_offsets: offsets,
});

Deno.test("parseSafetensorsHeader() accepts a valid file and reports absolute offsets", () => {
  const bytes = rawSafetensors({ b: t("F16", [3], [8, 14]), a: t("F32", [2], [0, 8]) }, 14);
  const h = parseSafetensorsHeader(bytes, bytes.length, NAME);
  assertEquals([...h.tensors.keys()], ["a", "b"]);
  const start = 8 + h.headerLength;
  assertEquals(h.tensors.get("b"), {
    dtype: "F16",
    shape: [3],
    byteOffset: start + 8,
    byteLength: 6,
    file: NAME,
  });
  assertEquals(h.metadata, {});
});

Deno.test("header rule: a file shorter than the 8-byte length prefix is refused", () => {
  refuse(new Uint8Array(5), "file size 5 is smaller than the 8-byte length prefix");
});

Deno.test("header rule: the header length must fit in the file", () => {
  const bytes = rawSafetensors({}, 0, { lengthField: 9007199254n });
  refuse(bytes, `header length 9007199254 exceeds file size ${bytes.length}`);
  refuse(
    rawSafetensors({}, 0, { lengthField: 2n ** 64n - 1n }),
    "header length 18446744073709551615",
  );
});

Deno.test("header rule: the header length is at most 100 MB", () => {
  const first8 = new Uint8Array(8);
  new DataView(first8.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
  const e = assertThrows(
    () => parseHeaderLength(first8, 300_000_000, NAME),
    SafetensorsError,
    "header length 100000001 exceeds the limit of 100000000 bytes",
  );
  assertStringIncludes(e.message, NAME);
  new DataView(first8.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES), true);
  assertEquals(parseHeaderLength(first8, 300_000_000, NAME), MAX_HEADER_BYTES);
});

Deno.test("header rule: the header length is at least 2", () => {
  refuse(rawSafetensors("", 0, { exactHeader: true }), "header length 0 is below the minimum of 2");
  refuse(rawSafetensors("{", 0, { exactHeader: true }), "header length 1 is below the minimum");
});

Deno.test("header rule: only a header prefix shorter than the header is refused", () => {
  const bytes = rawSafetensors({ a: t("U8", [4], [0, 4]) }, 4);
  assertThrows(
    () => parseSafetensorsHeader(bytes.subarray(0, 20), bytes.length, NAME),
    SafetensorsError,
    "only 20 bytes given but the header ends at byte",
  );
  assertEquals(
    parseSafetensorsHeader(bytes.subarray(0, bytes.length - 4), bytes.length, NAME)
      .tensors.size,
    1,
  );
});

Deno.test("header rule: the header must be valid UTF-8", () => {
  refuse(rawHeaderBytes(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), "header is not valid UTF-8");
});

Deno.test("header rule: the header must be JSON", () => {
  refuse(rawSafetensors('{"a": [1,}'), "header is not valid JSON");
});

Deno.test("header rule: the header must be a JSON object", () => {
  refuse(rawSafetensors("[1, 2]"), "header is [1,2], expected a JSON object");
  refuse(rawSafetensors("null"), "header is null, expected a JSON object");
  refuse(rawSafetensors('"{}"'), 'header is "{}", expected a JSON object');
});

Deno.test("header rule: __metadata__ must be an object", () => {
  refuse(rawSafetensors({ __metadata__: ["x"] }), '__metadata__ is ["x"], expected an object');
});

Deno.test("header rule: __metadata__ values must be strings", () => {
  refuse(
    rawSafetensors({ __metadata__: { format: "pt", total: 12 } }),
    '__metadata__ key "total" is 12, expected a string',
  );
});

Deno.test("header rule: a tensor entry must be an object", () => {
  refuse(rawSafetensors({ w: [1, 2] }), 'tensor "w" is [1,2], expected an object');
});

Deno.test("header rule: a tensor entry needs dtype, shape and data_offsets", () => {
  refuse(
    rawSafetensors({ w: { dtype: "F32", shape: [1] } }, 4),
    'tensor "w" lacks the field "data_offsets"',
  );
  refuse(rawSafetensors({ w: { shape: [1], data_offsets: [0, 4] } }, 4), 'lacks the field "dtype"');
});

Deno.test("header rule: a tensor entry has no other fields", () => {
  refuse(
    rawSafetensors({ w: { ...t("F32", [1], [0, 4]), offset: 0 } }, 4),
    'tensor "w" has the unknown field "offset"',
  );
});

Deno.test("header rule: an unknown dtype is named", () => {
  refuse(rawSafetensors({ w: t("F12", [1], [0, 4]) }, 4), 'tensor "w" has unknown dtype "F12"');
  refuse(rawSafetensors({ w: t("f32", [1], [0, 4]) }, 4), 'unknown dtype "f32"');
  refuse(rawSafetensors({ w: { ...t("F32", [1], [0, 4]), dtype: 4 } }, 4), "unknown dtype 4");
});

Deno.test("header rule: shape is an array of non-negative safe integers", () => {
  for (const shape of [[-1], [1.5], ["2"], 4, [2 ** 53], [null]]) {
    refuse(
      rawSafetensors({ w: t("U8", shape, [0, 2]) }, 2),
      `tensor "w" has shape ${JSON.stringify(shape)}, expected an array of non-negative integers`,
    );
  }
});

Deno.test("header rule: data_offsets are two non-negative safe integers", () => {
  for (const off of [[0], [0, 4, 8], [-4, 0], [0, 4.5], "0,4", [0, 2 ** 53]]) {
    refuse(
      rawSafetensors({ w: t("U8", [4], off) }, 4),
      `tensor "w" has data_offsets ${JSON.stringify(off)}, expected two non-negative integers`,
    );
  }
});

Deno.test("header rule: data_offsets begin must not be after end", () => {
  refuse(
    rawSafetensors({ w: t("U8", [0], [4, 0]) }, 4),
    'tensor "w" has data_offsets [4, 0] with begin after end',
  );
});

Deno.test("header rule: data_offsets must end inside the data area", () => {
  refuse(
    rawSafetensors({ w: t("U8", [8], [0, 8]) }, 4),
    'tensor "w" has data_offsets [0, 8] past the end of the 4-byte data area',
  );
});

Deno.test("header rule: product(shape) * dtype size equals the offsets' span", () => {
  refuse(
    rawSafetensors({ w: t("F32", [2, 3], [0, 20]) }, 24),
    'tensor "w" has shape [2,3] of F32 needing 24 bytes but data_offsets [0, 20] span 20',
  );
});

Deno.test("header rule: a byte size past 2^53 is refused without overflow", () => {
  refuse(
    rawSafetensors({ w: t("F64", [2 ** 26, 2 ** 26, 2 ** 2], [0, 8]) }, 8),
    'tensor "w" has shape [67108864,67108864,4] whose byte size overflows',
  );
  // Elements fit but bytes do not (2^51 * 8 = 2^54).
  refuse(rawSafetensors({ w: t("F64", [2 ** 51], [0, 8]) }, 8), "whose byte size overflows");
});

Deno.test("header rule: tensors may not leave a gap in the data area", () => {
  refuse(
    rawSafetensors({ a: t("U8", [4], [0, 4]), b: t("U8", [4], [8, 12]) }, 12),
    'tensor "b" starts at data offset 8, leaving a gap after 4',
  );
  refuse(rawSafetensors({ a: t("U8", [4], [4, 8]) }, 8), 'tensor "a" starts at data offset 4');
});

Deno.test("header rule: tensors may not overlap", () => {
  refuse(
    rawSafetensors({ a: t("U8", [8], [0, 8]), b: t("U8", [4], [4, 8]) }, 8),
    "starts at data offset 4, overlapping data up to 8",
  );
  refuse(
    rawSafetensors({ a: t("U8", [4], [0, 4]), b: t("U8", [4], [0, 4]) }, 4),
    "starts at data offset 0, overlapping data up to 4",
  );
});

Deno.test("header rule: tensors must cover the data area exactly", () => {
  refuse(
    rawSafetensors({ a: t("U8", [4], [0, 4]) }, 6),
    "tensors cover 4 bytes but the data area holds 6",
  );
  refuse(rawSafetensors({}, 3), "tensors cover 0 bytes but the data area holds 3");
});

Deno.test("parseSafetensorsHeader() accepts the edge cases the reference accepts", () => {
  // Minimal header, no padding; zero-size tensors sharing an offset; scalars; odd key names.
  assertEquals(
    readSafetensorsBytes(rawSafetensors("{}", 0, { exactHeader: true }), NAME).keys(),
    [],
  );
  const bytes = rawSafetensors({
    __metadata__: { ["__proto__"]: "p", constructor: "c" },
    "": t("F32", [], [4, 8]),
    ["__proto__"]: t("U8", [0, 5], [0, 0]),
    z: t("I32", [1], [0, 4]),
    e: t("BOOL", [0], [8, 8]),
  }, 8);
  const r = readSafetensorsBytes(bytes, NAME);
  assertEquals(r.keys().sort(), ["", "__proto__", "e", "z"]);
  assertEquals(Object.getOwnPropertyDescriptor(r.metadata, "__proto__")?.value, "p");
  assertEquals(r.metadata["constructor"] as unknown, "c");
  assertEquals(r.info("").shape, []);
  assertEquals(r.f32("__proto__").length, 0);
  assert(Object.getPrototypeOf(r.metadata) === Object.prototype);
});
