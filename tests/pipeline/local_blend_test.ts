// Prompt-to-Prompt LocalBlend (pipeline/local_blend.ts) on the tiny fixture model: the running maps
// and mask against the CPU references on random probabilities (maps f32 atol 1e-5, rtol 1e-4;
// masks exact), the blend keeping the source latents exactly outside the mask within one step of
// at most two submits, edit() with an all-ones mask equal to the edit without blending and with an
// empty mask equal to the reconstruction, word choice, option errors, and the CLI flag end to end.

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tensor } from "../../tensor/tensor.ts";
import { edit } from "../../pipeline/edit.ts";
import { LocalBlend, localBlendTokens } from "../../pipeline/local_blend.ts";
import { controlAt } from "../../pipeline/attention_control.ts";
import { epsRow, guide, transformerBatch } from "../../pipeline/guidance.ts";
import { DPMSolverMultistepScheduler } from "../../pipeline/dpm_solver.ts";
import { localBlendMaskRef, localBlendWordMapsRef } from "../../kernels/local_blend_ref.ts";
import { assertClose, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";
import { testImage, tinyPipeline } from "./_tiny_pipeline.ts";

const BASE = {
  image: testImage(32, 32, 5),
  sourcePrompt: "a red star",
  targetPrompt: "a blue star",
  steps: 4,
  keepBackground: false,
  onWarning: () => {},
};

Deno.test({
  name: "LocalBlend maps and mask match the CPU references on random probabilities",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const grid = { h: 6, w: 5, patch: 2 }, heads = 2, keys = 12, n = 30;
    const blend = new LocalBlend(gpu, {
      tokens: { target: [3, 5], source: [2, 3] },
      rows: { source: 0, target: 2 },
      grid,
      threshold: 0.8,
      start: 0,
      blocks: [1, 2],
    });
    const words = [{ row: 2, start: 3, end: 5 }, { row: 0, start: 2, end: 3 }];
    let acc: Float32Array = new Float32Array(2 * n);
    for (let block = 0; block < 4; block++) {
      const p = randomArray(3 * heads * n * keys, 100 + block, 0, 1);
      for (let i = 0; i < p.length; i++) p[i] = p[i] ** 8; // peaked, like attention
      const t = Tensor.from(gpu, p, [3, heads, n, keys]);
      blend.add(block, t);
      t.dispose();
      if (block >= 1 && block <= 2) acc = localBlendWordMapsRef(p, { heads, n, keys }, acc, words);
    }
    const maps = await blend.maps.toArray();
    assertClose(maps, acc, F32_TOL, "maps");
    const mask = blend.mask();
    assertEquals(mask.shape, [1, 1, 12, 10]);
    const got = await mask.toArray();
    assertEquals(Array.from(got), Array.from(localBlendMaskRef(maps, 2, grid, 0.8)));
    assert(got.includes(0) && got.includes(1), "a mixed mask");
    mask.dispose();
    blend.dispose();
  },
});

Deno.test({
  name: "one denoising step with LocalBlend on is at most two submits; outside the mask " +
    "the target latents equal the source's exactly, inside the unblended target's",
  ...GPU_TEST,
  async fn() {
    const pipe = await tinyPipeline();
    const src = await pipe.encodePrompt("a red star"), tgt = await pipe.encodePrompt("a blue star");
    const nul = await pipe.encodePrompt("");
    const x = Tensor.from(pipe.gpu, randomArray(4 * 16 * 16, 7), [1, 4, 16, 16]); // 8x8 tokens
    const sched = DPMSolverMultistepScheduler.fromConfig(pipe.schedulerConfig, 4);
    const [stS, stT] = [sched.createState(), sched.createState()];
    const settings = {
      enabled: true,
      steps: 4,
      threshold: 1,
      blocks: [0, 1] as [number, number],
      crossReplace: 0,
      merge: { h: 8, w: 8, ratio: 0.5, seed: 0 },
    };
    const blend = new LocalBlend(pipe.gpu, {
      tokens: { target: [2, 3], source: [2, 3] },
      rows: { source: 0, target: 2 },
      grid: { h: 8, w: 8, patch: 2 },
      threshold: 0.95, // the random tiny model attends almost uniformly: 0.3 would keep all
      start: 0,
      blocks: [0, 1],
    });
    await pipe.gpu.sync();
    const before = pipe.gpu.recorder.stats.submits;
    const ctl = controlAt(settings, 0, undefined, (b, p) => blend.add(b, p));
    const out = transformerBatch(pipe, [x, x, x], [src, nul, tgt], sched.timesteps[0], ctl);
    const xs = sched.step(stS, epsRow(out, 0), x);
    const xt = sched.step(stT, guide(epsRow(out, 1), epsRow(out, 2), 4.5), x);
    const blended = blend.apply(0, xs, xt);
    const b = await blended.toArray();
    const submits = pipe.gpu.recorder.stats.submits - before;
    assertEquals(submits <= 2, true, `${submits} submits`);

    const mask = blend.mask();
    const [m, s, t] = [await mask.toArray(), await xs.toArray(), await xt.toArray()];
    assert(m.includes(0) && m.includes(1), "a mixed mask");
    for (let i = 0; i < b.length; i++) {
      const want = m[i % 256] === 1 ? t[i] : s[i];
      if (b[i] !== want) {
        throw new Error(`latent ${i}: ${b[i]}, expected ${want} (mask ${m[i % 256]})`);
      }
    }
    for (const v of [x, out, xs, xt, blended, mask, src.embeds, src.mask, tgt.embeds, tgt.mask]) {
      v.dispose();
    }
    for (const v of [nul.embeds, nul.mask, stS, stT, blend]) v.dispose();
  },
});

Deno.test({
  name: "edit() with localBlend: an all-ones mask (threshold 0) equals the edit without it, " +
    "an empty mask (threshold 1) equals the reconstruction",
  ...GPU_TEST,
  async fn() {
    const pipe = await tinyPipeline();
    const plain = await edit(pipe, BASE);
    const ones = await edit(pipe, { ...BASE, localBlend: "star", localBlendThreshold: 0 });
    assertEquals(ones.edited.data, plain.edited.data);
    assertEquals(ones.reconstruction.data, plain.reconstruction.data);
    const none = await edit(pipe, { ...BASE, localBlend: "Blue", localBlendThreshold: 1 });
    assertEquals(none.edited.data, none.reconstruction.data);
    assert(plain.edited.data.some((v, i) => v !== plain.reconstruction.data[i]), "edit differs");
    const r = await edit(pipe, { ...BASE, steps: 2, localBlend: "blue", attentionMaps: true });
    assertEquals([...r.attentionMaps!.keys()], ["a", "blue", "star"]);
    const used = r.used;
    assertEquals(
      [used.localBlend, used.localBlendThreshold, used.localBlendStart],
      ["blue", 0.3, 1],
    );
  },
});

Deno.test("localBlendTokens() picks the swapped word, else the same word, else target only", () => {
  const p = (text: string) =>
    text.split(" ").flatMap((w) => w === "bicycle," ? ["▁bi", "cycle", ","] : [`▁${w}`]);
  const tokens = (source: string, target: string, word: string) =>
    localBlendTokens({ source, target }, { source: p(source), target: p(target) }, word);
  // same word count: the source word at the same index (the swapped one)
  assertEquals(tokens("a cat on a bicycle,", "a dog on a bicycle,", "DOG"), {
    target: [1, 2],
    source: [1, 2],
  });
  assertEquals(tokens("a cat on a bicycle,", "a cat on a bicycle,", "bicycle"), {
    target: [4, 7],
    source: [4, 7],
  });
  // different counts: the same word where the source has it, else none
  assertEquals(tokens("a cat", "a big cat", "cat"), { target: [2, 3], source: [1, 2] });
  assertEquals(tokens("a cat", "a big cat", "big"), { target: [1, 2] });
  assertThrows(() => tokens("a cat", "a dog", "cat"), RangeError, `"cat": it is not a word`);
});

Deno.test({
  name: "edit() names localBlend's value and the target's words, and localBlendThreshold's range",
  ...GPU_TEST,
  async fn() {
    const pipe = await tinyPipeline();
    await assertRejects(
      () => edit(pipe, { ...BASE, localBlend: "red" }),
      RangeError,
      `localBlend "red" is not a word of the target prompt (its words: "a", "blue", "star")`,
    );
    await assertRejects(
      () => edit(pipe, { ...BASE, localBlend: "blue star" }),
      RangeError,
      `localBlend "blue star"`,
    );
    await assertRejects(
      () => edit(pipe, { ...BASE, localBlend: "star", localBlendThreshold: 1.5 }),
      RangeError,
      "localBlendThreshold 1.5 is out of range ([0, 1])",
    );
    await assertRejects(
      () => edit(pipe, { ...BASE, localBlendThreshold: 0.5 }),
      TypeError,
      "localBlendThreshold 0.5 needs localBlend",
    );
  },
});

Deno.test({
  name: "cli/edit.ts --local-blend edits on the tiny model and reports the word it used",
  ...GPU_TEST,
  async fn() {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dit4edit_lb_" }));
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          ...["run", "-A", join(root, "cli/edit.ts")],
          ...["--image", join(root, "tests/fixtures/cli/demo.png"), "--out", "edit.png"],
          ...["--source", "a red circle", "--target", "a red Square.", "--local-blend", "square"],
          ...["--model", join(root, "tests/fixtures/models/tiny-pixart"), "--steps", "2"],
          "--json",
        ],
        cwd: dir,
        env: { NO_COLOR: "1", DIT4EDIT_CACHE_DIR: join(dir, "cache") },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder();
      assertEquals(out.code, 0, text.decode(out.stderr));
      const s = JSON.parse(text.decode(out.stdout).trim());
      assertEquals([s.ok, s.options.localBlend, s.options.localBlendStart], [true, "Square", 1]);
      assert((await Deno.stat(join(dir, "edit.png"))).size > 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
