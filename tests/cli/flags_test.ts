// cli/_flags.ts and cli/_batch.ts: flag parsing errors worded for people, and every value checked
// with an error naming the flag, the value and the range (all usage errors, exit 2).

import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { parseBatch } from "../../cli/_batch.ts";
import {
  defaultImagePath,
  DEMO_OUT,
  DEMO_SOURCE,
  DEMO_STEPS,
  DEMO_TARGET,
} from "../../cli/_defaults.ts";
import { UsageError } from "../../cli/_errors.ts";
import { editSpec, type FlagValues, maxPixelsOf, parseFlags } from "../../cli/_flags.ts";

const BASE = ["--image", "in.png", "--source", "a cat", "--target", "a dog", "--out", "o.png"];

function usage(fn: () => unknown, ...parts: string[]): void {
  const e = assertThrows(fn, UsageError);
  for (const p of parts) assertStringIncludes(e.message, p);
}

Deno.test("parseFlags() reads value flags, switches and short forms", () => {
  const v = parseFlags([...BASE, "--steps", "12", "--no-control", "-q", "--json", "--seed=-0"]);
  assertEquals(v.image, "in.png");
  assertEquals(v.steps, "12");
  assertEquals(v["no-control"], true);
  assertEquals(v.quiet, true);
  assertEquals(v.json, true);
  assertEquals(parseFlags(["-o", "x.png", "-h"]), { out: "x.png", help: true });
});

Deno.test("parseFlags() names unknown flags, missing values and stray arguments", () => {
  usage(() => parseFlags(["--colour", "red"]), `Unknown flag "--colour"`, "--help");
  usage(() => parseFlags(["--steps"]), `Flag "--steps" needs a value`);
  usage(() => parseFlags(["--out", "--json"]), `Flag "--out" needs a value`, `"--json"`);
  usage(() => parseFlags(["-o", "-q"]), `Flag "-o" needs a value`);
  usage(() => parseFlags(["--seed", "-3"]), `--seed=-3`);
  usage(() => parseFlags(["cat.png"]), `Unexpected argument "cat.png"`);
  usage(() => parseFlags(["--quiet=yes"]), `Flag "--quiet" takes no value`);
});

Deno.test("editSpec() maps flags to EditOptions fields, leaving unset ones to the pipeline", () => {
  const spec = editSpec(parseFlags([
    ...BASE,
    ...["--steps", "20", "--guidance", "7.5", "--threshold", "4", "--blocks", "14..27"],
    ...["--merge-ratio", "0.5", "--cross-replace", "0.6", "--local-blend", "DOG"],
    ...["--no-control", "--no-union", "--no-guidance-correction", "--inversion", "ddim"],
    ...["--seed", "42", "--size", "512x384", "--background-threshold", "0.6"],
    ...["--grid", "g.jpg", "--attention-maps", "maps"],
  ]));
  assertEquals(spec, {
    image: "in.png",
    source: "a cat",
    target: "a dog",
    out: "o.png",
    grid: "g.jpg",
    attentionMaps: "maps",
    settings: {
      steps: 20,
      guidance: 7.5,
      threshold: 4,
      blocks: [14, 27],
      mergeRatio: 0.5,
      crossReplace: 0.6,
      localBlend: "dog",
      control: false,
      union: false,
      guidanceCorrection: false,
      inversion: "ddim",
      seed: 42,
      size: { width: 512, height: 384 },
      backgroundThreshold: 0.6,
    },
  });
  assertEquals(editSpec(parseFlags(BASE)).settings, {});
  assertEquals(editSpec(parseFlags([...BASE, "--no-keep-background"])).settings, {
    keepBackground: false,
  });
  assertEquals(editSpec(parseFlags([...BASE, "--blocks", "3"])).settings.blocks, [3, 3]);
});

Deno.test("editSpec() refuses each out-of-range value, naming flag, value and range", () => {
  const bad = (extra: string[], ...parts: string[]) =>
    usage(() => editSpec(parseFlags([...BASE, ...extra])), ...parts);
  bad(["--steps", "0"], `Invalid --steps "0"`, "from 1 to 1000");
  bad(["--steps", "2.5"], `Invalid --steps "2.5"`, "integer");
  bad(["--steps", "ten"], `Invalid --steps "ten"`);
  bad(["--steps", ""], `Invalid --steps ""`);
  bad(["--guidance=-1"], `Invalid --guidance "-1"`, "≥ 0");
  bad(["--guidance", "Infinity"], `Invalid --guidance "Infinity"`, "finite");
  bad(["--guidance", "0x10"], `Invalid --guidance "0x10"`);
  bad(["--threshold", "31"], `Invalid --threshold "31"`, "from 0 to 30 (the default --steps)");
  bad(["--steps", "10", "--threshold", "11"], `Invalid --threshold "11"`, "from 0 to 10 (--steps)");
  bad(["--threshold=-1"], `Invalid --threshold "-1"`);
  bad(["--blocks", "9..3"], `Invalid --blocks "9..3"`, "0 ≤ A ≤ B");
  bad(["--blocks", "a..b"], `Invalid --blocks "a..b"`);
  bad(["--merge-ratio", "0.9"], `Invalid --merge-ratio "0.9"`, "from 0 to 0.75");
  bad(["--cross-replace", "1.5"], `Invalid --cross-replace "1.5"`, "from 0 to 1");
  bad(["--background-threshold", "2"], `Invalid --background-threshold "2"`, "from 0 to 1");
  bad(
    ["--no-keep-background", "--background-threshold", "0.5"],
    `Invalid --background-threshold "0.5"`,
    "--no-keep-background",
  );
  bad(
    ["--local-blend", "cat"],
    `Invalid --local-blend "cat"`,
    `a word of the target prompt "a dog"`,
  );
  bad(["--local-blend", "a dog"], `Invalid --local-blend "a dog"`);
  bad(["--inversion", "dpm"], `Invalid --inversion "dpm"`, `"dpm++" or "ddim"`);
  bad(["--seed", "1.5"], `Invalid --seed "1.5"`, "integer");
  bad(["--size", "512"], `Invalid --size "512"`, `"WxH"`);
  bad(["--size", "0x512"], `Invalid --size "0x512"`);
  bad(["--out", "o.gif"], `Invalid --out "o.gif"`, ".png, .jpg or .jpeg");
  bad(["--grid", "grid"], `Invalid --grid "grid"`, ".png, .jpg or .jpeg");
  bad(["--attention-maps", ""], `Invalid --attention-maps ""`);
  usage(() => maxPixelsOf("0"), `Invalid --max-pixels "0"`, "positive integer");
  assertEquals(maxPixelsOf("4096"), 4096);
});

Deno.test("editSpec() refuses empty prompts and missing required flags", () => {
  const without = (flag: string) => {
    const args = [...BASE];
    args.splice(args.indexOf(flag), 2);
    return parseFlags(args);
  };
  usage(
    () => editSpec(parseFlags([...BASE, "--source", "  "])),
    `Invalid --source "  "`,
    "non-empty",
  );
  usage(() => editSpec(parseFlags([...BASE, "--target", ""])), `Invalid --target ""`, "non-empty");
  usage(() => editSpec(without("--source")), "Missing --source");
  usage(() => editSpec(without("--target")), "Missing --target");
  usage(() => editSpec(without("--out")), "Missing --out", "out/edit.png");
});

Deno.test("editSpec() in demo mode fills the default image, prompts, steps and out/demo.png", () => {
  const spec = editSpec({}, { demo: true });
  assertEquals(spec.image, defaultImagePath());
  assertEquals([spec.source, spec.target, spec.out], [DEMO_SOURCE, DEMO_TARGET, DEMO_OUT]);
  assertEquals([DEMO_OUT, DEMO_STEPS], ["out/demo.png", 20]);
  assertEquals(spec.settings.steps, DEMO_STEPS);
  const own: FlagValues = { target: "a blue square", out: "x.png", steps: "7" };
  assertEquals(
    [editSpec(own, { demo: true }).target, editSpec(own, { demo: true }).settings.steps],
    [
      "a blue square",
      7,
    ],
  );
  // only the demo takes fewer steps; an edit of one's own keeps the editor's default
  assertEquals(
    editSpec({ image: "a.png", source: "a", target: "b", out: "o.png" }).settings.steps,
    undefined,
  );
  usage(
    () => editSpec({ threshold: "21" }, { demo: true }),
    `Invalid --threshold "21"`,
    "from 0 to 20 (the demo's --steps)",
  );
});

Deno.test("parseBatch() reads one edit per line with the flags' names as keys", () => {
  const text = [
    `{"image": "a.png", "source": "a cat", "target": "a dog", "out": "a_out.png", "steps": 12}`,
    "",
    `{"image": "b.jpg", "source": "a cup", "target": "a bowl", "out": "b.png", "no-control": true,` +
    ` "blocks": [2, 5], "size": [64, 32], "merge-ratio": "0.25", "no-keep-background": true}`,
  ].join("\n");
  const edits = parseBatch(text, "e.jsonl", { guidance: "3" });
  assertEquals(edits.map((e) => e.line), [1, 3]);
  assertEquals(edits[0].spec.settings, { steps: 12, guidance: 3 });
  assertEquals(edits[1].spec.settings, {
    guidance: 3,
    control: false,
    blocks: [2, 5],
    size: { width: 64, height: 32 },
    mergeRatio: 0.25,
    keepBackground: false,
  });
});

Deno.test("parseBatch() names the line, key and value of a bad entry", () => {
  const line = (o: Record<string, unknown>) =>
    JSON.stringify({ image: "a.png", source: "a", target: "b", out: "o.png", ...o });
  usage(() => parseBatch(`${line({})}\n{"image": `, "e.jsonl"), `"e.jsonl"`, "line 2 is not JSON");
  usage(() => parseBatch("[1, 2]", "e.jsonl"), "line 1 is not a JSON object");
  usage(() => parseBatch(line({ model: "m" }), "e.jsonl"), `Unknown key "model"`, "--model");
  usage(() => parseBatch(line({ colour: 1 }), "e.jsonl"), `Unknown key "colour" on line 1`);
  usage(
    () => parseBatch(`\n${line({ steps: 0 })}`, "e.jsonl"),
    `Invalid "steps" on line 2 of "e.jsonl" "0"`,
    "from 1 to 1000",
  );
  usage(
    () => parseBatch(line({ "no-control": "yes" }), "e.jsonl"),
    `"no-control"`,
    "true or false",
  );
  usage(
    () => parseBatch(line({ "no-keep-background": 1 }), "e.jsonl"),
    `"no-keep-background"`,
    "true or false",
  );
  usage(() => parseBatch(line({ steps: null }), "e.jsonl"), `"steps"`, "null");
  usage(() => parseBatch(line({ out: undefined }), "e.jsonl"), `Missing "out" on line 1`);
  usage(() => parseBatch("\n\n", "e.jsonl"), `Batch file "e.jsonl" holds no edits`);
});
