// cli/_output.ts: outputs that name an input are refused (real paths, symlinks and hard links
// included), and files are replaced atomically: a failing encode or write leaves the old file
// intact and no temporary files behind.

import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { UsageError } from "../../cli/_errors.ts";
import { checkOutput, guard, realPathOf, writeFileAtomic } from "../../cli/_output.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dit4edit_cli_" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("writeFileAtomic() creates the folder and replaces an existing file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "a", "b", "out.png");
    await writeFileAtomic(path, () => new Uint8Array([1, 2, 3]));
    assertEquals(await Deno.readFile(path), new Uint8Array([1, 2, 3]));
    await Deno.chmod(path, 0o640);
    await writeFileAtomic(path, () => new Uint8Array([4]));
    assertEquals(await Deno.readFile(path), new Uint8Array([4]));
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o640);
    assertEquals(await names(join(dir, "a", "b")), ["out.png"]);
  });
});

Deno.test("writeFileAtomic() leaves the old file and no temporary file when encoding fails", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "out.png");
    await Deno.writeFile(path, new Uint8Array([9, 9]));
    await assertRejects(
      () =>
        writeFileAtomic(path, () => {
          throw new RangeError("Cannot encode PNG: width must be an integer");
        }),
      RangeError,
      "Cannot encode PNG",
    );
    assertEquals(await Deno.readFile(path), new Uint8Array([9, 9]));
    assertEquals(await names(dir), ["out.png"]);
  });
});

Deno.test("writeFileAtomic() removes its temporary file when the rename fails", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "taken");
    await Deno.mkdir(join(path, "inside"), { recursive: true }); // a non-empty folder: rename fails
    const e = await assertRejects(() => writeFileAtomic(path, () => new Uint8Array([1])));
    assertStringIncludes(e.message, `Cannot write "${path}": `);
    assertEquals(await names(dir), ["taken"]);
  });
});

Deno.test("realPathOf() resolves symlinks of the existing part of a path", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "real"));
    await Deno.symlink(join(dir, "real"), join(dir, "link"));
    assertEquals(await realPathOf("link/x/y.png", dir), join(dir, "real", "x", "y.png"));
    assertEquals(await realPathOf(join(dir, "link")), join(dir, "real"));
  });
});

Deno.test("checkOutput() refuses an input named directly, through a symlink or a hard link", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "in.png"), new Uint8Array([1]));
    await Deno.symlink(join(dir, "in.png"), join(dir, "sym.png"));
    await Deno.link(join(dir, "in.png"), join(dir, "hard.png"));
    await Deno.mkdir(join(dir, "model"));
    const guarded = [
      await guard("in.png", `the input image "in.png"`, false, dir),
      await guard("model", `the model folder "model"`, true, dir),
    ];
    for (const path of ["in.png", "./sub/../in.png", "sym.png", "hard.png", join(dir, "in.png")]) {
      await assertRejects(
        () => checkOutput(`--out "${path}"`, path, guarded, dir),
        UsageError,
        `Refusing to write --out "${path}": it is the input image "in.png"`,
      );
    }
    await assertRejects(
      () => checkOutput(`--grid "model/g.png"`, "model/g.png", guarded, dir),
      UsageError,
      `it is inside the model folder "model"`,
    );
    await assertRejects(() => checkOutput("--out", "model", guarded, dir), UsageError);
    assertEquals(await checkOutput("--out", "out/new.png", guarded, dir), join(dir, "out/new.png"));
    await assertRejects(
      () => checkOutput(`--out "in.png/x/o.png"`, "in.png/x/o.png", guarded, dir),
      UsageError,
      `Cannot write --out "in.png/x/o.png": "${join(dir, "in.png")}" is a file, not a folder`,
    );
  });
});
