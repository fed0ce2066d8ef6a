"""Exports the pipeline folder models/pixart-scenes-64/ (diffusers PixArtAlphaPipeline layout, f16).

  tools/.venv/bin/python tools/train/export.py [--ckpt tools/train/ckpt/dit/latest.pt] [--raw]

Takes the EMA weights of the DiT checkpoint (latest.pt by default, or an ema_<step>.pt snapshot;
--raw takes the non-EMA weights of latest.pt), the VAE (ckpt/vae/final), the frozen T5
(ckpt/text_encoder) and the tokenizer (ckpt/tokenizer), builds PixArtAlphaPipeline with
DPMSolverMultistepScheduler() (its defaults are PixArt's scheduler config, SPEC §6), casts to
float16 and calls save_pretrained. spiece.model is copied into tokenizer/ for readers that want it.
Then reloads the folder, checks the size (<= 32 MB) and writes models/pixart-scenes-64/export.json.
"""

import argparse
import json
import shutil

import torch
from diffusers import (AutoencoderKL, DPMSolverMultistepScheduler, PixArtAlphaPipeline,
                       PixArtTransformer2DModel)
from transformers import T5EncoderModel, T5Tokenizer

from common import CKPT, DIT_CONFIG, MODEL_DIR, load_checkpoint

LIMIT = 32 * 1024 * 1024


def folder_size(path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=str(CKPT / "dit/latest.pt"))
    ap.add_argument("--raw", action="store_true", help="export the raw (non-EMA) weights")
    ap.add_argument("--out", default=str(MODEL_DIR))
    a = ap.parse_args()
    ck = load_checkpoint(__import__("pathlib").Path(a.ckpt))
    if ck is None:
        raise SystemExit(f"No checkpoint at '{a.ckpt}'")
    dit = PixArtTransformer2DModel(**ck.get("config", DIT_CONFIG))
    dit.load_state_dict(ck["model"] if a.raw else ck["ema"])
    pipe = PixArtAlphaPipeline(
        tokenizer=T5Tokenizer.from_pretrained(str(CKPT / "tokenizer")),
        text_encoder=T5EncoderModel.from_pretrained(CKPT / "text_encoder"),
        vae=AutoencoderKL.from_pretrained(CKPT / "vae/final"),
        transformer=dit,
        scheduler=DPMSolverMultistepScheduler(),
    )
    pipe.to(torch.float16)
    out = __import__("pathlib").Path(a.out)
    keep = {"README.md"}
    if out.exists():
        for p in out.iterdir():
            if p.name not in keep:
                shutil.rmtree(p) if p.is_dir() else p.unlink()
    pipe.save_pretrained(out, safe_serialization=True)
    shutil.copy(CKPT / "tokenizer/spiece.model", out / "tokenizer/spiece.model")
    size = folder_size(out)
    info = {"checkpoint": a.ckpt.split("tools/train/")[-1], "weights": "raw" if a.raw else "ema",
            "step": ck["step"], "train_hours": round(ck.get("seconds", 0) / 3600, 2),
            "bytes": size, "dtype": "float16"}
    info.update({k: ck[k] for k in ("device", "batch", "total_steps") if k in ck})
    (out / "export.json").write_text(json.dumps(info, indent=1) + "\n")
    # reload as a user would
    PixArtAlphaPipeline.from_pretrained(out, torch_dtype=torch.float32)
    print(json.dumps(info))
    for p in sorted(out.rglob("*")):
        if p.is_file():
            print(f"{p.stat().st_size:>10}  {p.relative_to(out)}")
    if size > LIMIT:
        raise SystemExit(f"Folder is {size} bytes, over the {LIMIT} byte limit")


if __name__ == "__main__":
    main()
