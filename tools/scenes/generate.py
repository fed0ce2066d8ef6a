"""Writes scene sets: the held-out evaluation set (PNG + JSON lines) and raw label-map dumps.

  tools/.venv/bin/python tools/scenes/generate.py eval   [--out tests/fixtures/scenes/eval] [--count 192]
  tools/.venv/bin/python tools/scenes/generate.py raw    --out FILE.bin.gz --index FILE.json --count N --stream S
  tools/.venv/bin/python tools/scenes/generate.py preview --out docs/scenes_preview.png

Determinism: scene i of stream s under seed S is drawn from numpy's default_rng([S, s, i]).
Streams: 0 = training (tools/train draws from it, never written to disk by this script),
1 = the evaluation set, 2 = extra checker validation, 3 = the committed checker test subset.
The evaluation set is never trained on: training only ever reads stream 0.

Eval set layout (tests/fixtures/scenes/eval/):
  index.jsonl   one JSON object per scene:
                {id, width, height, caption, image, masks[], objects[], background,
                 edit: {kind, object, source_words, target_words, target_caption,
                        target_image, target_mask, target_object}}
  <id>.png      the scene (RGB)        <id>_m<k>.png  mask of object k (1-bit, white = object)
  <id>_t.png    the ideal edit result  <id>_tm.png    mask of the edited object after the edit
Objects: {shape, colour: {name, hsv}, box: [x, y, side]} with hsv = [hue deg, s, v].

Raw dump (for the TypeScript checker, which reads no PNG): gzip of, per scene, width*height*3 RGB
bytes then width*height label bytes (0 = background, k+1 = object k); the JSON index lists
{offset, width, height, objects: [{colour, shape}]} with offset in bytes into the unzipped data.
"""

import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scenes as S  # noqa: E402

SEED = 20240607
ROOT = Path(__file__).resolve().parents[2]


def scene_rng(stream, i, seed=SEED):
    return np.random.default_rng([seed, stream, i])


def _obj_json(o):
    return {"shape": o["shape"], "colour": o["colour"], "box": o["box"]}


def write_eval(out, count, seed):
    out.mkdir(parents=True, exist_ok=True)
    for p in out.glob("*"):
        p.unlink()
    lines = []
    # fixed size mix: 80% 64x64, 10% 96x64, 10% 64x96, in a fixed interleaving
    for i in range(count):
        rng = scene_rng(1, i, seed)
        size = [(64, 64)] * 8 + [(96, 64), (64, 96)]
        scene = S.sample_scene(rng, size=size[i % 10])
        edit, target = S.make_edit(rng, scene)
        sid = f"e{i:04d}"
        rgb, masks = S.render(scene)
        trgb, tmasks = S.render(target)
        Image.fromarray(rgb).save(out / f"{sid}.png", optimize=True)
        Image.fromarray(trgb).save(out / f"{sid}_t.png", optimize=True)
        names = []
        for k, m in enumerate(masks):
            Image.fromarray(m).save(out / f"{sid}_m{k}.png", optimize=True)
            names.append(f"{sid}_m{k}.png")
        Image.fromarray(tmasks[edit["object"]]).save(out / f"{sid}_tm.png", optimize=True)
        edit.update({"target_caption": S.caption(target), "target_image": f"{sid}_t.png",
                     "target_mask": f"{sid}_tm.png",
                     "target_object": _obj_json(target["objects"][edit["object"]])})
        lines.append({"id": sid, "width": scene["width"], "height": scene["height"],
                      "caption": S.caption(scene), "image": f"{sid}.png", "masks": names,
                      "objects": [_obj_json(o) for o in scene["objects"]],
                      "background": scene["background"], "edit": edit})
    with open(out / "index.jsonl", "w") as f:
        for line in lines:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
    print(f"wrote {count} scenes to {out}")


def write_raw(out, index, count, stream, seed, with_targets):
    chunks = []
    entries = []
    offset = 0

    def add(scene, source):
        nonlocal offset
        rgb, masks = S.render(scene)
        labels = np.zeros((scene["height"], scene["width"]), dtype=np.uint8)
        for k, m in enumerate(masks):
            labels[m] = k + 1
        data = rgb.tobytes() + labels.tobytes()
        chunks.append(data)
        entries.append({"offset": offset, "width": scene["width"], "height": scene["height"],
                        "source": source,
                        "objects": [{"colour": o["colour"]["name"], "shape": o["shape"]}
                                    for o in scene["objects"]]})
        offset += len(data)

    for i in range(count):
        rng = scene_rng(stream, i, seed)
        if stream == 1:
            size = [(64, 64)] * 8 + [(96, 64), (64, 96)]
            scene = S.sample_scene(rng, size=size[i % 10])
        else:
            scene = S.sample_scene(rng)
        add(scene, f"stream{stream}:{i}")
        if with_targets:
            _, target = S.make_edit(rng, scene)
            add(target, f"stream{stream}:{i}:target")
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(out, "wb", compresslevel=9, mtime=0) as f:
        f.write(b"".join(chunks))
    index.write_text(json.dumps({"seed": seed, "stream": stream, "count": len(entries),
                                 "scenes": entries}, separators=(",", ":")) + "\n")
    print(f"wrote {len(entries)} scenes to {out} ({out.stat().st_size} bytes)")


def write_preview(out, seed, n=32):
    tiles = []
    for i in range(n):
        scene = S.sample_scene(scene_rng(0, i, seed), size=(64, 64))
        tiles.append(S.render(scene)[0])
    rows = [np.concatenate(tiles[r * 8:(r + 1) * 8], axis=1) for r in range(n // 8)]
    Image.fromarray(np.concatenate(rows, axis=0)).save(out, optimize=True)
    print(f"wrote {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["eval", "raw", "preview"])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--index", type=Path)
    ap.add_argument("--count", type=int, default=192)
    ap.add_argument("--stream", type=int, default=2)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--targets", action="store_true", help="raw: also dump each scene's edit target")
    a = ap.parse_args()
    if a.what == "eval":
        write_eval(a.out or ROOT / "tests/fixtures/scenes/eval", a.count, a.seed)
    elif a.what == "raw":
        if a.stream == 0:
            sys.exit("stream 0 is the training stream; dump another")
        write_raw(a.out, a.index, a.count, a.stream, a.seed, a.targets)
    else:
        write_preview(a.out or ROOT / "docs/scenes_preview.png", a.seed)


if __name__ == "__main__":
    main()
