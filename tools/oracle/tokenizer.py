"""Fixture tokenizer: trains a tiny sentencepiece Unigram model with T5's settings and records ids.

Used by tools/make_model_fixtures.py. The trainer settings mirror what matters in the t5-v1_1
spiece.model (SPEC §4): Unigram, nmt_nfkc normaliser (precompiled charsmap), add_dummy_prefix,
remove_extra_whitespaces, escape_whitespaces, no byte fallback, pad 0, eos 1, unk 2, no bos.
"""

import io
import json

import sentencepiece as spm

from prompts import TEST_PROMPTS, TRAIN_PROMPTS, random_prompts

VOCAB_SIZE = 400
MAX_LENGTH = 120


def train_spiece():
    """Returns the bytes of a freshly trained spiece.model (deterministic: one thread, fixed
    corpus)."""
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TRAIN_PROMPTS),
        model_writer=buf,
        model_type="unigram",
        vocab_size=VOCAB_SIZE,
        character_coverage=1.0,
        normalization_rule_name="nmt_nfkc",
        add_dummy_prefix=True,
        remove_extra_whitespaces=True,
        byte_fallback=False,
        split_by_unicode_script=True,
        split_by_whitespace=True,
        split_by_number=True,
        split_digits=False,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        num_threads=1,
        minloglevel=2,
    )
    return buf.getvalue()


def pipeline_ids(pieces, max_length):
    """What `tokenizer(text, padding="max_length", max_length=L, truncation=True)` returns for
    T5: the first L-1 pieces plus EOS (id 1), padded with 0; the mask is 1 on pieces and EOS."""
    ids = list(pieces[: max_length - 1]) + [1]
    mask = [1] * len(ids) + [0] * (max_length - len(ids))
    return ids + [0] * (max_length - len(ids)), mask


def record_ids(spiece_path, t5_tokenizer):
    """Ids for TEST_PROMPTS from the sentencepiece library and from transformers' T5Tokenizer.

    Returns a JSON-ready dict. `sentencepiece` holds the raw pieces (no EOS) and the normalised
    text; `pipeline_*` hold the padded ids and masks as PixArt's encode_prompt asks for them.
    """
    sp = spm.SentencePieceProcessor(model_file=str(spiece_path))
    cases = []
    for text in TEST_PROMPTS:
        raw = sp.encode(text)
        pieces = sp.encode(text, out_type=str)
        normalized = sp.normalize(text)
        ids, mask = pipeline_ids(raw, MAX_LENGTH)
        hf = t5_tokenizer(text, padding="max_length", max_length=MAX_LENGTH, truncation=True,
                          add_special_tokens=True)
        hf_raw = t5_tokenizer(text, add_special_tokens=False)["input_ids"]
        # What diffusers' PixArt encode_prompt logs as removed when it truncates:
        # batch_decode(untruncated_ids[:, max_length - 1 : -1]) (the ids include EOS).
        removed = None
        if len(hf_raw) + 1 > MAX_LENGTH:
            removed = t5_tokenizer.batch_decode([hf_raw[MAX_LENGTH - 1:]])[0]
        cases.append({
            "text": text,
            "normalized": normalized,
            "pieces": pieces,
            "sentencepiece_ids": raw,
            "pipeline_ids": ids,
            "pipeline_mask": mask,
            "t5tokenizer_ids": hf["input_ids"],
            "t5tokenizer_mask": hf["attention_mask"],
            "t5tokenizer_raw_ids": hf_raw,
            "t5tokenizer_agrees": hf["input_ids"] == ids and hf["attention_mask"] == mask,
            "diffusers_removed_text": removed,
        })
    short = []
    for max_length in (8, 16):
        text = TEST_PROMPTS[0] + " and a green circle"
        ids, mask = pipeline_ids(sp.encode(text), max_length)
        hf = t5_tokenizer(text, padding="max_length", max_length=max_length, truncation=True)
        short.append({"text": text, "max_length": max_length, "pipeline_ids": ids,
                      "pipeline_mask": mask, "t5tokenizer_ids": hf["input_ids"],
                      "t5tokenizer_mask": hf["attention_mask"]})
    pieces = [{"piece": sp.id_to_piece(i), "score": sp.get_score(i)}
              for i in range(sp.get_piece_size())]
    rand = []
    for text in random_prompts(400):
        ids = sp.encode(text)
        hf = t5_tokenizer(text, add_special_tokens=False)["input_ids"]
        rand.append({"text": text, "normalized": sp.normalize(text), "sentencepiece_ids": ids,
                     "t5tokenizer_agrees": hf == ids})
    return {"max_length": MAX_LENGTH, "vocab_size": sp.get_piece_size(),
            "t5tokenizer_len": len(t5_tokenizer), "cases": cases, "short_max_length": short,
            "random_cases": rand, "first_pieces": pieces[:12]}


def write_json(path, data):
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
