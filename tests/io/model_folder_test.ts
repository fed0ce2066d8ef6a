// io/model_folder.ts on a hand-built diffusers pipeline folder (PixArt-alpha layout, tiny tensors).

import { assertEquals, assertInstanceOf, assertRejects, assertStringIncludes } from "@std/assert";
import { findWeights, openModelFolder } from "../../io/model_folder.ts";
import { ShardedSafetensors } from "../../io/sharded.ts";
import { writeSafetensors } from "../../io/safetensors_write.ts";
import { withTempDir } from "./_safetensors_helpers.ts";

const INDEX = {
  _class_name: "PixArtAlphaPipeline",
  _diffusers_version: "0.22.0.dev0",
  scheduler: ["diffusers", "DPMSolverMultistepScheduler"],
  text_encoder: ["transformers", "T5EncoderModel"],
  tokenizer: ["transformers", "T5Tokenizer"],
  transformer: ["diffusers", "Transformer2DModel"],
  vae: ["diffusers", "AutoencoderKL"],
  safety_checker: [null, null],
};

const one = (v: number) => ({
  w: { dtype: "F32" as const, shape: [1], data: new Float32Array([v]) },
});

async function makePipeline(dir: string) {
  await Deno.writeTextFile(`${dir}/model_index.json`, JSON.stringify(INDEX, null, 2));
  for (const c of ["scheduler", "text_encoder", "tokenizer", "transformer", "vae"]) {
    await Deno.mkdir(`${dir}/${c}`);
  }
  await Deno.writeTextFile(
    `${dir}/scheduler/scheduler_config.json`,
    '{"num_train_timesteps": 1000}',
  );
  await Deno.writeTextFile(`${dir}/tokenizer/tokenizer_config.json`, '{"model_max_length": 120}');
  await Deno.writeTextFile(`${dir}/transformer/config.json`, '{"num_layers": 28}');
  await Deno.writeTextFile(`${dir}/vae/config.json`, '{"scaling_factor": 0.18215}');
  await Deno.writeTextFile(`${dir}/text_encoder/config.json`, '{"d_model": 4096}');
  await writeSafetensors(`${dir}/transformer/diffusion_pytorch_model.safetensors`, one(32));
  await writeSafetensors(`${dir}/transformer/diffusion_pytorch_model.fp16.safetensors`, {
    w: { dtype: "F16", shape: [1], data: new Uint16Array([0x5000]) },
  });
  await writeSafetensors(`${dir}/vae/diffusion_pytorch_model.fp16.safetensors`, one(16));
  await writeSafetensors(`${dir}/text_encoder/model-00001-of-00001.safetensors`, one(4));
  await Deno.writeTextFile(
    `${dir}/text_encoder/model.safetensors.index.json`,
    JSON.stringify({ metadata: {}, weight_map: { w: "model-00001-of-00001.safetensors" } }),
  );
}

Deno.test("openModelFolder() reads model_index.json, configs and weights", async () => {
  await withTempDir(async (dir) => {
    await makePipeline(dir);
    const folder = await openModelFolder(dir + "/");
    assertEquals(folder.className, "PixArtAlphaPipeline");
    assertEquals([...folder.components.keys()], [
      "scheduler",
      "text_encoder",
      "tokenizer",
      "transformer",
      "vae",
    ]);
    const t = await folder.component("transformer");
    assertEquals([t.library, t.className, t.config], ["diffusers", "Transformer2DModel", {
      num_layers: 28,
    }]);
    assertEquals(t.configPath, `${dir}/transformer/config.json`);
    assertEquals((await folder.component("scheduler")).config, { num_train_timesteps: 1000 });
    assertEquals((await folder.component("tokenizer")).config, { model_max_length: 120 });
    assertEquals(await folder.findWeights("transformer"), {
      kind: "single",
      path: `${dir}/transformer/diffusion_pytorch_model.safetensors`,
      variant: undefined,
    });
    const fp16 = await folder.findWeights("transformer", { variant: "fp16" });
    assertEquals(fp16.path, `${dir}/transformer/diffusion_pytorch_model.fp16.safetensors`);
    // No plain file: falls back to the fp16 variant.
    assertEquals((await folder.findWeights("vae")).variant, "fp16");
    const te = await folder.openWeights("text_encoder");
    assertInstanceOf(te, ShardedSafetensors);
    assertEquals([...(await te.readF32("w"))], [4]);
    te.close();
    const tr = await folder.openWeights("transformer", { variant: "fp16" });
    assertEquals([tr.info("w").dtype, (await tr.readF32("w"))[0]], ["F16", 32]);
    tr.close();
  });
});

Deno.test("openModelFolder() errors: missing folder, not a folder, missing model_index.json", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(
      () => openModelFolder(`${dir}/nope`),
      Deno.errors.NotFound,
      `Cannot open model folder "${dir}/nope": no such folder`,
    );
    await Deno.writeTextFile(`${dir}/file`, "");
    await assertRejects(
      () => openModelFolder(`${dir}/file`),
      Deno.errors.NotFound,
      "it is not a folder",
    );
    await assertRejects(
      () => openModelFolder(dir),
      Deno.errors.NotFound,
      `Cannot read the pipeline's component list at "${dir}/model_index.json": no such file`,
    );
  });
});

Deno.test("openModelFolder() reports bad JSON as SyntaxError naming file and position", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/model_index.json`,
      '{\n  "_class_name": "X",\n  "vae": [diffusers]\n}',
    );
    const e = await assertRejects(() => openModelFolder(dir), SyntaxError);
    assertStringIncludes(e.message, `Cannot parse JSON file "${dir}/model_index.json"`);
    assertStringIncludes(e.message, "position 34 (line 3 column 11)");
    await Deno.writeTextFile(`${dir}/model_index.json`, '{"vae": ["diffusers", "AutoencoderKL"]}');
    await assertRejects(() => openModelFolder(dir), TypeError, '"_class_name" is missing');
    await Deno.writeTextFile(
      `${dir}/model_index.json`,
      '{"_class_name": "P", "vae": ["diffusers"]}',
    );
    await assertRejects(
      () => openModelFolder(dir),
      TypeError,
      'component "vae" is ["diffusers"], expected [library, class name]',
    );
    await Deno.writeTextFile(`${dir}/model_index.json`, "[]");
    await assertRejects(() => openModelFolder(dir), TypeError, "expected a JSON object");
  });
});

Deno.test("ModelFolder errors: unknown component, missing folder or config, bad config", async () => {
  await withTempDir(async (dir) => {
    await makePipeline(dir);
    const folder = await openModelFolder(dir);
    await assertRejects(
      () => folder.component("unet"),
      Deno.errors.NotFound,
      `Cannot find component "unet" in "${dir}/model_index.json": it lists "scheduler", "text_encoder"`,
    );
    await Deno.remove(`${dir}/vae`, { recursive: true });
    await assertRejects(
      () => folder.component("vae"),
      Deno.errors.NotFound,
      `Cannot open component "vae" of "${dir}": no folder "${dir}/vae"`,
    );
    await Deno.remove(`${dir}/transformer/config.json`);
    await assertRejects(
      () => folder.component("transformer"),
      Deno.errors.NotFound,
      `Cannot read the config of component "transformer" at "${dir}/transformer/config.json": no such file`,
    );
    await Deno.writeTextFile(`${dir}/transformer/config.json`, '{"num_layers": 28,}');
    const e = await assertRejects(() => folder.component("transformer"), SyntaxError);
    assertStringIncludes(e.message, `"${dir}/transformer/config.json"`);
    assertStringIncludes(e.message, "position 18");
  });
});

Deno.test("findWeights() lists every name it looked for when there are no weights", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/diffusion_pytorch_model.bin`, new Uint8Array(4));
    const e = await assertRejects(() => findWeights(dir), Deno.errors.NotFound);
    assertStringIncludes(
      e.message,
      `Cannot find weights in "${dir}": looked for diffusion_pytorch_model.safetensors, ` +
        "model.safetensors, diffusion_pytorch_model.safetensors.index.json, " +
        "model.safetensors.index.json, diffusion_pytorch_model.fp16.safetensors",
    );
    assertStringIncludes(e.message, "model.safetensors.index.fp16.json");
    assertStringIncludes(
      e.message,
      '(found "diffusion_pytorch_model.bin", which we cannot read: convert to safetensors)',
    );
    await writeSafetensors(`${dir}/model.bf16.safetensors`, one(1));
    assertEquals(
      (await findWeights(dir, { variant: "bf16" })).path,
      `${dir}/model.bf16.safetensors`,
    );
    await Deno.writeTextFile(`${dir}/model.safetensors.index.fp16.json`, "{}");
    assertEquals(await findWeights(dir), {
      kind: "sharded",
      path: `${dir}/model.safetensors.index.fp16.json`,
      variant: "fp16",
    });
  });
});
