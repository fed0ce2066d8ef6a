"""Dumps VAE reconstructions of scenes in the raw format of `tools/scenes/generate.py raw`, with the
ground-truth labels, so eval/validate_checker.ts can measure the checker on images that went
through the autoencoder (as every edited image does). Also prints the PSNR per size.

  tools/.venv/bin/python tools/train/vae_roundtrip.py --stream 1 --count 192 --out tools/scenes/out/eval_vae
  deno run -A eval/validate_checker.ts tools/scenes/out/eval_vae
"""

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL

from common import CKPT, S, scene_rng


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vae", default=str(CKPT / "vae/final"))
    ap.add_argument("--stream", type=int, default=1)
    ap.add_argument("--count", type=int, default=192)
    ap.add_argument("--out", required=True, help="path without the .bin.gz/.json suffix")
    a = ap.parse_args()
    torch.set_num_threads(1)
    vae = AutoencoderKL.from_pretrained(a.vae).eval()
    chunks, entries, offset, psnrs = [], [], 0, {}
    for i in range(a.count):
        rng = scene_rng(a.stream, i)
        size = ([(64, 64)] * 8 + [(96, 64), (64, 96)])[i % 10] if a.stream == 1 else None
        sc = S.sample_scene(rng, size=size)
        rgb, masks = S.render(sc)
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 127.5 - 1
        with torch.no_grad():
            y = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
        rec = ((y[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
        mse = ((rec.astype(np.float64) - rgb) ** 2).mean()
        psnrs.setdefault(f"{sc['width']}x{sc['height']}", []).append(10 * np.log10(255 ** 2 / max(mse, 1e-10)))
        labels = np.zeros(rgb.shape[:2], dtype=np.uint8)
        for k, m in enumerate(masks):
            labels[m] = k + 1
        data = rec.tobytes() + labels.tobytes()
        chunks.append(data)
        entries.append({"offset": offset, "width": sc["width"], "height": sc["height"],
                        "source": f"stream{a.stream}:{i}:vae",
                        "objects": [{"colour": o["colour"]["name"], "shape": o["shape"]} for o in sc["objects"]]})
        offset += len(data)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(f"{out}.bin.gz", "wb", mtime=0) as f:
        f.write(b"".join(chunks))
    Path(f"{out}.json").write_text(json.dumps({"stream": a.stream, "count": len(entries), "scenes": entries}) + "\n")
    print(json.dumps({k: round(float(np.mean(v)), 2) for k, v in psnrs.items()}))


if __name__ == "__main__":
    main()
