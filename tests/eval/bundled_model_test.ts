// The bundled scenes model (models/pixart-scenes-64, issue 7): a diffusers PixArt-α pipeline folder
// within the 32 MB budget that loads through our model loader (strict keys), reconstructs the
// demo image through inversion, and makes a held-out edit that the checker confirms.

import { assert, assertEquals } from "@std/assert";
import { decodeImage } from "../../image/decode_image.ts";
import { edit, loadPipeline } from "../../pipeline/edit.ts";
import { psnr, scoreEdit } from "../../eval/edit_metrics.ts";
import { readEditSet } from "../../eval/edit_set.ts";
import { defaultImagePath, defaultModelPath, DEMO_SOURCE } from "../../cli/_defaults.ts";
import { GPU_TEST, testGpu } from "../_harness.ts";

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    total += e.isDirectory ? await folderBytes(path) : (await Deno.stat(path)).size;
  }
  return total;
}

Deno.test("the bundled model is a diffusers PixArt-α folder of at most 32 MB", async () => {
  const dir = defaultModelPath();
  const bytes = await folderBytes(dir);
  assert(bytes <= 32 * 1024 * 1024, `${dir} holds ${bytes} bytes`);
  const index = JSON.parse(await Deno.readTextFile(`${dir}/model_index.json`));
  assertEquals(index._class_name, "PixArtAlphaPipeline");
  for (const part of ["transformer", "vae", "text_encoder", "tokenizer", "scheduler"]) {
    assert(Array.isArray(index[part]), `model_index.json lists ${part}`);
  }
});

Deno.test({
  name: "the bundled model loads through loadPipeline and reconstructs the demo image (> 25 dB)",
  ...GPU_TEST,
  async fn() {
    const pipe = await loadPipeline(defaultModelPath(), { gpu: await testGpu() });
    assertEquals(pipe.nativeSide, 64);
    const image = decodeImage(await Deno.readFile(defaultImagePath()));
    // control off and the source prompt as target: both branches reconstruct
    const { reconstruction } = await edit(pipe, {
      image,
      sourcePrompt: DEMO_SOURCE,
      targetPrompt: DEMO_SOURCE,
      steps: 10,
      control: false,
    });
    const db = psnr(reconstruction, image);
    assert(db > 25, `reconstruction PSNR ${db.toFixed(2)} dB`);
  },
});

Deno.test({
  name: "an edit on the bundled model shows the target colour and shape (checker): e0007",
  ...GPU_TEST,
  async fn() {
    // Held-out scene e0007, "a green circle on a striped black background" edited into "a pink
    // square …": one of the edits the bundled model gets right at 10 steps (the default
    // configuration succeeds on under half of the held-out scenes, BENCHMARKS.md; this one also
    // with plain guidance and with control off), kept as a regression test of the model, the
    // editor and the checker together.
    const pipe = await loadPipeline(defaultModelPath(), { gpu: await testGpu() });
    const [scene] = (await readEditSet(undefined, 8)).slice(7);
    assertEquals(scene.id, "e0007");
    const { edited, reconstruction } = await edit(pipe, {
      image: scene.image,
      sourcePrompt: scene.caption,
      targetPrompt: scene.edit.targetCaption,
      steps: 10,
    });
    const score = scoreEdit(scene, edited, reconstruction);
    assertEquals(score.found, { colour: "pink", shape: "square" });
    assertEquals(scene.edit.target, { colour: "pink", shape: "square" });
  },
});
