import { assertEquals, assertThrows } from "@std/assert";
import {
  alignTokens,
  refinementMapper,
  replacementMapper,
  wordTokenRanges,
} from "../../pipeline/p2p.ts";

Deno.test("wordTokenRanges() starts a word at each piece with ▁ and skips EOS and padding", () => {
  assertEquals(wordTokenRanges(["▁a", "▁red", "▁st", "ar", "</s>", "<pad>"]), [[0], [1], [2, 3]]);
});

Deno.test("replacementMapper() maps swapped words one to one or spread, identity elsewhere", () => {
  // "a red star" → "a blue star": red = token 1, blue = tokens 1, 2 (spread 1/2), star shifts by one
  const m = replacementMapper(["a", "red", "star"], ["a", "blue", "star"], [[0], [1], [2]], [[0], [
    1,
    2,
  ], [3]], 6);
  const at = (i: number, j: number) => m.matrix[i * 6 + j];
  assertEquals([at(0, 0), at(1, 1), at(1, 2), at(2, 3), at(3, 4)], [1, 0.5, 0.5, 1, 1]);
  assertEquals(Array.from(m.beta), [0, 0, 0, 0, 0, 0]);
  assertThrows(
    () => replacementMapper(["a"], ["a", "b"], [[0]], [[0], [1]], 4),
    RangeError,
    "1 and 2 words",
  );
});

Deno.test("alignTokens() aligns known prompt pairs (inserted tokens get −1)", () => {
  assertEquals(Array.from(alignTokens([5, 6, 7, 1], [5, 9, 6, 7, 1])), [0, -1, 1, 2, 3]); // word added
  assertEquals(Array.from(alignTokens([5, 6, 7, 1], [5, 7, 1])), [0, 2, 3]); // word removed
  // a substitution scores −1, below a deletion plus an insertion (0): the new token is unaligned
  assertEquals(Array.from(alignTokens([5, 6, 7, 1], [5, 8, 7, 1])), [0, -1, 2, 3]);
});

Deno.test("refinementMapper() keeps new tokens' own attention (β = 1) and maps the rest", () => {
  const m = refinementMapper([5, 6, 1], [5, 9, 6, 1], 6);
  assertEquals(Array.from(m.beta), [0, 1, 0, 0, 0, 0]);
  assertEquals(
    [m.matrix[0 * 6 + 0], m.matrix[1 * 6 + 2], m.matrix[2 * 6 + 3], m.matrix[4 * 6 + 4]],
    [1, 1, 1, 1],
  );
});
