"""Runs the real tomesd matcher (dbolya/tomesd `bipartite_soft_matching_random2d`) on small fixed
inputs and writes what it computes, for tests/kernels/tome_merge_test.ts (SPEC §9.1, §11).

Usage (dev only; tests never run Python):
    tools/.venv/bin/pip install tomesd==0.1.3   # pure Python, needs torch
    tools/.venv/bin/python tools/tome_oracle.py

Output: tests/fixtures/tome/tomesd_oracle.json, one entry per case with the metric x [B, N, C]
(also the merged tensor), the tomesd index lists (a_idx, b_idx, unm_idx, src_idx, dst_idx, read
from the closures tomesd returns), merge(x) and unmerge(merge(x)).
no_rand cases use the top-left destination of each window. For the random cases the script
replays tomesd's own draw: a torch.Generator seeded with `seed` gives `torch.randint(sy*sx,
(h//sy, w//sx, 1))`, the same call tomesd makes with that generator; the draws are stored as
`dst_choice` so our `tomePlan(..., { dstChoice })` uses the same destinations (our own seeded
generator is not torch's, so `seed` alone would not reproduce them).
torch's argsort is not stable, so a_idx/b_idx may list the same sets in another order than our
raster order; the test compares by token position.
"""

import json
import pathlib

import tomesd
import torch
from tomesd.merge import bipartite_soft_matching_random2d

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tome"

# (name, h, w, C, B, ratio, seed or None for no_rand); r = int(N * ratio) as tomesd's patch.py does
CASES = [
    ("even_no_rand", 6, 8, 16, 2, 0.5, None),
    ("odd_no_rand", 7, 5, 12, 1, 0.6, None),
    ("random_8x8", 8, 8, 16, 1, 0.5, 42),
    ("random_odd_r75", 5, 6, 8, 2, 0.75, 7),
]


def closure(fn):
    return {name: cell.cell_contents for name, cell in zip(fn.__code__.co_freevars, fn.__closure__)}


def flat(t):
    if t.is_floating_point():  # 9 significant digits round-trip an f32 exactly
        return [float(f"{v:.9g}") for v in t.reshape(-1).tolist()]
    return t.reshape(-1).tolist()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    out = {
        "generator": "tools/tome_oracle.py",
        "torch": torch.__version__,
        "tomesd": getattr(tomesd, "__version__", "0.1.3"),
        "cases": [],
    }
    for name, h, w, c, b, ratio, seed in CASES:
        n = h * w
        x = torch.randn(b, n, c, dtype=torch.float32)
        r = int(n * ratio)
        gen = None
        dst_choice = None
        if seed is not None:
            gen = torch.Generator().manual_seed(seed)
            replay = torch.Generator().manual_seed(seed)
            dst_choice = flat(torch.randint(2 * 2, size=(h // 2, w // 2, 1), generator=replay))
        merge, unmerge = bipartite_soft_matching_random2d(
            x, w, h, 2, 2, r, no_rand=seed is None, generator=gen)
        merged = merge(x)
        restored = unmerge(merged)
        idx = closure(merge)
        idx.update(closure(idx["split"]))  # a_idx, b_idx live in split()'s closure
        out["cases"].append({
            "name": name, "h": h, "w": w, "c": c, "batch": b, "ratio": ratio, "r": int(idx["r"]),
            "dst_choice": dst_choice,
            "x": flat(x),
            "a_idx": flat(idx["a_idx"]), "b_idx": flat(idx["b_idx"]),
            "unm_idx": [flat(t) for t in idx["unm_idx"]],
            "src_idx": [flat(t) for t in idx["src_idx"]],
            "dst_idx": [flat(t) for t in idx["dst_idx"]],
            "merged": flat(merged), "unmerged": flat(restored),
        })
    path = OUT / "tomesd_oracle.json"
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
