import { assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";

Deno.test("assert shim: assertEquals compares typed arrays and nested objects deeply", () => {
  assertEquals({ a: [1, 2], b: new Float32Array([1, 2]) }, {
    a: [1, 2],
    b: new Float32Array([1, 2]),
  });
  assertThrows(() => assertEquals([1, 2], [1, 3]), Error, "Values are not equal");
});

Deno.test("assert shim: assertAlmostEquals honours the tolerance", () => {
  assertAlmostEquals(1, 1 + 1e-8);
  assertThrows(() => assertAlmostEquals(1, 1.1, 0.01), Error, "is greater than");
});

Deno.test("assert shim: assertRejects checks the class and message", async () => {
  await assertRejects(() => Promise.reject(new RangeError("bad value")), RangeError, "bad");
  await assertRejects(
    () => assertRejects(() => Promise.resolve(1)),
    Error,
    "Expected function to reject",
  );
});
