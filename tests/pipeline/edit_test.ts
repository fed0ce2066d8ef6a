// The edit pipeline on the tiny fixture folder: attention control and the guidance correction off
// equal plain generation from the inverted noise; the source branch does not depend on the target
// prompt; Union and the guidance correction reduce to known cases; options are checked.

import { assertEquals, assertRejects } from "@std/assert";
import { decodeLatents, edit, encodeImage, generateLatents, invert } from "../../pipeline/edit.ts";
import type { RgbaImage } from "../../image/rgba_image.ts";
import { GPU_TEST } from "../_harness.ts";
import { testImage, tinyPipeline } from "./_tiny_pipeline.ts";

function maxDiff(a: RgbaImage, b: RgbaImage): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

const BASE = {
  image: testImage(32, 32, 3),
  sourcePrompt: "a red star",
  steps: 4,
  onWarning: () => {},
};

Deno.test({
  name:
    "edit() with control and the guidance correction off equals generation from the inverted noise",
  ...GPU_TEST,
  async fn() {
    const pipe = await tinyPipeline();
    const { edited } = await edit(pipe, {
      ...BASE,
      targetPrompt: "a blue circle",
      control: false,
      guidanceCorrection: false,
      keepBackground: false,
      inversion: "ddim",
    });
    const src = await pipe.encodePrompt("a red star"),
      tgt = await pipe.encodePrompt("a blue circle");
    const nul = await pipe.encodePrompt("");
    const z0 = encodeImage(pipe, BASE.image);
    const latents = await invert(pipe, z0, src, { steps: 4, inversion: "ddim" });
    const z = await generateLatents(pipe, tgt, nul, latents[0], { steps: 4, guidance: 4.5 });
    const plain = await decodeLatents(pipe, z);
    assertEquals(
      maxDiff(edited, plain) <= 1,
      true,
      `max difference ${maxDiff(edited, plain)} levels`,
    );
    for (const t of [...latents, z]) t.dispose();
  },
});

Deno.test({
  name: "edit(): the source branch reconstructs the same image whatever the target",
  ...GPU_TEST,
  async fn() {
    const pipe = await tinyPipeline();
    const a = await edit(pipe, { ...BASE, targetPrompt: "a blue star" });
    const b = await edit(pipe, { ...BASE, targetPrompt: "a green heart on a red background" });
    assertEquals(maxDiff(a.reconstruction, b.reconstruction), 0);
    assertEquals(a.edited.width, 32);
    assertEquals(a.used.threshold, 1);
    assertEquals(a.used.blocks, [1, 1]);
  },
});

Deno.test({
  name:
    "edit(): Union (the default) equals mutual attention when the target prompt is the source's",
  ...GPU_TEST,
  async fn() {
    const pipe = await tinyPipeline();
    // guidance 1: only the target cond row counts; with the source prompt it equals the source
    // row, so attending to [K_src; K_src] is attending to K_src (each key twice). That union
    // differs from mutual attention otherwise: tests/model/pixart_attention_union_test.ts.
    const same = { ...BASE, targetPrompt: BASE.sourcePrompt, guidance: 1, threshold: 0 };
    const union = await edit(pipe, same), mutual = await edit(pipe, { ...same, union: false });
    assertEquals([union.used.union, mutual.used.union], [true, false]);
    const d = maxDiff(mutual.edited, union.edited);
    assertEquals(d <= 1, true, `max difference ${d} levels`);
  },
});

Deno.test({
  name:
    "edit(): with the guidance correction, the source prompt as target gives back the source branch",
  ...GPU_TEST,
  async fn() {
    const pipe = await tinyPipeline();
    // ε_t = ε_u + w(ε_c − ε_u) − (w − 1)(ε_c − ε_u) = ε_c of the source row, at any guidance
    const same = { ...BASE, targetPrompt: BASE.sourcePrompt, guidance: 7.5 };
    const corrected = await edit(pipe, same);
    assertEquals(corrected.used.guidanceCorrection, true);
    const d = maxDiff(corrected.edited, corrected.reconstruction);
    assertEquals(d <= 1, true, `max difference ${d} levels`);
    // without it, guidance moves the target away from the source (what the correction removes)
    const plain = await edit(pipe, { ...same, guidanceCorrection: false });
    const drift = maxDiff(plain.edited, plain.reconstruction);
    assertEquals(drift > 8, true, `max difference ${drift} levels`);
  },
});

Deno.test({
  name: "edit() names the option, its value and its range for bad options",
  ...GPU_TEST,
  async fn() {
    const pipe = await tinyPipeline();
    const bad: [Record<string, unknown>, string][] = [
      [{ steps: 0 }, "steps 0"],
      [{ threshold: 9 }, "threshold 9"],
      [{ blocks: [0, 5] }, "blocks [0,5]"],
      [{ mergeRatio: 0.8 }, "mergeRatio 0.8"],
      [{ crossReplace: -1 }, "crossReplace -1"],
      [{ union: "yes" }, 'union "yes"'],
      [{ guidanceCorrection: 1 }, "guidanceCorrection 1"],
      [{ keepBackground: "no" }, 'keepBackground "no"'],
      [{ backgroundThreshold: 1.5 }, "backgroundThreshold 1.5"],
    ];
    for (const [opts, msg] of bad) {
      await assertRejects(
        () => edit(pipe, { ...BASE, targetPrompt: "a blue star", ...opts }),
        RangeError,
        msg,
      );
    }
    await assertRejects(
      () =>
        edit(pipe, { ...BASE, targetPrompt: "a", keepBackground: false, backgroundThreshold: 0.5 }),
      TypeError,
      "backgroundThreshold 0.5 needs keepBackground",
    );
    await assertRejects(
      () => edit(pipe, { ...BASE, targetPrompt: " " }),
      TypeError,
      "targetPrompt is empty",
    );
  },
});

Deno.test({
  name:
    "one edit denoising step (all blocks, all four rows, Union, merging on) is at most two submits",
  ...GPU_TEST,
  async fn() {
    const { controlAt } = await import("../../pipeline/attention_control.ts");
    const { transformerBatch, epsRow } = await import("../../pipeline/guidance.ts");
    const { DPMSolverMultistepScheduler } = await import("../../pipeline/dpm_solver.ts");
    const { Tensor } = await import("../../tensor/tensor.ts");
    const pipe = await tinyPipeline();
    const p = await pipe.encodePrompt("a red star");
    const x = Tensor.from(pipe.gpu, new Float32Array(4 * 8 * 8).fill(0.5), [1, 4, 8, 8]);
    const sched = DPMSolverMultistepScheduler.fromConfig(pipe.schedulerConfig, 4);
    const state = sched.createState();
    const settings = {
      enabled: true,
      steps: 4,
      threshold: 1,
      blocks: [0, 1] as [number, number],
      crossReplace: 0,
      union: true,
      rows: 4,
      merge: { h: 4, w: 4, ratio: 0.5, seed: 0 },
    };
    await pipe.gpu.sync();
    const before = pipe.gpu.recorder.stats.submits;
    const out = transformerBatch(
      pipe,
      [x, x, x, x],
      [p, p, p, p],
      sched.timesteps[0],
      controlAt(settings, 0, undefined),
    );
    const next = sched.step(state, epsRow(out, 0), x);
    await next.toArray();
    const submits = pipe.gpu.recorder.stats.submits - before;
    assertEquals(submits <= 2, true, `${submits} submits`);
    for (const t of [x, out, next, p.embeds, p.mask]) t.dispose();
    state.dispose();
  },
});
