// io/json_file.ts: SyntaxError messages name the file and the position even where V8 does not.

import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { jsonErrorOffset, parseJsonText } from "../../io/json_file.ts";

Deno.test("jsonErrorOffset() finds the first grammar error", () => {
  const cases: [string, number][] = [
    ['{"a": 1}', -1],
    ['  [1, -2.5e3, "x\\u00e9", true, null, {}]  ', -1],
    ['{"a": tru}', 6],
    ['{"a": 1,}', 8],
    ['{"a" 1}', 5],
    ['{"a": 01}', 7],
    ['["\\x"]', 2],
    ["[1, 2", 5],
    ["", 0],
    ['{"a": 1} x', 9],
    ['"tab\there"', 4],
  ];
  for (const [text, at] of cases) {
    assertEquals(jsonErrorOffset(text), at, text);
    if (at >= 0) assertThrows(() => JSON.parse(text));
    else JSON.parse(text);
  }
});

Deno.test("parseJsonText() names the file, line and column", () => {
  const e = assertThrows(() => parseJsonText('{\n "a": tru\n}', "cfg/config.json"), SyntaxError);
  assertStringIncludes(e.message, 'Cannot parse JSON file "cfg/config.json": ');
  assertStringIncludes(e.message, "at position 8 (line 2 column 7)");
  const e2 = assertThrows(() => parseJsonText("", "empty.json"), SyntaxError);
  assertStringIncludes(e2.message, "at position 0 (line 1 column 1)");
  const e3 = assertThrows(() => parseJsonText('{"a":1,}', "v8.json"), SyntaxError);
  assertEquals(e3.message.match(/position/g)?.length, 1);
  assertEquals(parseJsonText('{"a": [1]}', "ok.json"), { a: [1] });
});

Deno.test("parseJsonText() reads Python's Infinity, -Infinity and NaN outside strings", () => {
  const v = parseJsonText(
    '{"a": -Infinity, "b": [Infinity, NaN], "c": "NaN -Infinity", "d": 1}',
    "x.json",
  ) as Record<
    string,
    unknown
  >;
  assertEquals(v.a, -Infinity);
  assertEquals(v.b, [Infinity, NaN]);
  assertEquals(v.c, "NaN -Infinity");
  assertEquals(v.d, 1);
});
