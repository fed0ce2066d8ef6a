// pipeline/prompt_cache.ts through PixArtPipeline.encodePrompt on the tiny fixture pipeline: a
// miss writes an entry, a hit is bit-identical and never loads T5, another prompt, checkpoint or
// storage dtype misses, and bad entries are reported and rewritten, never trusted or fatal.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { loadPipeline, type PixArtPipeline } from "../../pipeline/pixart_pipeline.ts";
import { PromptCache, textEncoderIdentity } from "../../pipeline/prompt_cache.ts";
import { GPU_TEST, testGpu } from "../_harness.ts";
import { FIXTURES } from "../model/_fixtures.ts";

const TINY = `${FIXTURES}tiny-pixart`;

async function open(
  cache: string | false,
  options: { path?: string; dtype?: "f16" | "f32" } = {},
): Promise<PixArtPipeline> {
  return await loadPipeline(options.path ?? TINY, {
    gpu: await testGpu(),
    dtype: options.dtype ?? "f32",
    promptCache: cache,
  });
}

/** Encodes, reads the results back and frees them; collects warnings. */
async function encode(pipe: PixArtPipeline, prompt: string) {
  const warnings: string[] = [];
  const p = await pipe.encodePrompt(prompt, (m) => warnings.push(m));
  const out = {
    embeds: await p.embeds.toArray() as Float32Array,
    mask: await p.mask.toArray() as Float32Array,
    shape: p.embeds.shape,
    ids: Array.from(p.ids),
    warnings,
  };
  p.embeds.dispose();
  p.mask.dispose();
  return out;
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.filter((n) => n.endsWith(".safetensors")).sort();
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

Deno.test({
  name: "encodePrompt() with a prompt cache: a hit is bit-identical and never loads T5",
  ...GPU_TEST,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "prompt_cache_" });
    try {
      const first = await open(`${dir}/prompts`);
      assertEquals(first.promptStats.textEncoderLoads, 0, "T5 loads lazily");
      const miss = await encode(first, "A red star");
      assertEquals(first.promptStats, {
        textEncoderLoads: 1,
        textEncoderRuns: 1,
        cacheHits: 0,
        cacheWrites: 1,
      });
      assertEquals((await entries(`${dir}/prompts`)).length, 1);
      first.dispose();

      // a fresh pipeline on the same cache: T5 is never loaded, the results are the same bits
      const second = await open(`${dir}/prompts`);
      const hit = await encode(second, "  a RED star ");
      assertEquals(second.promptStats, {
        textEncoderLoads: 0,
        textEncoderRuns: 0,
        cacheHits: 1,
        cacheWrites: 0,
      });
      assertEquals(hit.shape, miss.shape);
      assertEquals(hit.ids, miss.ids);
      assert(sameBits(hit.embeds, miss.embeds), "embeddings differ");
      assert(sameBits(hit.mask, miss.mask), "masks differ");
      assertEquals([miss.warnings, hit.warnings], [[], []]);

      // without a cache, the same prompt runs T5 and gives the same values (and writes nothing)
      const plain = await open(false);
      const direct = await encode(plain, "a red star");
      assert(sameBits(direct.embeds, miss.embeds), "cached embeddings differ from a plain run");
      assertEquals(plain.promptStats.cacheWrites, 0);
      second.dispose();
      plain.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "encodePrompt() with a prompt cache misses for another prompt, checkpoint or dtype",
  ...GPU_TEST,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "prompt_cache_" });
    try {
      const cache = `${dir}/prompts`;
      const a = await open(cache);
      await encode(a, "a red star");
      await encode(a, "a blue circle");
      await encode(a, "a red star");
      assertEquals([a.promptStats.textEncoderRuns, a.promptStats.cacheHits], [2, 1]);
      a.dispose();

      // the same checkpoint elsewhere on disk shares the entries (the key is the content)
      const copy = `${dir}/copy`;
      await copyTree(TINY, copy);
      const b = await open(cache, { path: copy });
      await encode(b, "a red star");
      assertEquals([b.promptStats.textEncoderLoads, b.promptStats.cacheHits], [0, 1]);
      b.dispose();

      // one weight bit changed (same header): another checkpoint, so a miss
      const file = `${copy}/text_encoder/model.safetensors`;
      const bytes = await Deno.readFile(file);
      bytes[bytes.length - 3] ^= 1;
      await Deno.writeFile(file, bytes);
      const c = await open(cache, { path: copy });
      await encode(c, "a red star");
      assertEquals([c.promptStats.textEncoderRuns, c.promptStats.cacheHits], [1, 0]);
      c.dispose();

      // another storage dtype: a miss (f16 weights change the embeddings' low bits)
      const d = await open(cache, { dtype: "f16" });
      await encode(d, "a red star");
      assertEquals([d.promptStats.textEncoderRuns, d.promptStats.cacheHits], [1, 0]);
      d.dispose();
      assertEquals((await entries(cache)).length, 4);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "encodePrompt() reports a truncated or corrupt cache entry and encodes again",
  ...GPU_TEST,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "prompt_cache_" });
    try {
      const cache = `${dir}/prompts`;
      const a = await open(cache);
      const good = await encode(a, "a red star");
      a.dispose();
      const [name] = await entries(cache);
      const path = `${cache}/${name}`;
      const whole = await Deno.readFile(path);
      const damage: [string, Uint8Array, string][] = [
        [
          "truncated",
          whole.subarray(0, whole.length >> 1),
          "past the end of the",
        ],
        ["empty", new Uint8Array(), "file size 0 is smaller"],
        ["not safetensors", new TextEncoder().encode("hello"), "file size 5 is smaller"],
        ["one bit flipped in the embeddings", whole.slice(), "the embeddings' checksum differs"],
      ];
      damage[3][1][whole.length - 1000] ^= 4; // data: embeds, mask, ids (480 B each)
      for (const [what, bytes, why] of damage) {
        await Deno.writeFile(path, bytes);
        const p = await open(cache);
        const got = await encode(p, "a red star");
        assertEquals(got.warnings.length, 1, what);
        assertStringIncludes(got.warnings[0], `Ignoring prompt cache entry "${path}": `);
        assertStringIncludes(got.warnings[0], why);
        assertStringIncludes(got.warnings[0], "encoding the prompt again");
        assertEquals([p.promptStats.textEncoderRuns, p.promptStats.cacheWrites], [1, 1], what);
        assert(sameBits(got.embeds, good.embeds), what);
        p.dispose();
        assertEquals(await Deno.readFile(path), whole, `${what}: the entry is rewritten`);
      }

      // a folder where the entry belongs is left alone: a warning, the prompt still encodes
      await Deno.remove(path);
      await Deno.mkdir(path);
      const q = await open(cache);
      const got = await encode(q, "a red star");
      assertEquals(got.warnings.length, 2);
      assertStringIncludes(got.warnings[0], "it is not a regular file");
      assertStringIncludes(got.warnings[1], `Cannot write prompt cache entry "${path}"`);
      assert(sameBits(got.embeds, good.embeds));
      assert((await Deno.stat(path)).isDirectory);
      q.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "encodePrompt() still reports truncation of a long prompt when it is cached",
  ...GPU_TEST,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "prompt_cache_" });
    try {
      const long = Array.from({ length: 150 }, (_, i) => `star${i}`).join(" ");
      const a = await open(dir);
      const miss = await encode(a, long);
      a.dispose();
      const b = await open(dir);
      const hit = await encode(b, long);
      assertEquals(b.promptStats.textEncoderLoads, 0);
      assertEquals(miss.warnings.length, 1);
      assertStringIncludes(miss.warnings[0], "Prompt truncated");
      assertEquals(hit.warnings, miss.warnings);
      assert(sameBits(hit.embeds, miss.embeds));
      b.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("PromptCache: an entry read with another identity is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "prompt_cache_" });
  try {
    const te = `${TINY}/text_encoder`;
    const id = await textEncoderIdentity({
      weightFiles: [`${te}/model.safetensors`],
      configFile: `${te}/config.json`,
      tokenizerFile: `${TINY}/tokenizer/spiece.model`,
      maxLength: 4,
      dtype: "f32",
    });
    assertEquals(id.length, 64);
    const entry = {
      embeds: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]),
      mask: new Float32Array([1, 1, 0, 0]),
      ids: new Int32Array([5, 1, 0, 0]),
    };
    const expect = { ids: entry.ids, mask: entry.mask, dModel: 2 };
    const mine = new PromptCache(dir, id), other = new PromptCache(dir, "0".repeat(64));
    const warnings: string[] = [];
    assert(await mine.write("x", entry, (m) => warnings.push(m)));
    assertEquals((await mine.read("x", expect, (m) => warnings.push(m)))?.embeds, entry.embeds);
    assertEquals(await other.read("x", expect, (m) => warnings.push(m)), undefined);
    assertEquals(warnings, [], "another identity is another file: a silent miss");
    // an entry copied under another key is refused
    await Deno.copyFile(mine.path(await mine.key("x")), other.path(await other.key("x")));
    assertEquals(await other.read("x", expect, (m) => warnings.push(m)), undefined);
    assertStringIncludes(warnings[0], "it belongs to another prompt or checkpoint");
    // ids that the tokenizer no longer gives are refused
    const moved = { ...expect, ids: new Int32Array([6, 1, 0, 0]) };
    assertEquals(await mine.read("x", moved, (m) => warnings.push(m)), undefined);
    assertStringIncludes(warnings[1], "its token ids differ");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
