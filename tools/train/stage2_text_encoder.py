"""Stage 2: the tiny T5 v1.1 encoder (gated-gelu), frozen at its seeded random initialisation.

Why frozen random: the captions use ~25 words, and transformers' T5 initialisation gives each token
an N(0, 1) embedding of 64 dimensions, so words are nearly orthogonal and the two bidirectional
layers add context (word order, "and"). The DiT's caption_projection and cross-attention learn to
read these states; training T5 as well would cost backward passes and invalidate cached states
for no gain on such a vocabulary. Frozen also means the states of a caption never change during the
DiT run, which keeps checkpoints simple. Config: common.T5_CONFIG; vocab_size 96 >= the
tokenizer's 90 pieces (rows past the tokenizer are never used, as T5's 32128 > 32100).

Writes tools/train/ckpt/text_encoder/ (save_pretrained, f32).
"""

import shutil

import torch
from transformers import T5Config, T5EncoderModel, T5Tokenizer

from common import CKPT, T5_CONFIG

SEED = 2
VOCAB_SIZE = 96


def main():
    tok = T5Tokenizer.from_pretrained(str(CKPT / "tokenizer"))
    assert len(tok) <= VOCAB_SIZE, len(tok)
    torch.manual_seed(SEED)
    enc = T5EncoderModel(T5Config(vocab_size=VOCAB_SIZE, **T5_CONFIG)).eval()
    out = CKPT / "text_encoder"
    if out.exists():
        shutil.rmtree(out)
    enc.save_pretrained(out)
    ids = tok(["a red star on a striped blue background", "a blue star on a striped blue background", ""],
              padding="max_length", max_length=24, return_tensors="pt")
    with torch.no_grad():
        h = enc(input_ids=ids.input_ids, attention_mask=ids.attention_mask).last_hidden_state
    print("params", sum(p.numel() for p in enc.parameters()), "state rms", h[0, :9].pow(2).mean().sqrt().item())
    print("cos(red star, blue star) per token:", torch.cosine_similarity(h[0, :9], h[1, :9], dim=-1))


if __name__ == "__main__":
    main()
