"""Python oracle: tiny random-weight models in diffusers/transformers layouts plus reference
activations, written as fixtures for the TypeScript model tests.

Usage (dev only; tests and CI never run Python, they read the committed files):
    tools/.venv/bin/pip install -r tools/requirements.txt      # once
    tools/.venv/bin/python tools/make_model_fixtures.py        # (re)write tests/fixtures/models/

Everything is seeded and runs on the CPU in float32, so a rerun with the pinned versions rewrites
the same values. Helpers live in tools/oracle/ (common.py, prompts.py, tokenizer.py, pixart.py,
vae.py, t5.py, scheduler.py, pipeline.py).

Outputs in tests/fixtures/models/:
    tiny-pixart/                   PixArtAlphaPipeline.save_pretrained: model_index.json,
                                   transformer/ (config A), vae/, text_encoder/, tokenizer/,
                                   scheduler/; spiece.model copied into tokenizer/ (transformers 5
                                   writes only tokenizer.json + tokenizer_config.json)
    pixart-ms-transformer/         PixArtTransformer2DModel config B (micro-conditions)
    pixart_a_reference.safetensors config A forward, batch 2: inputs, hooks, output, pos tables
    pixart_b_reference.safetensors config B forward on a non-square latent
    vae_reference.safetensors      encode/decode with hooks, tiled vs untiled
    t5_reference.safetensors       encoder forward with hooks, block-0 relative bias, buckets
    scheduler_reference.safetensors DPM-Solver++ / DDIM tables and fixed-eps trajectories
    pipeline_reference.safetensors 4-step guided run to latents, prompt embeddings
    tokenizer_ids.json             ids from sentencepiece and transformers' T5Tokenizer
    manifest.json                  every fixture tensor's shape, the versions, the configs
Every safetensors file carries __metadata__: script, versions, seed, config, description.
"""

import json
import pathlib
import shutil
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "oracle"))

import torch  # noqa: E402
from diffusers import PixArtAlphaPipeline  # noqa: E402
from transformers import T5Tokenizer  # noqa: E402

import pipeline  # noqa: E402
import pixart  # noqa: E402
import scheduler  # noqa: E402
import t5  # noqa: E402
import tokenizer  # noqa: E402
import vae  # noqa: E402
from common import OUT, versions  # noqa: E402
from prompts import LONG  # noqa: E402

T5_VOCAB = 512  # tokenizer: 400 pieces + 100 <extra_id_N>; the embedding is padded as in T5


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    OUT.mkdir(parents=True, exist_ok=True)
    folder = OUT / "tiny-pixart"
    if folder.exists():
        shutil.rmtree(folder)

    spiece = tokenizer.train_spiece()
    with tempfile.TemporaryDirectory() as tmp:
        (pathlib.Path(tmp) / "spiece.model").write_bytes(spiece)
        tok = T5Tokenizer.from_pretrained(tmp)
    assert len(tok) <= T5_VOCAB, len(tok)

    text_encoder = t5.build(T5_VOCAB)
    vae_model = vae.build()
    transformer = pixart.build(pixart.CONFIG_A, pixart.SEED_A)
    pipe = PixArtAlphaPipeline(tokenizer=tok, text_encoder=text_encoder, vae=vae_model,
                               transformer=transformer, scheduler=scheduler.dpm())
    pipe.save_pretrained(folder, safe_serialization=True)
    (folder / "tokenizer" / "spiece.model").write_bytes(spiece)

    # The folder's own tokenizer (tokenizer.json) must give the same ids as the in-memory one.
    saved_tok = T5Tokenizer.from_pretrained(folder / "tokenizer")
    ids = tokenizer.record_ids(folder / "tokenizer" / "spiece.model", saved_tok)
    ids["script"] = "tools/make_model_fixtures.py"
    ids["versions"] = versions()
    ids["spiece_model"] = "tiny-pixart/tokenizer/spiece.model"
    ids["t5tokenizer_class"] = f"{type(saved_tok).__module__}.{type(saved_tok).__name__}"
    ids["notes"] = [
        "transformers 5 has no separate T5TokenizerFast: T5Tokenizer is backed by the tokenizers "
        "library (Precompiled normaliser, WhitespaceSplit + Metaspace pre-tokenizer, Unigram).",
        "t5tokenizer_* differ from sentencepiece only where the text contains a special token "
        "string such as '</s>': transformers splits it out as that token, sentencepiece does not.",
    ]
    tokenizer.write_json(OUT / "tokenizer_ids.json", ids)
    disagree = [c["text"] for c in ids["cases"] if not c["t5tokenizer_agrees"]]

    summary = {}
    summary.update(pixart.make(transformer))
    summary.update(vae.make(vae_model))
    summary.update(t5.make(text_encoder, saved_tok, [
        "a red star on a striped blue background", LONG]))
    summary.update(scheduler.make())
    summary.update(pipeline.make(folder))

    manifest = {
        "script": "tools/make_model_fixtures.py",
        "versions": versions(),
        "configs": {
            "pixart_a": pixart.CONFIG_A, "pixart_b": pixart.CONFIG_B, "vae": vae.CONFIG,
            "vae_tiling": vae.TILING, "t5": t5.config(T5_VOCAB).to_diff_dict(),
            "dpm": scheduler.DPM_CONFIG, "ddim_overrides": scheduler.DDIM_OVERRIDES,
        },
        "tokenizer_disagreements": disagree,
        "files": summary,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str) + "\n")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({total / 1e6:.2f} MB); tokenizer disagreements: {disagree}")


if __name__ == "__main__":
    main()
