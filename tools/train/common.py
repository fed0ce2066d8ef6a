"""Shared settings for the training stages (paths, seeds, model configs, caption corpus)."""

import itertools
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "tools/train"
# git-ignored: checkpoints, latent cache, train.log, train.pid (SCENES_CKPT overrides, for smoke tests)
CKPT = Path(os.environ.get("SCENES_CKPT", TRAIN / "ckpt"))
# committed: loss CSVs and plots (SCENES_LOGS overrides, for smoke tests)
LOGS = Path(os.environ.get("SCENES_LOGS", TRAIN / "logs"))
MODEL_DIR = ROOT / "models/pixart-scenes-64"
sys.path.insert(0, str(ROOT / "tools/scenes"))

import scenes as S  # noqa: E402
from generate import SEED, scene_rng  # noqa: E402

TRAIN_STREAM = 0  # scenes for training come only from this stream (the eval set is stream 1)

# Max caption length used in training. Captions are at most ~16 tokens; pads are masked in both T5
# and the DiT's cross-attention, so encoding with the pipeline's 120 gives the same embeddings.
TRAIN_MAX_TOKENS = 24

T5_CONFIG = dict(
    d_model=64, d_kv=16, num_heads=4, d_ff=128, num_layers=2, num_decoder_layers=0,
    feed_forward_proj="gated-gelu", relative_attention_num_buckets=32,
    relative_attention_max_distance=128, layer_norm_epsilon=1e-6, dropout_rate=0.0,
    pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, tie_word_embeddings=False,
    is_encoder_decoder=False, use_cache=False,
)

VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4,
    down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3,
    block_out_channels=[32, 64, 64], layers_per_block=1, norm_num_groups=16, act_fn="silu",
    sample_size=64, force_upcast=False,
)

DIT_CONFIG = dict(
    num_attention_heads=6, attention_head_dim=32, in_channels=4, out_channels=8, num_layers=6,
    dropout=0.0, norm_num_groups=32, cross_attention_dim=192, attention_bias=True, sample_size=16,
    patch_size=2, activation_fn="gelu-approximate", num_embeds_ada_norm=1000, upcast_attention=False,
    norm_type="ada_norm_single", norm_elementwise_affine=False, norm_eps=1e-6,
    interpolation_scale=1, use_additional_conditions=False, caption_channels=64,
)


def caption_corpus():
    """Every one-object caption, a deterministic spread of two-object ones, and the alphabet (so
    any lowercase word tokenises into known pieces rather than <unk>)."""
    bgs = [S.background_phrase({"name": n, "pattern": p}) for n in S.BACKGROUND_NAMES for p in S.PATTERNS]
    objs = [f"a {c} {s}" for c in S.COLOUR_NAMES for s in S.SHAPES]
    lines = [f"{o} on {b}" for o in objs for b in bgs]
    pairs = [(a, b) for a, b in itertools.permutations(objs, 2) if a.split()[1] != b.split()[1]]
    for i, (a, b) in enumerate(pairs):
        lines.append(f"{a} and {b} on {bgs[i % len(bgs)]}")
    lines += [" ".join("abcdefghijklmnopqrstuvwxyz"), "0 1 2 3 4 5 6 7 8 9 , ."]
    return lines


# ---- resumable training helpers ----------------------------------------------------------------

import csv  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


def save_checkpoint(path, state):
    """Atomic torch.save (write to a temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path):
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


class CsvLog:
    """Appends rows to a CSV (header written once); resuming keeps the earlier rows."""

    def __init__(self, path, fields):
        self.path, self.fields = path, fields
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            with open(path, "w", newline="") as f:
                csv.writer(f).writerow(fields)

    def truncate_after(self, step):
        """Drops rows logged after `step` (rows a crash left behind a resumed checkpoint)."""
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f))
        keep = [rows[0]] + [r for r in rows[1:] if int(r[0]) <= step]
        with open(self.path, "w", newline="") as f:
            csv.writer(f).writerows(keep)

    def write(self, **row):
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in self.fields])


def render_scenes(rng_stream, start, count, size=None, seed=SEED):
    """Scenes start..start+count-1 of a stream: (uint8 [B, H, W, 3], captions, scenes).
    With size None, every scene is drawn at the size of the first one."""
    imgs, caps, specs = [], [], []
    for i in range(start, start + count):
        rng = scene_rng(rng_stream, i, seed)
        sc = S.sample_scene(rng, size=size)
        if size is None:
            size = (sc["width"], sc["height"])
        rgb, _ = S.render(sc)
        imgs.append(rgb)
        caps.append(S.caption(sc))
        specs.append(sc)
    return np.stack(imgs), caps, specs


def render_batch(rng_stream, start, count, size=None, seed=SEED):
    """render_scenes as x in [-1, 1] float32 [B, 3, H, W], captions, scenes."""
    u8, caps, specs = render_scenes(rng_stream, start, count, size, seed)
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return x, caps, specs


class Timer:
    def __init__(self):
        self.t0 = time.time()

    def elapsed(self):
        return time.time() - self.t0
