"""Stage 3: a small AutoencoderKL (factor 4, 4 latent channels) trained on scenes.

Config: common.VAE_CONFIG (block_out_channels [32, 64, 64], layers_per_block 1, 16 groups).
Loss: L1 + L2 on pixels in [-1, 1] plus 1e-5 * KL (summed over the latent, divided by the pixel
count), decoding a posterior sample. Most steps use random 32x32 crops of 64x64 scenes (4x cheaper
per image, the model is convolutional); the last FULL_STEPS use whole scenes at 64x64, 96x64 and
64x96, so the mid-block attention sees whole images. At the end the latent scaling factor
(1 / std of the posterior means over 512 held-out scenes) is measured and written into the config.

Resumable: a checkpoint every CKPT_MINUTES in tools/train/ckpt/vae/latest.pt; rerunning the script
continues from it. Data: scene stream 0 (training); PSNR is measured on stream 2 (validation).
  tools/.venv/bin/python tools/train/stage3_vae.py [--steps N]
Outputs tools/train/ckpt/vae/final/ (save_pretrained) and tools/train/logs/vae.csv.
"""

import argparse
import json
import math

import numpy as np
import torch
from diffusers import AutoencoderKL

from common import CKPT, LOGS, VAE_CONFIG, CsvLog, Timer, load_checkpoint, render_batch, save_checkpoint

SEED = 1
STEPS = 2000
FULL_STEPS = 400
CROP_BATCH, CROP = 32, 32
FULL_BATCH = 8
LR, LR_MIN = 1e-3, 5e-5
KL_WEIGHT = 1e-5
CKPT_MINUTES = 10
OUT = CKPT / "vae"


def lr_at(step, steps):
    warm = 100
    if step < warm:
        return LR * (step + 1) / warm
    p = (step - warm) / max(steps - warm, 1)
    return LR_MIN + 0.5 * (LR - LR_MIN) * (1 + math.cos(math.pi * min(p, 1.0)))


def batch_for(step, steps):
    """Deterministic batch for a step: (x, description). Scenes are taken from stream 0 in order."""
    rng = np.random.default_rng([SEED, step])
    if step < steps - FULL_STEPS:
        x, _, _ = render_batch(0, step * CROP_BATCH, CROP_BATCH, size=(64, 64))
        ox = rng.integers(0, 64 - CROP + 1, size=CROP_BATCH)
        oy = rng.integers(0, 64 - CROP + 1, size=CROP_BATCH)
        x = torch.stack([x[i, :, oy[i]:oy[i] + CROP, ox[i]:ox[i] + CROP] for i in range(CROP_BATCH)])
        return x
    size = [(64, 64), (64, 64), (96, 64), (64, 96)][step % 4]
    x, _, _ = render_batch(0, 10_000_000 + step * FULL_BATCH, FULL_BATCH, size=size)
    return x


def psnr(vae, x):
    with torch.no_grad():
        y = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
    a = ((x + 1) * 127.5).round()
    b = ((y + 1) * 127.5).round()
    mse = ((a - b) ** 2).mean(dim=(1, 2, 3))
    return (10 * torch.log10(255.0 ** 2 / mse.clamp_min(1e-10))).mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(SEED)
    vae = AutoencoderKL(**VAE_CONFIG)
    opt = torch.optim.Adam(vae.parameters(), lr=LR)
    log = CsvLog(LOGS / "vae.csv", ["step", "loss", "l1", "mse", "kl", "lr", "psnr_val", "seconds"])
    step, seconds = 0, 0.0
    ck = load_checkpoint(OUT / "latest.pt")
    if ck is not None:
        vae.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, seconds = ck["step"], ck["seconds"]
        torch.set_rng_state(ck["torch_rng"])
        log.truncate_after(step)
        print(f"resumed at step {step}")
    xval, _, _ = render_batch(2, 0, 64, size=(64, 64))
    timer = Timer()
    last_ck = timer.elapsed()
    base = seconds
    while step < a.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a.steps)
        x = batch_for(step, a.steps)
        post = vae.encode(x).latent_dist
        y = vae.decode(post.sample()).sample
        l1 = (y - x).abs().mean()
        mse = ((y - x) ** 2).mean()
        kl = post.kl().mean() / (3 * x.shape[2] * x.shape[3])
        loss = l1 + mse + KL_WEIGHT * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        seconds = base + timer.elapsed()
        row = dict(step=step, loss=f"{loss.item():.5f}", l1=f"{l1.item():.5f}", mse=f"{mse.item():.6f}",
                   kl=f"{kl.item():.4f}", lr=f"{lr_at(step - 1, a.steps):.2e}", seconds=f"{seconds:.0f}")
        if step % 250 == 0 or step == a.steps:
            vae.eval()
            row["psnr_val"] = f"{psnr(vae, xval):.2f}"
            vae.train()
            print(f"step {step} loss {loss.item():.4f} psnr {row['psnr_val']} ({seconds / step:.2f} s/step)", flush=True)
        log.write(**row)
        if timer.elapsed() - last_ck > CKPT_MINUTES * 60 or step == a.steps:
            save_checkpoint(OUT / "latest.pt", {"model": vae.state_dict(), "opt": opt.state_dict(), "step": step,
                                                "seconds": seconds, "torch_rng": torch.get_rng_state()})
            last_ck = timer.elapsed()
    finish(vae)


def finish(vae):
    """Scaling factor from held-out scenes, PSNR per size, and save_pretrained to ckpt/vae/final."""
    vae.eval()
    means = []
    stats = {}
    with torch.no_grad():
        for size in [(64, 64), (96, 64), (64, 96)]:
            n = 512 if size == (64, 64) else 64
            ps = []
            for start in range(0, n, 64):
                x, _, _ = render_batch(2, 100_000 * (1 + size[0] // 96 + 2 * (size[1] // 96)) + start, 64, size=size)
                mean = vae.encode(x).latent_dist.mode()
                if size == (64, 64):
                    means.append(mean)
                ps.append(psnr(vae, x))
            stats[f"psnr_{size[0]}x{size[1]}"] = float(np.mean(ps))
    z = torch.cat(means)
    std = z.std().item()
    stats.update({"latent_mean": z.mean().item(), "latent_std": std,
                  "latent_channel_mean": z.mean(dim=(0, 2, 3)).tolist(),
                  "latent_channel_std": z.std(dim=(0, 2, 3)).tolist()})
    scaling = float(f"{1.0 / std:.5g}")
    vae.register_to_config(scaling_factor=scaling)
    vae.save_pretrained(OUT / "final")
    stats["scaling_factor"] = scaling
    (LOGS / "vae_stats.json").write_text(json.dumps(stats, indent=1) + "\n")
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
