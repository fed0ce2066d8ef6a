"""Loss curves from tools/train/logs/*.csv as a PNG drawn with pillow (no matplotlib needed).

  tools/.venv/bin/python tools/train/plot.py   # writes tools/train/logs/loss.png

Panels: VAE training loss (L1 + L2 + KL term, smoothed) with validation PSNR; DiT eps-MSE with
the EMA model's validation loss on fixed held-out latents, for the CPU run (dit.csv, smoothed over
100 steps; superseded) and the GPU run that made the bundled model (dit_gpu.csv, 100-step means).
"""

import csv
import math

from PIL import Image, ImageDraw

from common import LOGS

W, H = 640, 260
PAD_L, PAD_R, PAD_T, PAD_B = 56, 56, 24, 30


def read(name):
    path = LOGS / name
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def smooth(values, n):
    out, acc, q = [], 0.0, []
    for v in values:
        q.append(v)
        acc += v
        if len(q) > n:
            acc -= q.pop(0)
        out.append(acc / len(q))
    return out


def ticks(lo, hi, n=5):
    step = 10 ** math.floor(math.log10(max(hi - lo, 1e-12) / n))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    t = math.ceil(lo / step) * step
    out = []
    while t <= hi + 1e-12:
        out.append(t)
        t += step
    return out


def panel(title, x, series_left, series_right, left_label, right_label, log_left=False):
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    d.text((PAD_L, 6), title, fill="black")
    if not x:
        d.text((W // 2 - 30, H // 2), "no data yet", fill="gray")
        return img
    x0, x1 = min(x), max(x)
    if x1 == x0:
        x1 = x0 + 1
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def sx(v):
        return PAD_L + (v - x0) / (x1 - x0) * pw

    d.rectangle([PAD_L, PAD_T, PAD_L + pw, PAD_T + ph], outline="black")
    for t in ticks(x0, x1):
        d.line([sx(t), PAD_T + ph, sx(t), PAD_T + ph + 4], fill="black")
        d.text((sx(t) - 12, PAD_T + ph + 8), f"{t:g}", fill="black")

    def axis(series, side, label, log):
        vals = [v for _, xs, ys, _ in series for v in ys if v == v]
        if not vals:
            return
        tf = (lambda v: math.log10(max(v, 1e-12))) if log else (lambda v: v)
        lo, hi = min(map(tf, vals)), max(map(tf, vals))
        if hi == lo:
            hi = lo + 1
        lo, hi = lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)

        def sy(v):
            return PAD_T + ph - (tf(v) - lo) / (hi - lo) * ph
        for t in ticks(lo, hi):
            yy = PAD_T + ph - (t - lo) / (hi - lo) * ph
            lab = f"{10 ** t:.3g}" if log else f"{t:g}"
            if side == "left":
                d.line([PAD_L - 4, yy, PAD_L, yy], fill="black")
                d.text((4, yy - 6), lab, fill="black")
            else:
                d.line([PAD_L + pw, yy, PAD_L + pw + 4, yy], fill="black")
                d.text((PAD_L + pw + 8, yy - 6), lab, fill="black")
        for name, xs, ys, colour in series:
            pts = [(sx(a), sy(b)) for a, b in zip(xs, ys) if b == b]
            if len(pts) > 1:
                d.line(pts, fill=colour, width=2)
            elif pts:
                d.ellipse([pts[0][0] - 2, pts[0][1] - 2, pts[0][0] + 2, pts[0][1] + 2], fill=colour)
        d.text((PAD_L + 4 if side == "left" else PAD_L + pw - 150, PAD_T + 4), label,
               fill=series[0][3])

    axis(series_left, "left", left_label, log_left)
    if series_right:
        axis(series_right, "right", right_label, False)
    return img


def main():
    vae = read("vae.csv")
    dit = read("dit.csv")
    vx = [int(r["step"]) for r in vae]
    vl = smooth([float(r["loss"]) for r in vae], 25)
    pv = [(int(r["step"]), float(r["psnr_val"])) for r in vae if r["psnr_val"]]
    p1 = panel("VAE (stage 3)", vx, [("loss", vx, vl, (200, 40, 40))],
               [("psnr", [a for a, _ in pv], [b for _, b in pv], (40, 90, 200))] if pv else [],
               "train loss (log, smoothed 25)", "val PSNR dB", log_left=True)
    dx = [int(r["step"]) for r in dit]
    dl = smooth([float(r["loss"]) for r in dit], 100)
    dv = [(int(r["step"]), float(r["val_loss"])) for r in dit if r["val_loss"]]
    p2 = panel("DiT (stage 4 on the CPU, batch 64; superseded)", dx, [("loss", dx, dl, (200, 40, 40)),
                                      ("val", [a for a, _ in dv], [b for _, b in dv], (40, 150, 60))],
               [], "eps-MSE: train (red, smoothed 100), EMA val (green); log", "", log_left=True)
    gpu = read("dit_gpu.csv")
    gx = [int(r["step"]) for r in gpu]
    gv = [(int(r["step"]), float(r["val_loss"])) for r in gpu if r["val_loss"]]
    p3 = panel("DiT (stage 4 on a GPU, batch 512: the bundled model)", gx,
               [("loss", gx, [float(r["loss"]) for r in gpu], (200, 40, 40)),
                ("val", [a for a, _ in gv], [b for _, b in gv], (40, 150, 60))],
               [], "eps-MSE: train (red, 100-step means), EMA val (green); log", "", log_left=True)
    out = Image.new("RGB", (W, 3 * H), "white")
    for i, p in enumerate((p1, p2, p3)):
        out.paste(p, (0, i * H))
    out.save(LOGS / "loss.png", optimize=True)
    print(f"wrote {LOGS / 'loss.png'}")


if __name__ == "__main__":
    main()
