"""Writes safetensors fixtures with the reference Python library for tests/io/.

Usage (dev only; tests never run Python):
    tools/.venv/bin/python tools/make_safetensors_fixtures.py            # (re)write fixtures
    tools/.venv/bin/python tools/make_safetensors_fixtures.py --check F  # load F written by our writer

Outputs in tests/fixtures/safetensors/:
    python_mixed.safetensors     every dtype the reader knows, odd shapes, special values, metadata
    python_mixed.expected.json   per key: dtype, shape, values (floats as float64 of the stored value;
                                 "nan", "inf", "-inf" as strings; 64-bit integers as strings)
    python_exact.safetensors     a few tensors with one metadata key, deterministic bytes, so the test
                                 can compare our writer's output byte for byte
"""

import json
import math
import pathlib
import sys

import numpy as np
import safetensors
import torch
from safetensors.torch import load_file, save_file

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "safetensors"


def floats(n, scale):
    base = [0.0, -0.0, 1.0, -2.5, 65504.0, 6.1035156e-05, 5.9604645e-08, 1e-40, float("inf"),
            float("-inf"), float("nan"), 3.14159265, -1234.5678, 1e30]
    vals = [base[i] if i < len(base) else (i * 0.377 - n / 4) * scale for i in range(n)]
    return vals


def mixed():
    g = torch.Generator().manual_seed(0)
    t = {
        "f64.vec": torch.tensor(floats(13, 1.0), dtype=torch.float64),
        "f32.mat": torch.tensor(floats(15, 3.0), dtype=torch.float32).reshape(3, 5),
        "f16.cube": torch.tensor(floats(24, 0.5), dtype=torch.float32).to(torch.float16).reshape(2, 3, 4),
        "bf16.row": torch.tensor(floats(17, 7.0), dtype=torch.float32).to(torch.bfloat16).reshape(1, 17),
        "f8e4m3.vec": torch.linspace(-448, 448, 9).to(torch.float8_e4m3fn),
        "f8e5m2.vec": torch.linspace(-57344, 57344, 9).to(torch.float8_e5m2),
        "i64.vec": torch.tensor([0, -1, 2**62, -(2**63), 2**63 - 1, 123456789012], dtype=torch.int64),
        "i32.vec": torch.tensor([0, -1, 2**31 - 1, -(2**31), 16777217], dtype=torch.int32),
        "i16.vec": torch.tensor([0, -1, 32767, -32768], dtype=torch.int16),
        "i8.vec": torch.tensor([0, -1, 127, -128, 5], dtype=torch.int8),
        "u8.vec": torch.tensor([0, 1, 255, 128, 7, 9, 11], dtype=torch.uint8),
        "u16.vec": torch.from_numpy(np.array([0, 1, 65535], dtype=np.uint16)),
        "u32.vec": torch.from_numpy(np.array([0, 1, 2**32 - 1], dtype=np.uint32)),
        "u64.vec": torch.from_numpy(np.array([0, 1, 2**64 - 1], dtype=np.uint64)),
        "bool.mask": torch.tensor([True, False, True], dtype=torch.bool),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros((0, 3), dtype=torch.float32),
        "random.normal": torch.randn(4, 7, generator=g),
    }
    return t


def value(x):
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, bool):
        return 1 if x else 0
    return str(x)


def expected(tensors):
    out = {}
    for k, v in tensors.items():
        flat = v.reshape(-1)
        if v.dtype in (torch.int64, torch.uint64, torch.uint32, torch.uint16):
            vals = [str(int(x)) for x in flat.numpy().tolist()]
        elif v.dtype.is_floating_point:
            vals = [value(float(x)) for x in flat.double().tolist()]
        else:
            vals = [value(x) if isinstance(x, bool) else int(x) for x in flat.tolist()]
        out[k] = {"shape": list(v.shape), "values": vals}
    return out


def versions():
    return {
        "maker": "tools/make_safetensors_fixtures.py",
        "safetensors": safetensors.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def write():
    OUT.mkdir(parents=True, exist_ok=True)
    t = mixed()
    save_file(t, str(OUT / "python_mixed.safetensors"), metadata=versions())
    (OUT / "python_mixed.expected.json").write_text(json.dumps(expected(t), indent=1) + "\n")
    exact = {
        "b.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "a.bias": torch.tensor([1.5, -2.0], dtype=torch.float16),
        "c": torch.tensor([1, 2, 3], dtype=torch.uint8),
        "d.half": torch.tensor([0.5, 3.0], dtype=torch.bfloat16),
        "e.long": torch.tensor([7], dtype=torch.int64),
    }
    save_file(exact, str(OUT / "python_exact.safetensors"), metadata={"format": "pt"})
    print("wrote", OUT)


def check(path):
    """Loads a file written by our writer and prints each tensor; fails on any load error."""
    with safetensors.safe_open(path, framework="pt") as f:
        print("metadata", f.metadata())
        for k in f.keys():
            v = f.get_tensor(k)
            print(k, v.dtype, list(v.shape), v.reshape(-1)[:6].tolist())
    load_file(path)  # the strict full-file path as well
    print("OK", path)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        write()
