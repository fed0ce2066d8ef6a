"""T5EncoderModel fixtures: tiny v1.1-style encoder, per-block hidden states, block-0 bias."""

import torch
from transformers import T5Config, T5EncoderModel

from common import OUT, Recorder, describe, metadata, randomize_, save

SEED = 404
MAX_LENGTH = 120


def config(vocab_size):
    return T5Config(
        vocab_size=vocab_size, d_model=32, d_kv=8, num_heads=4, d_ff=48, num_layers=2,
        feed_forward_proj="gated-gelu", relative_attention_num_buckets=32,
        relative_attention_max_distance=128, layer_norm_epsilon=1e-6, dropout_rate=0.0,
        tie_word_embeddings=False, is_encoder_decoder=False, use_cache=False,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )


def build(vocab_size):
    torch.manual_seed(SEED)
    model = T5EncoderModel(config(vocab_size)).eval()
    randomize_(model, SEED)
    return model


@torch.no_grad()
def make(model, tokenizer, prompts):
    """`model` is the pipeline's text encoder (already saved); ids come from `tokenizer`."""
    model.config._attn_implementation = "eager"
    tok = tokenizer(prompts, padding="max_length", max_length=MAX_LENGTH, truncation=True,
                    add_special_tokens=True, return_tensors="pt")
    ids, mask = tok["input_ids"], tok["attention_mask"]
    rec = Recorder()
    rec.add(model.encoder.embed_tokens, "embeddings")
    for i, block in enumerate(model.encoder.block):
        rec.add(block, f"block.{i}.out")
    out = model(input_ids=ids, attention_mask=mask).last_hidden_state
    rec.remove()
    attn = model.encoder.block[0].layer[0].SelfAttention
    bias = attn.compute_bias(MAX_LENGTH, MAX_LENGTH)  # [1, heads, L, L], no mask folded in
    rel = torch.arange(-(MAX_LENGTH - 1), MAX_LENGTH)  # key - query
    buckets = attn._relative_position_bucket(rel, bidirectional=True, num_buckets=32,
                                             max_distance=128)
    tensors = {
        "input.input_ids": ids,
        "input.attention_mask": mask,
        **rec.out,
        "position_bias": bias,
        "relative_position": rel,
        "relative_buckets": buckets,
        "last_hidden_state": out,
    }
    path = save(tensors, OUT / "t5_reference.safetensors", metadata(
        SEED, model="T5EncoderModel", weights="tiny-pixart/text_encoder",
        config=model.config.to_diff_dict(), prompts=prompts, description="encoder forward with the "
        "attention mask; block outputs via hooks; block-0 relative bias (without mask) and the "
        "bucket of each relative position key-query"))
    return {path.name: describe(tensors)}
