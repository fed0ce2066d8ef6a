// --prompt-cache DIR and --no-prompt-cache (cli/_flags.ts, cli/_main.ts): the folder the CLI hands
// to the pipeline loader, the default under the user's cache folder, and the usage errors.

import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { join, resolve } from "node:path";
import type { LoadOptions } from "../../cli/_backend.ts";
import { defaultPromptCacheDir } from "../../cli/_defaults.ts";
import { UsageError } from "../../cli/_errors.ts";
import { parseFlags, promptCacheOf } from "../../cli/_flags.ts";
import { HELP } from "../../cli/_help.ts";
import { runCli } from "../../cli/_main.ts";
import { encodePng } from "../../image/encode_png.ts";
import { fakeBackend } from "./_fake_backend.ts";

Deno.test("promptCacheOf() takes --prompt-cache, --no-prompt-cache or the default", () => {
  const of = (args: string[], fallback?: string) => promptCacheOf(parseFlags(args), fallback);
  assertEquals(of([], "/home/u/.cache/dit4edit/prompts"), "/home/u/.cache/dit4edit/prompts");
  assertEquals(of([]), false, "no default folder known: no cache");
  assertEquals(of(["--prompt-cache", "cache/p"], "/d"), "cache/p");
  assertEquals(of(["--no-prompt-cache"], "/d"), false);
  const both = assertThrows(
    () => of(["--prompt-cache", "x", "--no-prompt-cache"], "/d"),
    UsageError,
  );
  assertStringIncludes(both.message, `"--prompt-cache" and "--no-prompt-cache" exclude each other`);
  const empty = assertThrows(() => of(["--prompt-cache="], "/d"), UsageError);
  assertStringIncludes(empty.message, `Invalid --prompt-cache "": expected a path`);
  assertThrows(() => parseFlags(["--no-prompt-cache=yes"]), UsageError, "takes no value");
});

Deno.test("defaultPromptCacheDir() is prompts/ in the dit4edit cache folder", () => {
  const dir = defaultPromptCacheDir();
  if (dir !== undefined) assertStringIncludes(dir, "dit4edit/prompts");
});

Deno.test("--help documents the prompt cache flags", () => {
  assertStringIncludes(HELP, "--prompt-cache DIR");
  assertStringIncludes(HELP, "--no-prompt-cache");
});

Deno.test("runCli() hands the prompt cache folder, resolved, to the loader", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dit4edit_cli_" }));
  try {
    const image = { width: 8, height: 8, data: new Uint8Array(256).fill(200) };
    await Deno.writeFile(join(dir, "in.png"), encodePng(image));
    const edit = ["--image", "in.png", "--source", "a cat", "--target", "a dog", "-q"];
    const run = async (extra: string[]) => {
      const { backend } = fakeBackend();
      const seen: (LoadOptions | undefined)[] = [];
      const load = backend.load;
      backend.load = (d, progress, options) => (seen.push(options), load(d, progress, options));
      let stderr = "";
      const code = await runCli([...edit, "--out", "o.png", ...extra], {
        stdout: () => {},
        stderr: (s) => stderr += s,
        stderrIsTerminal: false,
        backend: () => Promise.resolve(backend),
        cwd: dir,
      });
      return { code, stderr, seen };
    };
    const given = await run(["--prompt-cache", "cache/prompts"]);
    assertEquals(given.code, 0, given.stderr);
    assertEquals(given.seen, [{ promptCache: join(dir, "cache/prompts") }]);
    const off = await run(["--no-prompt-cache"]);
    assertEquals(off.seen, [{ promptCache: false }]);
    const fallback = await run([]);
    const expected = defaultPromptCacheDir();
    assertEquals(fallback.seen, [{ promptCache: expected ? resolve(dir, expected) : false }]);
    const both = await run(["--prompt-cache", "c", "--no-prompt-cache"]);
    assertEquals([both.code, both.seen.length], [2, 0], "a usage error before loading");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
