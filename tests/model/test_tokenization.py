from __future__ import annotations

import json
import random

import pytest

from m2vcli.model.tokenization import TokenIds
from tests.helpers import teacher_path, tiny_tokenizer

ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "      .,;:!?'\"()[]{}#-_/\\\t\r\x00\x07\x1b\x7féÉüßçÑ中文日本語😀\u00a0\u200b\u2028"
)
PIECES = ["[UNK]", "[CLS]", "[cls]", "[PAD]", "Hello", "WORLD", "naïve", "café", "[MASK] it", "e\u0301"]


def random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        parts = [rng.choice(PIECES) if rng.random() < 0.15 else rng.choice(ALPHABET) for _ in range(rng.randint(0, 40))]
        texts.append("".join(parts))
    return texts


def exact_ids(tokenizer_json: str, texts: list[str], max_length: int | None) -> list[list[int]]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tokenizer_json)
    tok.no_padding()
    if max_length is None:
        tok.no_truncation()
    else:
        tok.enable_truncation(max_length)
    return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]


@pytest.mark.parametrize("max_length", [None, 5])
def test_fast_route_gives_the_tokenizers_own_ids_tiny(max_length: int | None) -> None:
    spec = tiny_tokenizer().to_str()
    texts = random_texts(3000, seed=1) + ["plain ascii text only", "Another Plain Line"] * 50
    ids = TokenIds(tiny_tokenizer(), json.loads(spec))
    assert ids.id_lists(texts, max_length) == exact_ids(spec, texts, max_length)
    assert ids.tokenizer.truncation is None  # truncation is per call, never a setting of the shared tokenizer


@pytest.mark.data
def test_fast_route_gives_the_tokenizers_own_ids_bert_uncased() -> None:
    from tokenizers import Tokenizer

    spec = (teacher_path() / "tokenizer.json").read_text()
    texts = random_texts(3000, seed=2)
    ids = TokenIds(Tokenizer.from_str(spec), json.loads(spec))
    assert ids._fast is not None  # the ASCII route is in use for BERT tokenizers
    assert ids.id_lists(texts, 512) == exact_ids(spec, texts, 512)
    flat, lengths = ids.encode(texts[:10], 512)
    assert lengths.tolist() == [len(x) for x in exact_ids(spec, texts[:10], 512)]
    assert flat.size == lengths.sum()


def test_long_texts_are_cut_in_characters_without_changing_their_first_tokens() -> None:
    import random

    tok = tiny_tokenizer()
    ids = TokenIds(tok, json.loads(tok.to_str()))
    rng = random.Random(0)
    words = ["the", "cat", "sat", "unbelievable", "zzzzzz", "☃", "hello,world", "", "   ", "\t"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 3000))) for _ in range(40)]
    texts += [
        " " * 2_000 + "the cat",  # the words come after a run of spaces longer than the first piece
        "x" * 50_000,  # one unknown word, no space to end a piece at
        "cat " * 10 + "a" * 30_000 + " sat",
        "",
    ]
    for max_length in (1, 5, 64):
        whole = [full[:max_length] for full in ids.id_lists(texts, None)]
        assert ids.id_lists(texts, max_length) == whole
    # the bound: nothing past 256 times the first piece is read, so words after that many spaces are not seen
    far = " " * (256 * ids.chars_per_token + 1) + "the cat"
    assert ids.id_lists([far], 1) == [[]] and ids.id_lists([far], None) != [[]]


def test_a_huge_line_is_tokenized_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    tok = tiny_tokenizer()
    ids = TokenIds(tok, json.loads(tok.to_str()))
    seen: list[int] = []
    real = ids._untruncated
    monkeypatch.setattr(ids, "_untruncated", lambda texts: seen.extend(map(len, texts)) or real(texts))
    line = "the cat sat on the mat " * 500_000  # 11.5 million characters
    assert ids.id_lists([line], 8) == [ids.id_lists(["the cat sat on the mat the cat"], 8)[0]]
    assert max(seen) <= 8 * ids.chars_per_token
