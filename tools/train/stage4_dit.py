"""Stage 4: PixArtTransformer2DModel on VAE latents of scenes (the long run; resumable).

  nohup tools/.venv/bin/python tools/train/stage4_dit.py > tools/train/ckpt/train.log 2>&1 &
  echo $! > tools/train/ckpt/train.pid

Model: common.DIT_CONFIG (hidden 192 = 6 heads x 32, 6 blocks, patch 2, sample_size 16, caption
channels 64 = T5 d_model, ada_norm_single, no micro-conditions, out_channels 8 = learned sigma).
Objective (SPEC §6): linear betas 1e-4..0.02 over 1000 steps, t uniform in 0..999,
x_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) eps, MSE between eps and output channels 0..3.
Channels 4..7 (PixArt's learned variance, which the DPM-Solver++ pipeline discards) are not trained:
their rows of proj_out start at zero and their gradients are masked, so they always output 0.
Caption dropout: 10% of captions become the empty prompt "" (T5 of EOS only, as the diffusers
pipeline encodes its negative prompt), for classifier-free guidance.
Init as the original PixArt (xavier linears, N(0, 0.02) timestep MLP and adaLN linear, zero
cross-attention output projections and zero final layer), except the caption projection, which
keeps xavier (see pixart_init). AdamW lr 3e-4 (500 warm-up steps),
weight decay 0.03, grad-norm clip 1, batch 64, EMA 0.9995 (warming up) kept for export.

Data: a cache of VAE latents (posterior means x scaling_factor) of scene stream 0, built on first run
in tools/train/ckpt/latents/ (POOL scenes at 64x64 and POOL_NS at each of 96x64 and 64x96). Each
step draws one size bucket (80% 64x64) and 64 scenes from it, from numpy default_rng([SEED, step]),
and its noise from torch.Generator seeded by SEED + step, so a resumed run replays the same batches.

Checkpoints: tools/train/ckpt/dit/latest.pt every CKPT_MINUTES (model, EMA, optimiser, step), and an
EMA-only snapshot ckpt/dit/ema_<step>.pt every SNAPSHOT_STEPS. Log: tools/train/logs/dit.csv
(loss per step; val_loss on 256 fixed held-out latents of stream 2 every VAL_EVERY steps).
Stop it with `kill $(cat tools/train/ckpt/train.pid)`; rerunning resumes from latest.pt.
"""

import argparse
import copy
import math
import os
import signal

import numpy as np
import torch
from diffusers import AutoencoderKL, PixArtTransformer2DModel
from transformers import T5EncoderModel, T5Tokenizer

from common import (CKPT, DIT_CONFIG, LOGS, TRAIN_MAX_TOKENS, CsvLog, Timer, load_checkpoint,
                    render_batch, save_checkpoint)

SEED = 4
BATCH = 64
LR, WARMUP, WEIGHT_DECAY = 3e-4, 500, 0.03
EMA_DECAY = 0.9995
CFG_DROP = 0.1
POOL, POOL_NS = 32_000, 4_000
BUCKETS = [((64, 64), 0.8), ((96, 64), 0.1), ((64, 96), 0.1)]
CKPT_MINUTES = 10
SNAPSHOT_STEPS = 2000
VAL_EVERY = 250
OUT = CKPT / "dit"
LAT = CKPT / "latents"


def betas_alphas_cumprod():
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float32)
    return torch.cumprod(1.0 - betas, dim=0)


def load_frozen():
    vae = AutoencoderKL.from_pretrained(CKPT / "vae/final").eval()
    tok = T5Tokenizer.from_pretrained(str(CKPT / "tokenizer"))
    t5 = T5EncoderModel.from_pretrained(CKPT / "text_encoder").eval()
    for p in list(vae.parameters()) + list(t5.parameters()):
        p.requires_grad_(False)
    return vae, tok, t5


def build_cache(vae, size, count, stream, start=0, chunk=64):
    """Latents (f16) and captions of `count` scenes of one size; resumable per chunk."""
    path = LAT / f"s{stream}_{size[0]}x{size[1]}_{start}_{count}.pt"
    if path.exists():
        return torch.load(path)
    part = path.with_suffix(".part.pt")
    done = torch.load(part) if part.exists() else {"lat": [], "cap": []}
    sf = vae.config.scaling_factor
    timer = Timer()
    n0 = sum(len(c) for c in done["cap"])
    for s in range(n0, count, chunk):
        n = min(chunk, count - s)
        # scene ids: distinct per size so buckets never share scenes
        base = start + {(64, 64): 0, (96, 64): 50_000_000, (64, 96): 60_000_000}[size]
        x, caps, _ = render_batch(stream, base + s, n, size=size)
        with torch.no_grad():
            z = vae.encode(x).latent_dist.mode() * sf
        done["lat"].append(z.half())
        done["cap"].append(caps)
        if (s // chunk) % 20 == 19:
            save_checkpoint(part, done)
            print(f"cache {size}: {s + n}/{count} ({timer.elapsed():.0f} s)", flush=True)
    out = {"lat": torch.cat(done["lat"]), "cap": [c for cs in done["cap"] for c in cs]}
    save_checkpoint(path, out)
    if part.exists():
        part.unlink()
    return out


def encode_captions(tok, t5, caps):
    ids = tok(caps, padding="max_length", max_length=TRAIN_MAX_TOKENS, truncation=True, return_tensors="pt")
    with torch.no_grad():
        h = t5(input_ids=ids.input_ids, attention_mask=ids.attention_mask).last_hidden_state
    return h, ids.attention_mask


def pixart_init(model):
    def basic(m):
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
    model.apply(basic)
    w = model.pos_embed.proj.weight.data
    torch.nn.init.xavier_uniform_(w.view(w.shape[0], -1))
    emb = model.adaln_single.emb.timestep_embedder
    torch.nn.init.normal_(emb.linear_1.weight, std=0.02)
    torch.nn.init.normal_(emb.linear_2.weight, std=0.02)
    torch.nn.init.normal_(model.adaln_single.linear.weight, std=0.02)
    # caption_projection keeps the xavier init (PixArt draws it from N(0, 0.02), sized for 4096-dim
    # T5-XXL states): with 64-dim unit-RMS states, N(0, 0.02) makes the projected captions ~0.03 in
    # scale, and a first run (1,578 steps) barely learnt to use them.
    for b in model.transformer_blocks:
        torch.nn.init.zeros_(b.attn2.to_out[0].weight)
        torch.nn.init.zeros_(b.attn2.to_out[0].bias)
    torch.nn.init.zeros_(model.proj_out.weight)
    torch.nn.init.zeros_(model.proj_out.bias)


def variance_rows(model):
    """Rows of proj_out that produce output channels 4..7: feature (p*2+q)*C + c with c >= 4."""
    c = model.config.out_channels
    rows = torch.arange(model.proj_out.weight.shape[0])
    return (rows % c) >= c // 2


def build_model(device="cpu"):
    """The seeded, PixArt-initialised DiT on `device` with its variance rows' gradients masked, and
    a frozen copy for the EMA."""
    torch.manual_seed(SEED)
    model = PixArtTransformer2DModel(**DIT_CONFIG)
    pixart_init(model)
    model.to(device)
    vmask = variance_rows(model).to(device)
    model.proj_out.weight.register_hook(lambda g: g.masked_fill(vmask[:, None], 0.0))
    model.proj_out.bias.register_hook(lambda g: g.masked_fill(vmask, 0.0))
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    return model, ema


def make_optimizer(model, lr, fused=False):
    """AdamW with weight decay on the matrices only (not biases, norms, scale_shift_table, proj_out)."""
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "scale_shift_table" in n or n.startswith("proj_out") else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.999),
                             fused=fused)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--pool", type=int, default=POOL, help="64x64 scenes in the latent cache")
    ap.add_argument("--pool-ns", type=int, default=POOL_NS, help="scenes per non-square size")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    vae, tok, t5 = load_frozen()
    caches = {}
    for size, _ in BUCKETS:
        caches[size] = build_cache(vae, size, a.pool if size == (64, 64) else a.pool_ns, stream=0)
    val = build_cache(vae, (64, 64), 256, stream=2, start=3_000_000)
    del vae
    uncond_h, uncond_m = encode_captions(tok, t5, [""])

    model, ema = build_model()
    opt = make_optimizer(model, LR)
    acp = betas_alphas_cumprod()
    log = CsvLog(LOGS / "dit.csv", ["step", "loss", "val_loss", "lr", "seconds", "bucket"])
    step, seconds = 0, 0.0
    ck = load_checkpoint(OUT / "latest.pt")
    if ck is not None:
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, seconds = ck["step"], ck["seconds"]
        log.truncate_after(step)
        print(f"resumed at step {step} ({seconds / 3600:.2f} h trained)", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"DiT params {n_params}, threads {torch.get_num_threads()}, pid {os.getpid()}", flush=True)

    # fixed validation noise and timesteps
    g = torch.Generator().manual_seed(12345)
    vz = val["lat"].float()
    vt = torch.randint(0, 1000, (vz.shape[0],), generator=g)
    veps = torch.randn(vz.shape, generator=g)
    vh, vm = encode_captions(tok, t5, val["cap"])

    def val_loss():
        losses = []
        with torch.no_grad():
            for s in range(0, vz.shape[0], 64):
                sl = slice(s, s + 64)
                ab = acp[vt[sl]].view(-1, 1, 1, 1)
                xt = ab.sqrt() * vz[sl] + (1 - ab).sqrt() * veps[sl]
                out = ema(xt, encoder_hidden_states=vh[sl], encoder_attention_mask=vm[sl], timestep=vt[sl],
                          added_cond_kwargs={"resolution": None, "aspect_ratio": None}).sample
                losses.append(((out[:, :4] - veps[sl]) ** 2).mean().item())
        return float(np.mean(losses))

    stop = {"now": False}

    def on_term(*_):
        stop["now"] = True
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    def checkpoint():
        save_checkpoint(OUT / "latest.pt", {"model": model.state_dict(), "ema": ema.state_dict(),
                                            "opt": opt.state_dict(), "step": step, "seconds": seconds,
                                            "config": DIT_CONFIG})

    timer = Timer()
    base = seconds
    last_ck = timer.elapsed()
    probs = np.array([p for _, p in BUCKETS])
    model.train()
    while step < a.max_steps and not stop["now"]:
        rng = np.random.default_rng([SEED, step])
        size = BUCKETS[rng.choice(len(BUCKETS), p=probs)][0]
        cache = caches[size]
        idx = rng.choice(cache["lat"].shape[0], size=BATCH, replace=False)
        z0 = cache["lat"][idx].float()
        caps = [cache["cap"][i] if rng.random() >= CFG_DROP else "" for i in idx]
        h, m = encode_captions(tok, t5, caps)
        gen = torch.Generator().manual_seed(SEED * 1_000_003 + step)
        t = torch.randint(0, 1000, (BATCH,), generator=gen)
        eps = torch.randn(z0.shape, generator=gen)
        ab = acp[t].view(-1, 1, 1, 1)
        xt = ab.sqrt() * z0 + (1 - ab).sqrt() * eps
        lr = LR * min(1.0, (step + 1) / WARMUP)
        for grp in opt.param_groups:
            grp["lr"] = lr
        out = model(xt, encoder_hidden_states=h, encoder_attention_mask=m, timestep=t,
                    added_cond_kwargs={"resolution": None, "aspect_ratio": None}).sample
        loss = ((out[:, :4] - eps) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        d = min(EMA_DECAY, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - d)
        step += 1
        seconds = base + timer.elapsed()
        row = dict(step=step, loss=f"{loss.item():.5f}", lr=f"{lr:.2e}", seconds=f"{seconds:.0f}",
                   bucket=f"{size[0]}x{size[1]}")
        if step % VAL_EVERY == 0:
            row["val_loss"] = f"{val_loss():.5f}"
            print(f"step {step} loss {loss.item():.4f} val {row['val_loss']} "
                  f"({(timer.elapsed()) / max(step - ck_step0(ck), 1):.2f} s/step)", flush=True)
        log.write(**row)
        if step % SNAPSHOT_STEPS == 0:
            save_checkpoint(OUT / f"ema_{step:06d}.pt", {"ema": ema.state_dict(), "step": step,
                                                           "config": DIT_CONFIG})
        if timer.elapsed() - last_ck > CKPT_MINUTES * 60:
            checkpoint()
            last_ck = timer.elapsed()
    checkpoint()
    print(f"stopped at step {step}", flush=True)


def ck_step0(ck):
    return 0 if ck is None else ck["step"]


if __name__ == "__main__":
    main()
