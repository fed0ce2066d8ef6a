"""Stage 1: a sentencepiece Unigram tokenizer on the caption vocabulary, saved for T5Tokenizer.

Settings as T5's spiece.model (SPEC §4): Unigram, nmt_nfkc, add_dummy_prefix,
remove_extra_whitespaces, escape_whitespaces, no byte fallback, pad 0, eos 1, unk 2, no bos.
Deterministic (one thread, fixed corpus). Writes tools/train/ckpt/tokenizer/ (spiece.model and the
T5Tokenizer files); export.py copies it into the pipeline folder.

The sentencepiece trainer never proposes whole caption words here: every word always sits inside the
same longer phrase ("▁a▁red▁..."), so its seed search (maximal repeats that do not cross a space)
finds only word fragments. We therefore add one NORMAL piece "▁word" per caption word to the trained
model, scored by the word's log frequency in the corpus, so Viterbi picks whole words (one token per
word, which also keeps the P2P word-to-token map trivial). The trained fragments and single
characters stay, so any lowercase text still tokenises without <unk>.
"""

import collections
import io
import math
import shutil

from sentencepiece import sentencepiece_model_pb2 as pb

import sentencepiece as spm
from transformers import T5Tokenizer

from common import CKPT, caption_corpus

VOCAB_SIZE = 96


def add_word_pieces(model_bytes, corpus):
    m = pb.ModelProto()
    m.ParseFromString(model_bytes)
    counts = collections.Counter(w for line in corpus for w in line.split() if w.isalpha() and len(w) > 1)
    total = sum(counts.values())
    have = {p.piece for p in m.pieces}
    specials, rest = list(m.pieces[:3]), list(m.pieces[3:])
    assert [p.piece for p in specials] == ["<pad>", "</s>", "<unk>"], specials
    words = []
    for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if "\u2581" + w in have:
            continue
        p = pb.ModelProto.SentencePiece()
        p.piece = "\u2581" + w
        p.score = math.log(c / total)
        p.type = pb.ModelProto.SentencePiece.NORMAL
        words.append(p)
    del m.pieces[:]
    m.pieces.extend(specials + words + rest)
    m.trainer_spec.vocab_size = len(m.pieces)
    return m.SerializeToString()


def main():
    corpus = caption_corpus()
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=buf, model_type="unigram",
        vocab_size=VOCAB_SIZE, hard_vocab_limit=False, character_coverage=1.0,
        normalization_rule_name="nmt_nfkc", add_dummy_prefix=True, remove_extra_whitespaces=True,
        byte_fallback=False, split_by_unicode_script=True, split_by_whitespace=True,
        split_by_number=True, split_digits=False, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>", num_threads=1, minloglevel=2,
    )
    proto = add_word_pieces(buf.getvalue(), corpus)
    out = CKPT / "tokenizer"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "spiece.model").write_bytes(proto)
    tok = T5Tokenizer.from_pretrained(str(out), extra_ids=0, legacy=True, model_max_length=120)
    tok.save_pretrained(out)
    sp = spm.SentencePieceProcessor(model_file=str(out / "spiece.model"))
    print("pieces:", sp.get_piece_size(), "tokenizer len:", len(tok))
    for text in [corpus[0], corpus[-3], "a red star on a striped blue background", ""]:
        print(repr(text), sp.encode(text, out_type=str), tok(text)["input_ids"])


if __name__ == "__main__":
    main()
