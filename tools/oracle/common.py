"""Shared helpers for tools/make_model_fixtures.py: output paths, metadata, weight randomisation,
forward-hook recording and safetensors writing."""

import json
import pathlib
import struct

import numpy as np
import safetensors
import sentencepiece
import torch
import diffusers
import transformers
from safetensors import safe_open

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "models"
SCRIPT = "tools/make_model_fixtures.py"


def versions():
    return {
        "torch": torch.__version__.split("+")[0],
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "sentencepiece": sentencepiece.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }


def metadata(seed, **extra):
    """safetensors __metadata__ (string values only): script, versions, seed, plus `extra`
    (non-strings are JSON-encoded)."""
    meta = {"script": SCRIPT, "seed": str(seed)}
    meta.update({k: v for k, v in versions().items()})
    for k, v in extra.items():
        if isinstance(v, dict):  # diffusers' set-ordered bookkeeping key would make reruns differ
            v = {kk: vv for kk, vv in v.items() if kk != "_use_default_values"}
        meta[k] = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return meta


def save(tensors, path, meta):
    """Writes float tensors as F32 and integer tensors as I32 in the safetensors format.

    Written here rather than with safetensors.torch.save_file because that one orders the
    __metadata__ keys at random (a Rust HashMap), so reruns would not be byte-identical. Layout:
    u64 header length, JSON header (keys sorted, padded with spaces to a multiple of 8), data in
    header order. The result is checked by reading it back with safetensors.safe_open."""
    arrays = {}
    for name, t in sorted(tensors.items()):
        t = t.detach().cpu()
        t = t.to(torch.float32) if t.is_floating_point() else t.to(torch.int32)
        arrays[name] = t.contiguous().numpy().astype("<f4" if t.dtype == torch.float32 else "<i4")
    header = {"__metadata__": dict(sorted(meta.items()))}
    offset = 0
    for name, a in arrays.items():
        header[name] = {"dtype": "F32" if a.dtype.kind == "f" else "I32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for a in arrays.values():
            f.write(a.tobytes())
    with safe_open(str(path), "pt") as f:  # round trip through the reference reader
        assert f.metadata() == meta, path
        for name, a in arrays.items():
            assert np.array_equal(f.get_tensor(name).numpy(), a), (path, name)
    return path


@torch.no_grad()
def randomize_(module, seed, norm_names=("norm", "layer_norm", "group_norm", "final_layer_norm")):
    """Overwrites every parameter with seeded random values of a sensible scale, so no weight keeps
    a trivial init (zero biases, unit norm weights):
      - matrices/convs: N(0, 1/fan_in); embeddings (`shared`, `embed`): N(0, 1)
      - norm weights: 1 + 0.2·N(0, 1); other vectors (biases, tables): 0.2·N(0, 1)
    Iterates in `named_parameters` order, which is the module definition order."""
    g = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        r = torch.randn(p.shape, generator=g, dtype=torch.float32)
        if p.ndim >= 2 and ("shared" in name or "embed_tokens" in name):
            p.copy_(r)
        elif p.ndim >= 2 and "relative_attention_bias" in name:
            p.copy_(r)
        elif p.ndim >= 2 and "scale_shift_table" in name:
            p.copy_(r / p.shape[-1] ** 0.5)
        elif p.ndim >= 2:
            fan_in = int(np.prod(p.shape[1:]))
            p.copy_(r / fan_in**0.5)
        elif name.endswith("weight") and any(n in name for n in norm_names):
            p.copy_(1 + 0.2 * r)
        else:
            p.copy_(0.2 * r)


class Recorder:
    """Forward hooks that store a module's output under a name (first element of tuple outputs)."""

    def __init__(self):
        self.out = {}
        self.handles = []

    def add(self, module, name, pick=None):
        def hook(_m, _inp, output):
            value = pick(output) if pick else (output[0] if isinstance(output, tuple) else output)
            self.out[name] = value.detach().clone()

        self.handles.append(module.register_forward_hook(hook))

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def describe(tensors):
    return {k: list(v.shape) for k, v in tensors.items()}
