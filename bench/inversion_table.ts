// Reconstruction quality of the inversions (issue 5): invert an image's latents under its prompt,
// regenerate with the same prompt (no guidance, as the source branch does), and report latent MSE
// and image PSNR for DDIM inversion, uncorrected DPM-Solver++ inversion and DPM-Solver++ with the
// backward-Euler correction, at 10, 20 and 30 steps. Prints a Markdown table.
// Usage: deno run -A bench/inversion_table.ts [--model DIR] [--image PNG] [--prompt TEXT]
//        deno run -A bench/inversion_table.ts --model DIR --scenes N   (mean over held-out scenes)

import { parseArgs } from "node:util";
import { loadPipeline } from "../pipeline/pixart_pipeline.ts";
import { decodeLatents, encodeImage } from "../pipeline/edit.ts";
import { DPMSolverMultistepScheduler } from "../pipeline/dpm_solver.ts";
import { ddimInversion, dpmSolverInversion } from "../pipeline/inversion.ts";
import { epsRow, transformerBatch } from "../pipeline/guidance.ts";
import { decodeImage } from "../image/decode_image.ts";
import { resizeImage } from "../image/resize.ts";
import { keep, scope } from "../tensor/scope.ts";
import { mul, sub } from "../kernels/binary.ts";
import { mean } from "../kernels/reduce.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { RgbaImage } from "../image/rgba_image.ts";
import { readEditSet } from "../eval/edit_set.ts";
import { psnr } from "../eval/edit_metrics.ts";

const root = new URL("../", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: `${root}tests/fixtures/models/tiny-pixart` },
    image: { type: "string", default: `${root}tests/fixtures/cli/demo.png` },
    prompt: { type: "string", default: "a red circle on a gray gradient background" },
    scenes: { type: "string" },
  },
});
const pipe = await loadPipeline(values.model!);
const side = pipe.nativeSide;
// one image and prompt, or the first N held-out scenes with their captions (figures averaged)
const inputs: { image: RgbaImage; prompt: string }[] = values.scenes
  ? (await readEditSet(undefined, Number(values.scenes))).map((s) => ({
    image: s.image,
    prompt: s.caption,
  }))
  : [{ image: decodeImage(await Deno.readFile(values.image!)), prompt: values.prompt! }];

console.log(
  `Model: ${values.model}; ${
    values.scenes ? `the first ${inputs.length} held-out scenes` : `image ${values.image}`
  } at ${side}x${side}`,
);
console.log(`Adapter: ${pipe.gpu.description}\n`);
console.log(
  "| steps | inversion | latent MSE | image PSNR vs VAE reconstruction (dB) | model calls |",
);
console.log("|---|---|---|---|---|");
const sums = new Map<string, { mse: number; psnr: number; calls: number }>();
for (const input of inputs) {
  const image = resizeImage(input.image, side, side);
  const prompt = await pipe.encodePrompt(input.prompt);
  const z0 = keep(encodeImage(pipe, image));
  const reference = await decodeLatents(pipe, z0);
  for (const steps of [10, 20, 30]) {
    const sched = DPMSolverMultistepScheduler.fromConfig(pipe.schedulerConfig, steps);
    const model = (x: Tensor, t: number) => epsRow(transformerBatch(pipe, [x], [prompt], t), 0);
    const methods: [string, () => ReturnType<typeof ddimInversion>][] = [
      ["DDIM", () => ddimInversion(model, z0, sched)],
      [
        "DPM++ (uncorrected)",
        () => dpmSolverInversion(model, z0, sched, { iterations: 0, predictor: "dpm" }),
      ],
      ["DPM++ + backward Euler (K=3, ρ=0.5)", () => dpmSolverInversion(model, z0, sched)],
    ];
    for (const [name, run] of methods) {
      const inv = await run();
      const state = sched.createState();
      let x = inv.latents[0];
      for (let k = 0; k < steps; k++) {
        const next = keep(scope(() => sched.step(state, model(x, sched.timesteps[k]), x)));
        if (x !== inv.latents[0]) x.dispose();
        x = next;
        await pipe.gpu.sync();
      }
      const mse = (await scope(() => {
        const d = sub(x, z0);
        return mean(mul(d, d).reshape([1, -1]));
      }).toArray())[0];
      const img = await decodeLatents(pipe, x);
      const key = `| ${steps} | ${name} |`;
      const acc = sums.get(key) ?? { mse: 0, psnr: 0, calls: 0 };
      sums.set(key, {
        mse: acc.mse + mse / inputs.length,
        psnr: acc.psnr + psnr(img, reference) / inputs.length,
        calls: inv.modelCalls,
      });
      x.dispose();
      state.dispose();
      for (const t of inv.latents.slice(0, steps)) t.dispose();
    }
  }
  z0.dispose();
  for (const p of [prompt.embeds, prompt.mask]) p.dispose();
}
for (const [key, v] of sums) {
  console.log(`${key} ${v.mse.toExponential(3)} | ${v.psnr.toFixed(2)} | ${v.calls} |`);
}
