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
from tokenizers import Tokenizer

from m2vcli.errors import ModelFormatError, first_line


def load_tokenizer(json_text: str, source: str) -> Tokenizer:
    """Parse a tokenizer.json document, turning any parse failure into a one-line error."""
    try:
        return Tokenizer.from_str(json_text)
    except Exception as exc:  # tokenizers raises plain Exception subclasses for malformed files
        raise ModelFormatError(f"{source} is not a valid tokenizer.json: {first_line(exc)}") from exc


def unk_token_id(tokenizer: Tokenizer, spec: dict[str, Any]) -> int | None:
    """The id of the unknown token, which encoding drops, or None when the model has none."""
    model = spec.get("model") or {}
    if model.get("type") == "Unigram":
        unk = model.get("unk_id")
        return int(unk) if unk is not None else None
    token = model.get("unk_token")
    return tokenizer.token_to_id(token) if token else None


MAX_TOKEN_CHARS = 100  # WordPiece's default longest word; a longer token would only widen the first cut
CUT_RETRIES = (16, 16)  # each retry's piece is this many times longer than the last one


class TokenIds:
    """Fast batch tokenization to flat id arrays. Safe to share between threads: no call changes the
    tokenizers' settings.

    >>> from tokenizers import Tokenizer, models, pre_tokenizers, normalizers
    >>> tok = Tokenizer(models.WordPiece({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    >>> tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    >>> tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    >>> ids, lengths = TokenIds(tok, json.loads(tok.to_str())).encode(["Hello world", "", "World"], None)
    >>> ids.tolist(), lengths.tolist()
    ([1, 2, 2], [2, 0, 1])
    >>> TokenIds(tok, json.loads(tok.to_str())).id_lists(["Hello world", "", "World"], 1)
    [[1], [], [2]]
    """

    def __init__(self, tokenizer: Tokenizer, spec: dict[str, Any]) -> None:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self.tokenizer = tokenizer
        longest = max((len(token) for token in tokenizer.get_vocab(with_added_tokens=True)), default=1)
        self.chars_per_token = min(longest, MAX_TOKEN_CHARS) + 1  # the longest token and a space
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

    def longest_text(self, max_length: int) -> int:
        """The most characters ``id_lists`` looks at in a text under ``max_length``: a text cut to this many
        gives the same ids as the whole text (the last retry's cut, and one more character so that the
        piece still ends at whitespace as it does in the whole text).

        >>> from tokenizers import Tokenizer, models
        >>> ids = TokenIds(Tokenizer(models.WordPiece({"[UNK]": 0, "ab": 1}, unk_token="[UNK]")), {})
        >>> ids.longest_text(2) == 2 * ids.chars_per_token * 16 * 16 + 1
        True
        """
        cut = max_length * self.chars_per_token
        for scale in CUT_RETRIES:
            cut *= scale
        return cut + 1

    def id_lists(self, texts: Sequence[str], max_length: int | None) -> list[list[int]]:
        """Each text's ids without special tokens, cut to its first ``max_length`` (None: no limit).

        The tokenizers never truncate: truncation is a setting stored on a tokenizer, and one tokenizer
        serves every thread, so each call cuts its own ids instead. A long text is first cut in characters
        (see ``_pieces``), so a 200 MB line costs what its first few thousand words cost.
        """
        texts = texts if isinstance(texts, list) else list(texts)
        if max_length is None:
            return self._untruncated(texts)
        cut = max_length * self.chars_per_token
        lists = self._untruncated(self._pieces(texts, cut))
        for scale in CUT_RETRIES:  # a piece with too few tokens (runs of spaces, unknown words): a longer one
            short = [i for i, ids in enumerate(lists) if len(ids) < max_length and len(texts[i]) > cut]
            if not short:
                break
            cut *= scale
            longer = self._untruncated(self._pieces([texts[i] for i in short], cut))
            for i, ids in zip(short, longer, strict=True):
                lists[i] = ids
        for ids in lists:
            del ids[max_length:]
        return lists

    @staticmethod
    def _pieces(texts: list[str], cut: int) -> list[str]:
        """Each text's first ``cut`` characters, ended at the last whitespace so that no word is split:
        the words kept tokenize exactly as they do in the whole text.

        >>> TokenIds._pieces(["one two three", "short"], 9)
        ['one two', 'short']
        """
        out = []
        for text in texts:
            if len(text) <= cut:
                out.append(text)
                continue
            piece = text[:cut]
            end = max(piece.rfind(c) for c in " \t\n\r\u3000")
            out.append(piece[:end] if end > 0 else piece)
        return out

    def _untruncated(self, texts: list[str]) -> list[list[int]]:
        if self._fast is None or self._unsafe is None:
            return _ids(self.tokenizer, texts)
        unsafe = self._unsafe.search
        plain = [t.isascii() and unsafe(t) is None for t in texts]
        if all(plain):
            return _ids(self._fast, [t.lower() for t in texts] if self._lowercase else texts)
        easy_idx = [i for i, ok in enumerate(plain) if ok]
        hard_idx = [i for i, ok in enumerate(plain) if not ok]
        easy = [texts[i].lower() if self._lowercase else texts[i] for i in easy_idx]
        out: list[list[int]] = [[]] * len(texts)
        for i, ids in zip(easy_idx, _ids(self._fast, easy), strict=True):
            out[i] = ids
        for i, ids in zip(hard_idx, _ids(self.tokenizer, [texts[i] for i in hard_idx]), strict=True):
            out[i] = ids
        return out

    def encode(self, texts: Sequence[str], max_length: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(ids, lengths)``: all texts' ids end to end (int64) and each text's token count."""
        id_lists = self.id_lists(texts, max_length)
        lengths = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
        ids = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=int(lengths.sum()))
        return ids, lengths


def _ids(tokenizer: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [enc.ids for enc in tokenizer.encode_batch_fast(texts, add_special_tokens=False)]


def clean_tokenizer_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a tokenizer.json document fit for a static model: no padding, truncation or special-token
    template (a static model pools the text's own tokens only)."""
    return dict(spec, padding=None, truncation=None, post_processor=None)
