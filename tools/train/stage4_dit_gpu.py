"""Stage 4 on one CUDA GPU: the same model, objective and data stream as stage4_dit.py, in one run.

  SCENES_CKPT=DIR python3 tools/train/stage4_dit_gpu.py --out OUTDIR [--budget SECONDS] [--steps N]
      [--resume DIR] [--lr LR]

Written for the `device` tool's lent H100/H200 (torch there; diffusers travels as a wheel, see
tools/train/README.md). SCENES_CKPT must hold tokenizer/spiece.model, text_encoder/ and vae/final/
(stages 1-3) and t5_check.pt (captions with their ids and T5 states computed here by
T5Tokenizer + T5EncoderModel: the run stops if the GPU's tokenisation or states differ).

What differs from the CPU script, and why:
- Data is rendered in parallel (all cores) and encoded on the GPU at start, and held on the GPU:
  POOL 64x64 scenes and POOL_NS of each non-square size of stream 0 (the same scene ids as the CPU
  cache, so its data is a subset of this one), never the evaluation stream.
- Captions are tokenised with sentencepiece directly (spiece ids + EOS, padded with 0 to 24: what
  T5Tokenizer does for these lowercase captions) and every distinct caption is encoded once.
- Batch BATCH with AdamW LR (warm-up WARMUP, then cosine to LR/10 at the last step); TF32 matmuls.
- The run length: with --steps N it is N; else it is fitted to --budget seconds (script start to
  the last step) after timing steps PROBE_FROM..PROBE_TO, and printed, so `--steps N` reproduces it.
- Each step's batch comes from numpy default_rng([SEED, step]) as in the CPU script; its noise and
  timesteps from a CUDA generator seeded SEED * 1000003 + step (bitwise repeatable on one GPU kind).

- --resume DIR continues an earlier run from DIR/model.pt and DIR/ema.pt: its weights, its EMA and
  its step count (batches, noise and the EMA decay go on from there, so no data is replayed), with
  a fresh AdamW and this run's own warm-up and cosine schedule (the moments would not fit beside
  the weights in what a device call carries: 16 MiB a file, 64 MiB a tree). A budget-sized call a
  session can thus add steps to the bundled run.

Writes OUTDIR/ema.pt and OUTDIR/model.pt (f32 state dicts with step and config, each < 16 MiB)
and OUTDIR/dit_gpu.csv (mean loss every LOG_EVERY steps, EMA val loss every VAL_EVERY steps on the
same 256 held-out stream-2 latents and noise as the CPU script).
"""

import argparse
import csv
import math
import os
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
from diffusers import AutoencoderKL
from transformers import T5EncoderModel

from common import CKPT, DIT_CONFIG, TRAIN_MAX_TOKENS, render_scenes
from stage4_dit import (BUCKETS, CFG_DROP, EMA_DECAY, SEED, betas_alphas_cumprod, build_model,
                        make_optimizer)

BATCH = 512
LR, WARMUP, LR_END = 6e-4, 1000, 0.1
POOL, POOL_NS = 128_000, 16_000
PROBE_FROM, PROBE_TO = 100, 300
LOG_EVERY, VAL_EVERY = 100, 1000
SIZE_BASE = {(64, 64): 0, (96, 64): 50_000_000, (64, 96): 60_000_000}  # as stage4_dit.build_cache
EOS, PAD = 1, 0


def render_chunk(job):
    """Scenes start..start+n-1 of a stream at one size: uint8 [n, H, W, 3] and captions."""
    u8, caps, _ = render_scenes(*job)
    return u8, caps


def render(pool, stream, start, count, size, chunk=500):
    jobs = [(stream, start + s, min(chunk, count - s), size) for s in range(0, count, chunk)]
    parts = pool.map(render_chunk, jobs)
    return np.concatenate([p[0] for p in parts]), [c for p in parts for c in p[1]]


@torch.no_grad()
def encode_images(vae, u8, dev, chunk=1024):
    sf = vae.config.scaling_factor
    out = []
    for s in range(0, len(u8), chunk):
        x = torch.from_numpy(u8[s:s + chunk]).to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        out.append(vae.encode(x).latent_dist.mode() * sf)
    return torch.cat(out)


def token_ids(sp, caps):
    ids = torch.full((len(caps), TRAIN_MAX_TOKENS), PAD, dtype=torch.long)
    for i, c in enumerate(caps):
        t = (sp.encode(c) + [EOS])[:TRAIN_MAX_TOKENS]
        ids[i, :len(t)] = torch.tensor(t)
    return ids, (ids != PAD).long()


@torch.no_grad()
def caption_table(sp, t5, caps, dev, chunk=4096):
    """Distinct captions -> (states [U, 24, 64], mask [U, 24], index of each caption)."""
    uniq = sorted(set(caps) | {""})
    pos = {c: i for i, c in enumerate(uniq)}
    ids, mask = token_ids(sp, uniq)
    hs = [t5(input_ids=ids[s:s + chunk].to(dev), attention_mask=mask[s:s + chunk].to(dev)).last_hidden_state
          for s in range(0, len(uniq), chunk)]
    return torch.cat(hs), mask.to(dev), pos


def check_text_path(sp, t5, dev):
    ck = torch.load(CKPT / "t5_check.pt")
    ids, mask = token_ids(sp, ck["captions"])
    if not torch.equal(ids, ck["ids"]):
        raise SystemExit("sentencepiece ids differ from T5Tokenizer's (t5_check.pt)")
    with torch.no_grad():
        h = t5(input_ids=ids.to(dev), attention_mask=mask.to(dev)).last_hidden_state.cpu()
    err = (h - ck["states"]).abs().max().item()
    print(f"text path check: ids equal, T5 states max abs diff {err:.2e}", flush=True)
    if err > 1e-3:
        raise SystemExit("T5 states differ from the CPU reference")


def lr_at(step, total, peak=LR):
    if step < WARMUP:
        return peak * (step + 1) / WARMUP
    p = min(1.0, (step - WARMUP) / max(1, total - WARMUP))
    return peak * (LR_END + (1 - LR_END) * 0.5 * (1 + math.cos(math.pi * p)))


def main():
    t_start = time.time()
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=480, help="seconds from start to the last step")
    ap.add_argument("--steps", type=int, default=0, help="run length (0: fit to --budget)")
    ap.add_argument("--pool", type=int, default=POOL)
    ap.add_argument("--pool-ns", type=int, default=POOL_NS)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cuda", help="cpu for a smoke test")
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--resume", help="folder with model.pt and ema.pt of an earlier run")
    ap.add_argument("--lr", type=float, default=LR, help="peak learning rate")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    # render before CUDA starts: the workers are forked from this process
    data, all_caps = {}, []
    with Pool(a.workers) as pool:
        for size, _ in BUCKETS:
            n = a.pool if size == (64, 64) else a.pool_ns
            u8, caps = render(pool, 0, SIZE_BASE[size], n, size)
            data[size] = {"u8": u8, "caps": caps}
            all_caps += caps
            print(f"rendered {size}: {n} scenes ({time.time() - t_start:.0f} s)", flush=True)
        vu8, vcaps = render(pool, 2, 3_000_000, 256, (64, 64))

    dev = torch.device(a.device)
    gpu = dev.type == "cuda"
    name = torch.cuda.get_device_name() if gpu else "cpu"
    print(f"{name}, torch {torch.__version__}, {a.workers} workers", flush=True)

    sp = spm.SentencePieceProcessor(model_file=str(CKPT / "tokenizer/spiece.model"))
    t5 = T5EncoderModel.from_pretrained(CKPT / "text_encoder").to(dev).eval()
    vae = AutoencoderKL.from_pretrained(CKPT / "vae/final").to(dev).eval()
    check_text_path(sp, t5, dev)

    for d in data.values():
        d["lat"] = encode_images(vae, d.pop("u8"), dev)
    vz = encode_images(vae, vu8, dev)
    table_h, table_m, pos = caption_table(sp, t5, all_caps + vcaps, dev)
    for d in data.values():
        d["cap_idx"] = torch.tensor([pos[c] for c in d["caps"]], device=dev)
    empty = pos[""]
    print(f"{len(pos)} distinct captions; data ready at {time.time() - t_start:.0f} s", flush=True)
    del vae
    # TF32 only for training: T5 states must match the CPU's (check_text_path)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True

    # validation as the CPU script: same generator, latents, noise and timesteps
    g = torch.Generator().manual_seed(12345)
    vt = torch.randint(0, 1000, (256,), generator=g).to(dev)
    veps = torch.randn(vz.shape, generator=g).to(dev)
    vidx = torch.tensor([pos[c] for c in vcaps], device=dev)
    acp = betas_alphas_cumprod().to(dev)
    cond = {"resolution": None, "aspect_ratio": None}

    model, ema = build_model(dev)
    start = 0  # global step of this run's first step
    if a.resume:
        mck = torch.load(Path(a.resume) / "model.pt", map_location=dev)
        eck = torch.load(Path(a.resume) / "ema.pt", map_location=dev)
        model.load_state_dict(mck["model"])
        ema.load_state_dict(eck["ema"])
        start = int(mck["step"])
        print(f"resumed from {a.resume} at step {start} (fresh optimizer)", flush=True)
    opt = make_optimizer(model, a.lr, fused=gpu)
    mparams, eparams = list(model.parameters()), list(ema.parameters())

    @torch.no_grad()
    def val_loss():
        ab = acp[vt].view(-1, 1, 1, 1)
        xt = ab.sqrt() * vz + (1 - ab).sqrt() * veps
        o = ema(xt, encoder_hidden_states=table_h[vidx], encoder_attention_mask=table_m[vidx],
                timestep=vt, added_cond_kwargs=cond).sample
        return ((o[:, :4] - veps) ** 2).mean().item()

    log = open(out / "dit_gpu.csv", "w", newline="")
    w = csv.writer(log)
    w.writerow(["step", "loss", "val_loss", "lr", "seconds"])
    probs = np.array([p for _, p in BUCKETS])
    total = a.steps or 10**9
    loss_sum = torch.zeros((), device=dev)
    step, seen, t_probe = 0, 0, None
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    model.train()
    while step < total:
        k = start + step  # the global step: data, noise and EMA decay go on from a resumed run
        rng = np.random.default_rng([SEED, k])
        size = BUCKETS[rng.choice(len(BUCKETS), p=probs)][0]
        d = data[size]
        idx = rng.choice(d["lat"].shape[0], size=a.batch, replace=False)
        drop = rng.random(a.batch) < CFG_DROP
        idx_t = torch.from_numpy(idx).to(dev, non_blocking=True)
        drop_t = torch.from_numpy(drop).to(dev, non_blocking=True)
        ci = torch.where(drop_t, empty, d["cap_idx"][idx_t])
        z0 = d["lat"][idx_t]
        gen = torch.Generator(device=dev).manual_seed(SEED * 1_000_003 + k)
        t = torch.randint(0, 1000, (a.batch,), generator=gen, device=dev)
        eps = torch.randn(z0.shape, generator=gen, device=dev)
        ab = acp[t].view(-1, 1, 1, 1)
        xt = ab.sqrt() * z0 + (1 - ab).sqrt() * eps
        lr = lr_at(step, total, a.lr)
        for grp in opt.param_groups:
            grp["lr"] = lr
        o = model(xt, encoder_hidden_states=table_h[ci], encoder_attention_mask=table_m[ci], timestep=t,
                  added_cond_kwargs=cond).sample
        loss = ((o[:, :4] - eps) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(mparams, 1.0)
        opt.step()
        dec = min(EMA_DECAY, (1 + k) / (10 + k))
        with torch.no_grad():
            torch._foreach_lerp_(eparams, mparams, 1 - dec)
        loss_sum += loss.detach()
        step += 1
        seen += 1
        if step == PROBE_FROM:
            sync()
            t_probe = time.time()
        if step == PROBE_TO and not a.steps:
            sync()
            per = (time.time() - t_probe) / (PROBE_TO - PROBE_FROM)
            left = a.budget - (time.time() - t_start)
            # val passes and logging cost ~3% on top of the probed steps
            total = max(PROBE_TO + 1, PROBE_TO + int(0.97 * left / per))
            print(f"{per * 1000:.1f} ms/step; run length fitted to the budget: --steps {total}", flush=True)
        if step % LOG_EVERY == 0 or step == total:
            row = [start + step, f"{loss_sum.item() / seen:.5f}", "", f"{lr:.2e}", f"{time.time() - t_start:.0f}"]
            loss_sum.zero_()
            seen = 0
            if step % VAL_EVERY == 0 or step == total:
                row[2] = f"{val_loss():.5f}"
                print(f"step {row[0]} loss {row[1]} val {row[2]} lr {row[3]} ({row[4]} s)", flush=True)
            w.writerow(row)
            log.flush()
    info = {"step": start + step, "resumed_from": start, "total_steps": total, "batch": a.batch, "lr": a.lr,
            "seconds": time.time() - t_start, "config": DIT_CONFIG, "device": name}
    torch.save({**info, "ema": {k: v.cpu() for k, v in ema.state_dict().items()}}, out / "ema.pt")
    torch.save({**info, "model": {k: v.cpu() for k, v in model.state_dict().items()}}, out / "model.pt")
    print(f"done: {step} steps (global step {start + step}) in {time.time() - t_start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
