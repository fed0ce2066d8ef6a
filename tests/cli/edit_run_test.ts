// cli/edit.ts end to end on the tiny fixture model (tests/fixtures/models/tiny-pixart) through the
// real pipeline (pipeline/edit.ts) on WebGPU: a successful edit with --grid, --attention-maps and
// --json, a rerun that replaces the output atomically, the demo defaults, a batch, and a model
// folder with a missing file.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeImage } from "../../image/decode_image.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEMO = join(ROOT, "tests/fixtures/cli/demo.png");
const TINY = join(ROOT, "tests/fixtures/models/tiny-pixart");
const FAST = ["--steps", "2"];
// the CLI caches encoded prompts; keep its cache out of the user's home
const CACHE = Deno.makeTempDirSync({ prefix: "dit4edit_cache_" });
globalThis.addEventListener("unload", () => Deno.removeSync(CACHE, { recursive: true }));

async function edit(args: string[], cwd = ROOT) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "cli/edit.ts"), ...args],
    cwd,
    env: { NO_COLOR: "1", DIT4EDIT_CACHE_DIR: CACHE },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function size(path: string): Promise<[number, number]> {
  const im = decodeImage(await Deno.readFile(path));
  return [im.width, im.height];
}

async function list(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(join(from, e.name), join(to, e.name));
    else await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

Deno.test("cli/edit.ts edits on the tiny model and writes the edit, grid and heat maps", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dit4edit_cli_" }));
  try {
    await Deno.copyFile(DEMO, join(dir, "in.png"));
    const args = [
      ...["--image", "in.png", "--source", "a red circle", "--target", "a red square"],
      ...["--out", "out/edit.png", "--grid", "out/grid.png", "--attention-maps", "out/maps"],
      ...["--model", TINY, "--json", ...FAST],
    ];
    const r = await edit(args, dir);
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assertEquals(lines.length, 1, r.stdout);
    const s = JSON.parse(lines[0]);
    assertEquals(s.ok, true);
    assertEquals(s.input, { path: "in.png", width: 64, height: 64 });
    assertEquals(s.options.steps, 2);
    assert(typeof s.adapter === "string" && s.adapter.length > 0);
    assert(s.timings.load >= 0 && s.timings.total > 0);
    assertEquals(await size(join(dir, "out/edit.png")), [64, 64]);
    // input | reconstruction | edit | keep-background mask
    assertEquals(await size(join(dir, "out/grid.png")), [4 * 64 + 3 * 4, 64]);
    const maps = await list(join(dir, "out/maps"));
    assert(maps.length >= 1, "at least one heat map");
    assertEquals(Object.keys(s.outputs.attentionMaps).length, maps.length);
    for (const m of maps) assertEquals(await size(join(dir, "out/maps", m)), [64, 64]);
    for (const stage of ["loading model", "inverting", "editing"]) {
      assertStringIncludes(r.stderr, stage);
    }

    // Rerunning replaces the outputs atomically: no temporary files, the input untouched.
    const again = await edit(args, dir);
    assertEquals(again.code, 0, again.stderr);
    assertEquals(await list(join(dir, "out")), ["edit.png", "grid.png", "maps"]);
    assertEquals(await Deno.readFile(join(dir, "in.png")), await Deno.readFile(DEMO));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli/edit.ts with no --image edits the default image into out/demo.png", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dit4edit_cli_" }));
  try {
    const r = await edit([...FAST, "--quiet"], dir);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, "");
    assertEquals(await size(join(dir, "out/demo.png")), [64, 64]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli/edit.ts --batch runs each line on one loaded model", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dit4edit_cli_" }));
  try {
    await Deno.copyFile(DEMO, join(dir, "in.png"));
    const lines = [
      { image: "in.png", source: "a red circle", target: "a red square", out: "a.png" },
      { image: "in.png", source: "a red circle", target: "a blue circle", out: "b.jpg" },
    ];
    await Deno.writeTextFile(join(dir, "e.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n"));
    const r = await edit(["--batch", "e.jsonl", "--json", "--quiet", ...FAST], dir);
    assertEquals(r.code, 0, r.stderr);
    const out = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assertEquals(out.map((o) => [o.ok, o.line]), [[true, 1], [true, 2]]);
    assertEquals(await size(join(dir, "a.png")), [64, 64]);
    assertEquals(await size(join(dir, "b.jpg")), [64, 64]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli/edit.ts names a missing model file in one line and exits 1", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dit4edit_cli_" }));
  try {
    await copyDir(TINY, join(dir, "model"));
    await Deno.remove(join(dir, "model/vae/diffusion_pytorch_model.safetensors"));
    const r = await edit(["--model", "model", "--out", "o.png", ...FAST], dir);
    assertEquals(r.code, 1);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
    assertEquals(errors.length, 1, r.stderr);
    assertStringIncludes(errors[0], "vae");
    assert(!r.stderr.includes("    at "), "no stack trace");
    assertEquals(await list(dir), ["model"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
