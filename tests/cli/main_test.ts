// cli/_main.ts in-process with a fake pipeline (tests/cli/_fake_backend.ts): outputs and their
// sizes (edit, --grid, --attention-maps), --json, --quiet, batch files, the demo defaults, and
// refusals that happen before anything is loaded.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { defaultModelPath, DEMO_SOURCE, DEMO_TARGET } from "../../cli/_defaults.ts";
import { runCli } from "../../cli/_main.ts";
import { decodeImage } from "../../image/decode_image.ts";
import { encodePng } from "../../image/encode_png.ts";
import type { RgbaImage } from "../../image/rgba_image.ts";
import { GpuOutOfMemoryError, NoAdapterError } from "../../tensor/errors.ts";
import { fakeBackend, type FakeOptions } from "./_fake_backend.ts";

function picture(width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set([(i * 7) % 256, 90, 200, 255], i);
  return { width, height, data };
}

async function setup(): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dit4edit_cli_" }));
  await Deno.writeFile(join(dir, "in.png"), encodePng(picture(20, 12)));
  await Deno.writeFile(join(dir, "b.png"), encodePng(picture(8, 8)));
  return dir;
}

async function cli(dir: string, args: string[], fake: FakeOptions = {}) {
  let stdout = "", stderr = "";
  const { backend, calls } = fakeBackend(fake);
  const code = await runCli(args, {
    stdout: (s) => stdout += s,
    stderr: (s) => stderr += s,
    stderrIsTerminal: false,
    backend: () => Promise.resolve(backend),
    cwd: dir,
  });
  return { code, stdout, stderr, calls };
}

async function size(path: string): Promise<[number, number]> {
  const im = decodeImage(await Deno.readFile(path));
  return [im.width, im.height];
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

const EDIT = ["--image", "in.png", "--source", "a small cat", "--target", "a big dog"];

Deno.test("runCli() writes the edit, a 3-panel --grid and one heat map per target word", async () => {
  const dir = await setup();
  try {
    const r = await cli(dir, [
      ...EDIT,
      ...["--out", "out/edit.png", "--grid", "out/grid.jpg", "--attention-maps", "out/maps"],
      ...["--steps", "4"],
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, "");
    assertEquals(await size(join(dir, "out/edit.png")), [20, 12]);
    assertEquals(await size(join(dir, "out/grid.jpg")), [3 * 20 + 2 * 4, 12]);
    assertEquals(await files(join(dir, "out/maps")), ["big.png", "dog.png"]);
    assertEquals(await size(join(dir, "out/maps/dog.png")), [20, 12]);
    assertEquals(r.calls.edits[0].attentionMaps, true);
    assertEquals(r.calls.edits[0].steps, 4);
    const edited = decodeImage(await Deno.readFile(join(dir, "out/edit.png")));
    assertEquals(edited.data[1], 255 - 90); // the fake inverts colours
    for (const part of ["adapter: fake adapter", "loading model: 100%", "inverting: 100% 4/4"]) {
      assertStringIncludes(r.stderr, part);
    }
    assertStringIncludes(r.stderr, "wrote out/edit.png, out/grid.jpg, 2 attention maps (20x12)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runCli() --json prints one summary object and nothing else on stdout", async () => {
  const dir = await setup();
  try {
    const r = await cli(dir, [...EDIT, "--out", "o.png", "--json", "--quiet", "--seed", "3"], {
      warning: "Prompt truncated",
    });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr, "warning: Prompt truncated\n"); // --quiet keeps warnings only
    const lines = r.stdout.trimEnd().split("\n");
    assertEquals(lines.length, 1);
    const s = JSON.parse(lines[0]);
    assertEquals(s.ok, true);
    assertEquals(s.adapter, "fake adapter (cpu)");
    assertEquals(s.model, defaultModelPath());
    assertEquals(s.input, { path: "in.png", width: 20, height: 12 });
    assertEquals(s.prompts, { source: "a small cat", target: "a big dog" });
    assertEquals(s.options, { steps: 30, guidance: 4.5, inversion: "dpm++" });
    assertEquals(Object.keys(s.timings), ["load", "read", "invert", "edit", "write", "total"]);
    assertEquals(s.outputs, { edited: "o.png" });
    assertEquals(s.warnings, ["Prompt truncated"]);
    assertEquals(r.calls.edits[0].seed, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runCli() with no --image edits the default image into out/demo.png", async () => {
  const dir = await setup();
  try {
    const r = await cli(dir, ["--quiet"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(await size(join(dir, "out/demo.png")), [64, 64]);
    assertEquals(r.calls.loads, [defaultModelPath()]);
    assertEquals(r.calls.edits[0].sourcePrompt, DEMO_SOURCE);
    assertEquals(r.calls.edits[0].targetPrompt, DEMO_TARGET);
    // Running it again replaces the output, leaving no temporary files.
    assertEquals((await cli(dir, ["--quiet"])).code, 0);
    assertEquals(await files(join(dir, "out")), ["demo.png"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runCli() refuses outputs that name an input before loading anything", async () => {
  const dir = await setup();
  try {
    await Deno.mkdir(join(dir, "model"));
    await Deno.writeTextFile(join(dir, "model/model_index.json"), "{}");
    const cases: [string[], string][] = [
      [["--out", "in.png"], `Refusing to write --out "in.png": it is the input image "in.png"`],
      [["--out", "o.png", "--grid", "./in.png"], `Refusing to write --grid "./in.png"`],
      [["--out", "o.png", "--attention-maps", "in.png"], `it is not a folder`],
      [["--out", "o.png", "--grid", "o.png"], `--grid "o.png" is also written as --out "o.png"`],
      [
        ["--out", "o.png", "--model", "model", "--attention-maps", "model"],
        `Refusing to write --attention-maps "model": it is inside the model folder "model"`,
      ],
    ];
    for (const [extra, message] of cases) {
      const r = await cli(dir, [...EDIT, ...extra]);
      assertEquals(r.code, 2, extra.join(" "));
      assertStringIncludes(r.stderr, message);
      assertEquals(r.stderr.split("\n").length, 2, "one line");
      assertEquals([r.calls.adapter, r.calls.loads.length], [0, 0]);
    }
    assertEquals(await files(dir), ["b.png", "in.png", "model"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runCli() --batch runs every line on one loaded model and reports each", async () => {
  const dir = await setup();
  try {
    await Deno.writeFile(join(dir, "bad.png"), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]));
    const lines = [
      { image: "in.png", source: "a cat", target: "a dog", out: "o1.png", grid: "g1.png" },
      { image: "bad.png", source: "a cat", target: "a fox", out: "o2.png" },
      { image: "b.png", source: "a cup", target: "a bowl", out: "o3.png", steps: 2 },
    ];
    await Deno.writeTextFile(join(dir, "e.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n"));
    const r = await cli(dir, ["--batch", "e.jsonl", "--steps", "5", "--json"]);
    assertEquals(r.code, 1);
    assertEquals(r.calls.loads.length, 1);
    assertEquals(r.calls.edits.map((e) => e.steps), [5, 2]);
    const out = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assertEquals(out.map((o) => [o.ok, o.line]), [[true, 1], [false, 2], [true, 3]]);
    assertStringIncludes(out[1].error, `Cannot read image "bad.png": cannot decode PNG`);
    assertStringIncludes(out[1].error, `(line 2 of "e.jsonl")`);
    assertStringIncludes(r.stderr, "[3/3] inverting: 100% 2/2 steps");
    assertStringIncludes(r.stderr, "error: 1 of 3 edits failed");
    assertEquals(await size(join(dir, "g1.png")), [3 * 20 + 8, 12]);
    assertEquals(await size(join(dir, "o3.png")), [8, 8]);
    assert(!(await files(dir)).includes("o2.png"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runCli() --batch refuses a line writing another line's input or output", async () => {
  const dir = await setup();
  try {
    const write = (lines: object[]) =>
      Deno.writeTextFile(join(dir, "e.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n"));
    const edit = { source: "a cat", target: "a dog" };
    await write([{ ...edit, image: "in.png", out: "o.png" }, {
      ...edit,
      image: "b.png",
      out: "in.png",
    }]);
    let r = await cli(dir, ["--batch", "e.jsonl"]);
    assertEquals(r.code, 2);
    assertStringIncludes(
      r.stderr,
      `Refusing to write "out" "in.png" on line 2 of "e.jsonl": it is the input image "in.png"`,
    );
    assertEquals(r.calls.loads.length, 0);
    await write([{ ...edit, image: "in.png", out: "o.png" }, {
      ...edit,
      image: "b.png",
      out: "o.png",
    }]);
    r = await cli(dir, ["--batch", "e.jsonl"]);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, `is also written as "out" "o.png" on line 1`);
    await write([{ ...edit, image: "in.png" }]);
    r = await cli(dir, ["--batch", "e.jsonl", "--out", "e.jsonl"]);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, `Invalid "out" on line 1 of "e.jsonl" "e.jsonl"`);
    r = await cli(dir, ["--batch", "missing.jsonl"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, `error: Cannot read batch file "missing.jsonl": no such file`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runCli() prints pipeline failures as one line (exit 1), the stack with --verbose", async () => {
  const dir = await setup();
  try {
    await Deno.writeFile(join(dir, "o.png"), new Uint8Array([7]));
    const noAdapter = new NoAdapterError("No WebGPU adapter was found: install a Vulkan driver");
    let r = await cli(dir, [...EDIT, "--out", "o.png"], { adapterError: noAdapter });
    assertEquals(r.code, 1);
    assertEquals(r.stderr, "error: No WebGPU adapter was found: install a Vulkan driver\n");
    const oom = new GpuOutOfMemoryError("Out of memory in matmul: 3 GB buffer");
    r = await cli(dir, [...EDIT, "--out", "o.png", "--verbose", "--json"], { editError: oom });
    assertEquals(r.code, 1);
    assertStringIncludes(
      r.stderr,
      "error: Out of memory in matmul: 3 GB buffer\nGpuOutOfMemoryError",
    );
    assertStringIncludes(r.stderr, "main_test.ts");
    assertEquals(JSON.parse(r.stdout), {
      ok: false,
      error: "Out of memory in matmul: 3 GB buffer",
      exitCode: 1,
    });
    assertEquals(await Deno.readFile(join(dir, "o.png")), new Uint8Array([7]));
    assertEquals(await files(dir), ["b.png", "in.png", "o.png"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
