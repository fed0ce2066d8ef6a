"""Samples the exported pipeline folder with diffusers and scores caption following.

  tools/.venv/bin/python tools/train/sample.py [--model models/pixart-scenes-64] [--n 64]
      [--grid docs/pixart_scenes_samples.png]

Runs PixArtAlphaPipeline (20 steps, guidance 4.5, DPM-Solver++, 64x64, use_resolution_binning
False since sample_size 16 has no bins, clean_caption False) on the captions of the first N scenes
of the evaluation set (stream 1; captions only, no images are used), scores each image with
score.py, writes a grid of the first 32 (caption order) and appends a row to
tools/train/logs/samples.csv.
"""

import argparse
import json
import time

import numpy as np
import torch
from diffusers import PixArtAlphaPipeline
from PIL import Image

from common import LOGS, MODEL_DIR, ROOT, S, CsvLog, scene_rng
from score import score_image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(MODEL_DIR))
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--grid", default=str(ROOT / "docs/pixart_scenes_samples.png"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    pipe = PixArtAlphaPipeline.from_pretrained(a.model, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    caps = []
    for i in range(a.n):
        caps.append(S.caption(S.sample_scene(scene_rng(1, i), size=(64, 64))))
    imgs = []
    t0 = time.time()
    for s in range(0, a.n, a.batch):
        g = torch.Generator().manual_seed(s)
        out = pipe(caps[s:s + a.batch], num_inference_steps=20, guidance_scale=4.5, height=64, width=64,
                   generator=g, use_resolution_binning=False, clean_caption=False, output_type="np")
        imgs += [(np.clip(im, 0, 1) * 255).round().astype(np.uint8) for im in out.images]
    secs = time.time() - t0
    tot = ch = sh = both = 0
    for im, c in zip(imgs, caps):
        n, a1, a2, a3 = score_image(im, c)
        tot, ch, sh, both = tot + n, ch + a1, sh + a2, both + a3
    info = json.loads((__import__("pathlib").Path(a.model) / "export.json").read_text())
    res = {"step": info["step"], "images": len(imgs), "objects": tot, "colour": round(ch / tot, 3),
           "shape": round(sh / tot, 3), "both": round(both / tot, 3), "seconds": round(secs, 1)}
    print(json.dumps(res))
    CsvLog(LOGS / "samples.csv", list(res)).write(**res)
    tiles = imgs[:32]
    rows = [np.concatenate(tiles[r * 8:(r + 1) * 8], axis=1) for r in range(len(tiles) // 8)]
    grid = np.concatenate(rows, axis=0)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(a.grid, optimize=True)
    (LOGS / "samples_captions.txt").write_text("\n".join(caps[:32]) + "\n")


if __name__ == "__main__":
    main()
