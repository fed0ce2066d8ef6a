// cli/_progress.ts: counts, rate and ETA per stage; plain lines (throttled to one a second plus
// each stage's last) when stderr is not a terminal, one line redrawn in place when it is.

import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { formatBytes, formatDuration, ProgressView } from "../../cli/_progress.ts";
import type { ProgressEvent } from "../../pipeline/edit_options.ts";

function view(tty: boolean) {
  let text = "", t = 0;
  const v = new ProgressView({ write: (s) => text += s, tty, now: () => t });
  return { v, out: () => text, at: (ms: number) => t = ms };
}

const steps = (stage: string, done: number, total: number): ProgressEvent => ({
  stage,
  done,
  total,
  unit: "steps",
});

Deno.test("formatBytes() and formatDuration() print short human units", () => {
  assertEquals(formatBytes(17), "17 B");
  assertEquals(formatBytes(312_400), "312 kB");
  assertEquals(formatBytes(1_500_000), "1.50 MB");
  assertEquals(formatBytes(27_100_000), "27.1 MB");
  assertEquals(formatBytes(2.45e9), "2.45 GB");
  assertEquals(formatDuration(0.42), "0.4s");
  assertEquals(formatDuration(12.4), "12s");
  assertEquals(formatDuration(185), "3m05s");
  assertEquals(formatDuration(3720), "1h02m");
});

Deno.test("ProgressView prints throttled plain lines with it/s and ETA off a terminal", () => {
  const { v, out, at } = view(false);
  at(0);
  v.update(steps("invert", 0, 10));
  for (let k = 1; k <= 10; k++) {
    at(k * 400); // 2.5 it/s
    v.update(steps("invert", k, 10));
  }
  const lines = out().trimEnd().split("\n");
  assertEquals(lines[0], "inverting: 0% 0/10 steps");
  // One line a second at most: after the first, steps 3 (1.2 s), 6 (2.4 s), 9 (3.6 s), then 10.
  assertEquals(lines.length, 5);
  assertEquals(lines[1], "inverting: 30% 3/10 steps, 2.50 it/s, ETA 2.8s");
  assertEquals(lines[4], "inverting: 100% 10/10 steps, 2.50 it/s, done in 4.0s");
  v.update(steps("invert", 10, 10)); // a repeated last event prints nothing
  assertEquals(out().trimEnd().split("\n").length, 5);
});

Deno.test("ProgressView shows bytes with MB/s and slow steps as s/it", () => {
  const { v, out, at } = view(false);
  v.prefix = "[2/3] ";
  at(0);
  v.update({ stage: "load", done: 0, total: 8_000_000, unit: "bytes" });
  at(2000);
  v.update({ stage: "load", done: 8_000_000, total: 8_000_000, unit: "bytes" });
  at(2000);
  v.update(steps("edit", 0, 4));
  at(7000);
  v.update(steps("edit", 1, 4));
  const lines = out().trimEnd().split("\n");
  assertEquals(lines[1], "[2/3] loading model: 100% 8.00 MB/8.00 MB, 4.00 MB/s, done in 2.0s");
  assertEquals(lines[3], "[2/3] editing: 25% 1/4 steps, 5.0 s/it, ETA 15s");
});

Deno.test("ProgressView redraws one line per stage in place on a terminal", () => {
  const { v, out, at } = view(true);
  at(0);
  v.update(steps("invert", 0, 2));
  at(500);
  v.update(steps("invert", 1, 2));
  at(520); // within 100 ms: skipped
  v.update(steps("edit", 0, 2));
  at(1000);
  v.update(steps("edit", 2, 2));
  v.line("warning: something");
  const text = out();
  const draws = text.split("\r\x1b[2K").slice(1);
  assertEquals(draws.length, 4);
  assertMatch(draws[0], /^inverting +\[-{20}\] +0% 0\/2 steps$/);
  assertMatch(
    draws[1],
    /^inverting +\[#{10}-{10}\] +50% 1\/2 steps {2}2\.00 it\/s {2}ETA 0\.5s\n$/,
  );
  assertStringIncludes(draws[3], "[####################] 100% 2/2 steps");
  assert(text.endsWith("done in 0.5s\nwarning: something\n"));
});

function assert(ok: boolean): void {
  if (!ok) throw new Error("assertion failed");
}
