// cli/edit.ts as a subprocess (`deno run -A cli/edit.ts ...`): --help, and each kind of bad input
// with its exit code (2 usage, 1 failure) and its one-line message, without a stack trace and
// without touching any file. None of these cases loads the pipeline or the GPU.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodePng } from "../../image/encode_png.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEMO = join(ROOT, "tests/fixtures/cli/demo.png");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function edit(args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/edit.ts", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** A PNG whose header claims `width` x `height` (the pixel data is never reached). */
function hugePng(width: number, height: number): Uint8Array {
  const png = encodePng({ width: 1, height: 1, data: new Uint8Array(4) });
  const out = png.slice();
  const view = new DataView(out.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  // Fix the IHDR CRC so the size check, not the CRC check, refuses it.
  let c = 0xffffffff;
  for (let i = 12; i < 29; i++) {
    c ^= out[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  view.setUint32(29, (c ^ 0xffffffff) >>> 0);
  return out;
}

Deno.test("cli/edit.ts --help prints usage with examples on stdout and exits 0", async () => {
  const r = await edit(["--help"]);
  assertEquals(r.code, 0);
  assertEquals(r.stderr, "");
  for (const part of ["Usage:", "Examples:", "--attention-maps DIR", "--batch", "out/demo.png"]) {
    assertStringIncludes(r.stdout, part);
  }
});

Deno.test("cli/edit.ts reports each bad input on one line with its exit code", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dit4edit_cli_" }));
  try {
    const demo = await Deno.readFile(DEMO);
    const f = (name: string) => join(dir, name);
    await Deno.writeFile(f("in.png"), demo);
    await Deno.writeFile(
      f("anim.gif"),
      new TextEncoder().encode("GIF89a\x01\x00\x01\x00\x00\x00\x00"),
    );
    await Deno.writeFile(f("photo.webp"), new TextEncoder().encode("RIFF\x10\x00\x00\x00WEBPVP8 "));
    await Deno.writeFile(f("half.png"), demo.subarray(0, demo.length >> 1));
    const crc = demo.slice();
    crc[45] ^= 0xff; // inside the IDAT data
    await Deno.writeFile(f("crc.png"), crc);
    const jpeg = await Deno.readFile(join(ROOT, "tests/fixtures/jpeg/base420_50x31.jpg"));
    await Deno.writeFile(f("cut.jpg"), jpeg.subarray(0, 200));
    await Deno.writeFile(f("huge.png"), hugePng(100_000, 100_000));
    await Deno.mkdir(f("folder.png"));
    await Deno.mkdir(f("empty_model"));
    await Deno.symlink(f("in.png"), f("link.png"));
    const edit3 = (image: string) => ["--image", image, "--source", "a cat", "--target", "a dog"];
    const ok = [...edit3(f("in.png")), "--out", f("out.png")];

    const cases: [string[], number, string][] = [
      [["--frobnicate"], 2, `Unknown flag "--frobnicate"`],
      [["--image", f("in.png"), "extra"], 2, `Unexpected argument "extra"`],
      [[...ok, "--steps", "0"], 2, `Invalid --steps "0": expected an integer from 1 to 1000`],
      [[...ok, "--guidance", "x"], 2, `Invalid --guidance "x": expected a finite number ≥ 0`],
      [
        [...ok, "--threshold", "40"],
        2,
        `Invalid --threshold "40": expected an integer from 0 to 30`,
      ],
      [[...ok, "--blocks", "3-5"], 2, `Invalid --blocks "3-5"`],
      [
        [...ok, "--merge-ratio", "1"],
        2,
        `Invalid --merge-ratio "1": expected a number from 0 to 0.75`,
      ],
      [
        [...ok, "--cross-replace", "2"],
        2,
        `Invalid --cross-replace "2": expected a fraction from 0 to 1`,
      ],
      [
        [...ok, "--inversion", "euler"],
        2,
        `Invalid --inversion "euler": expected "dpm++" or "ddim"`,
      ],
      [[...ok, "--size", "big"], 2, `Invalid --size "big": expected "WxH"`],
      [[...ok, "--seed", "0.5"], 2, `Invalid --seed "0.5"`],
      [[...edit3(f("in.png"))], 2, `Missing --out`],
      [
        ["--image", f("in.png"), "--source", "", "--target", "a dog", "--out", f("o.png")],
        2,
        `Invalid --source "": expected a non-empty prompt`,
      ],
      [
        [...edit3(f("nope.png")), "--out", f("o.png")],
        1,
        `Cannot read image "${f("nope.png")}": no such file or directory`,
      ],
      [
        [...edit3(f("folder.png")), "--out", f("o.png")],
        1,
        `Cannot read image "${f("folder.png")}": is a directory`,
      ],
      [
        [...edit3(f("anim.gif")), "--out", f("o.png")],
        1,
        `GIF images are not supported; convert to PNG or JPEG`,
      ],
      [[...edit3(f("photo.webp")), "--out", f("o.png")], 1, `WebP images are not supported`],
      [
        [...edit3(f("half.png")), "--out", f("o.png")],
        1,
        `Cannot read image "${f("half.png")}": cannot decode PNG`,
      ],
      [[...edit3(f("crc.png")), "--out", f("o.png")], 1, `cannot decode PNG: bad CRC`],
      [
        [...edit3(f("cut.jpg")), "--out", f("o.png")],
        1,
        `Cannot read image "${f("cut.jpg")}": cannot decode JPEG`,
      ],
      [
        [...edit3(f("huge.png")), "--out", f("o.png")],
        1,
        `100000x100000 image exceeds the limit of 67108864 pixels (raise it with --max-pixels)`,
      ],
      [[...ok, "--max-pixels", "1000"], 1, `64x64 image exceeds the limit of 1000 pixels`],
      [
        [...ok, "--model", f("no_model")],
        1,
        `Cannot open model folder "${f("no_model")}": no such file or directory`,
      ],
      [[...ok, "--model", f("empty_model")], 1, `it has no model_index.json`],
      [
        [...edit3(f("in.png")), "--out", f("in.png")],
        2,
        `Refusing to write --out "${f("in.png")}": it is the input image`,
      ],
      [[...edit3(f("link.png")), "--out", f("in.png")], 2, `Refusing to write --out`],
      [
        [...ok, "--grid", f("in.png")],
        2,
        `Refusing to write --grid "${f("in.png")}": it is the input image`,
      ],
      [
        [...ok, "--attention-maps", f("in.png")],
        2,
        `Cannot write --attention-maps "${f("in.png")}": it is not a folder`,
      ],
      [
        ["--batch", f("none.jsonl")],
        1,
        `Cannot read batch file "${f("none.jsonl")}": no such file`,
      ],
    ];
    const runs = await Promise.all(cases.map(([args]) => edit(args)));
    cases.forEach(([args, code, message], i) => {
      const r = runs[i], what = `${args.join(" ")}\n${r.stderr}`;
      assertEquals(r.code, code, what);
      assertStringIncludes(r.stderr, message, what);
      assert(r.stderr.startsWith("error: ") && r.stderr.split("\n").length === 2, what);
      assertEquals(r.stdout, "", what);
    });
    const left: string[] = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assertEquals(left.sort(), [
      "anim.gif",
      "crc.png",
      "cut.jpg",
      "empty_model",
      "folder.png",
      "half.png",
      "huge.png",
      "in.png",
      "link.png",
      "photo.webp",
    ]);
    assertEquals(await Deno.readFile(f("in.png")), demo);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli/edit.ts --json prints one error object on stdout, the trace only with --verbose", async () => {
  const r = await edit(["--json", "--steps", "-5"]);
  assertEquals(r.code, 2);
  assertEquals(JSON.parse(r.stdout).exitCode, 2);
  assertEquals(r.stdout.trimEnd().split("\n").length, 1);
  const v = await edit([
    "--verbose",
    "--image",
    "missing.png",
    "--source",
    "a",
    "--target",
    "b",
    "--out",
    "x.png",
  ]);
  assertEquals(v.code, 1);
  assertStringIncludes(
    v.stderr,
    `error: Cannot read image "missing.png": no such file or directory\n`,
  );
  assertStringIncludes(v.stderr, "    at ");
});
