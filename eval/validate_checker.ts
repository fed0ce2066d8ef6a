// Validates eval/checker.ts on ground-truth scenes and writes the figures as JSON.
//
//   tools/.venv/bin/python tools/scenes/generate.py raw --stream 1 --count 192 --targets \
//     --out tools/scenes/out/eval.bin.gz --index tools/scenes/out/eval.json
//   tools/.venv/bin/python tools/scenes/generate.py raw --stream 2 --count 600 --targets \
//     --out tools/scenes/out/val.bin.gz --index tools/scenes/out/val.json
//   tools/.venv/bin/python tools/scenes/generate.py raw --stream 3 --count 100 --targets \
//     --out tools/scenes/out/subset.bin.gz --index tools/scenes/out/subset.json
//   # the same scenes after a VAE round trip (needs tools/train/ckpt/vae/final):
//   tools/.venv/bin/python tools/train/vae_roundtrip.py --stream 1 --count 192 --out tools/scenes/out/eval_vae
//   tools/.venv/bin/python tools/train/vae_roundtrip.py --stream 2 --count 300 --out tools/scenes/out/val_vae
//   deno run -A eval/validate_checker.ts tools/scenes/out/{eval,val,subset,eval_vae,val_vae} \
//     > tests/fixtures/scenes/checker/validation.json
//
// Each argument is a dump's path without the `.bin.gz` / `.json` suffix.

import { checkerAccuracy } from "./checker_accuracy.ts";
import { readRawScenes } from "./scene_set.ts";

if (import.meta.main) {
  const results: Record<string, unknown> = {};
  for (const base of Deno.args) {
    const scenes = await readRawScenes(`${base}.bin.gz`, `${base}.json`);
    const t0 = performance.now();
    const report = checkerAccuracy(scenes);
    const ms = performance.now() - t0;
    results[base.split("/").pop()!] = { images: scenes.length, ...report };
    console.error(
      `${base}: ${scenes.length} images, ${report.objects} objects; true mask colour ${
        (100 * report.colourTrueMask).toFixed(2)
      }% shape ${(100 * report.shapeTrueMask).toFixed(2)}%; segmented colour ${
        (100 * report.colourSegmented).toFixed(2)
      }% shape ${(100 * report.shapeSegmented).toFixed(2)}% (${ms.toFixed(0)} ms)`,
    );
  }
  console.log(JSON.stringify(results, null, 1));
}
