"""Turning texts into token ids fast, with exactly the ids the model's own tokenizer gives.

The tokenizer is the bottleneck of a static model: pooling is a table look-up and a sum. For BERT-style
tokenizers most of the tokenizer's time goes to its normalizer (Unicode accent stripping, control-character
cleaning), which cannot change a plain ASCII text beyond lower-casing it. So texts that are pure ASCII and
hold no control characters go through a copy of the tokenizer without a normalizer, lower-cased in Python
(``str.lower`` on ASCII is ASCII lower-casing, the same as the normalizer's); every other text goes through
the tokenizer as it is. Both routes give identical ids (a test checks this on random text).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from tokenizers import Encoding, Tokenizer

from m2vcli.errors import ModelFormatError, first_line


def load_tokenizer(json_text: str, source: str) -> Tokenizer:
    """Parse a tokenizer.json document, turning any parse failure into a one-line error."""
    try:
        return Tokenizer.from_str(json_text)
    except Exception as exc:  # tokenizers raises plain Exception subclasses for malformed files
        raise ModelFormatError(f"{source} is not a valid tokenizer.json: {first_line(exc)}") from None


def unk_token_id(tokenizer: Tokenizer, spec: dict[str, Any]) -> int | None:
    """The id of the unknown token, which encoding drops, or None when the model has none."""
    model = spec.get("model") or {}
    if model.get("type") == "Unigram":
        unk = model.get("unk_id")
        return int(unk) if unk is not None else None
    token = model.get("unk_token")
    return tokenizer.token_to_id(token) if token else None


class TokenIds:
    """Fast batch tokenization to flat id arrays.

    >>> from tokenizers import Tokenizer, models, pre_tokenizers, normalizers
    >>> tok = Tokenizer(models.WordPiece({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    >>> tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    >>> tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    >>> ids, lengths = TokenIds(tok, json.loads(tok.to_str())).encode(["Hello world", "", "World"], None)
    >>> ids.tolist(), lengths.tolist()
    ([1, 2, 2], [2, 0, 1])
    """

    def __init__(self, tokenizer: Tokenizer, spec: dict[str, Any]) -> None:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self.tokenizer = tokenizer
        self._max_length: int | None = None
        self._fast: Tokenizer | None = None
        self._lowercase = False
        self._unsafe: re.Pattern[str] | None = None
        normalizer = spec.get("normalizer") or {}
        if normalizer.get("type") == "BertNormalizer":
            plain = dict(clean_tokenizer_spec(spec), normalizer=None)
            self._fast = Tokenizer.from_str(json.dumps(plain))
            self._lowercase = bool(normalizer.get("lowercase", True))
            # Tokens added with normalized=False are matched in the raw (not lower-cased) text: a text that
            # might hold one takes the exact route. Normalized added tokens match alike on both routes.
            raw = [
                t["content"]
                for t in spec.get("added_tokens", [])
                if t.get("content") and t.get("normalized") is not True
            ]
            firsts = {content[0] for content in raw}
            extra = "".join(re.escape(c) for c in sorted(firsts) if c.isascii())
            self._unsafe = re.compile(f"[\\x00-\\x1f\\x7f{extra}]")

    def _set_max_length(self, max_length: int | None) -> None:
        if max_length == self._max_length:
            return
        for tok in (self.tokenizer, self._fast):
            if tok is None:
                continue
            if max_length is None:
                tok.no_truncation()
            else:
                tok.enable_truncation(max_length)
        self._max_length = max_length

    def encodings(self, texts: Sequence[str], max_length: int | None) -> list[Encoding]:
        """Tokenize without special tokens, truncating each text to ``max_length`` tokens."""
        self._set_max_length(max_length)
        texts = texts if isinstance(texts, list) else list(texts)
        if self._fast is None or self._unsafe is None:
            return self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        unsafe = self._unsafe.search
        plain = [t.isascii() and unsafe(t) is None for t in texts]
        if all(plain):
            easy = [t.lower() for t in texts] if self._lowercase else texts
            return self._fast.encode_batch_fast(easy, add_special_tokens=False)
        easy_idx = [i for i, ok in enumerate(plain) if ok]
        hard_idx = [i for i, ok in enumerate(plain) if not ok]
        easy = [texts[i].lower() if self._lowercase else texts[i] for i in easy_idx]
        out: list[Encoding | None] = [None] * len(texts)
        for i, enc in zip(easy_idx, self._fast.encode_batch_fast(easy, add_special_tokens=False), strict=True):
            out[i] = enc
        hard = [texts[i] for i in hard_idx]
        for i, enc in zip(hard_idx, self.tokenizer.encode_batch_fast(hard, add_special_tokens=False), strict=True):
            out[i] = enc
        return [enc for enc in out if enc is not None]

    def encode(self, texts: Sequence[str], max_length: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(ids, lengths)``: all texts' ids end to end (int64) and each text's token count."""
        id_lists = [enc.ids for enc in self.encodings(texts, max_length)]
        lengths = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
        ids = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=int(lengths.sum()))
        return ids, lengths


def clean_tokenizer_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a tokenizer.json document fit for a static model: no padding, truncation or special-token
    template (a static model pools the text's own tokens only)."""
    return dict(spec, padding=None, truncation=None, post_processor=None)
