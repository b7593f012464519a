"""The static model's vocabulary: the teacher's own tokens, optionally extended with whole words.

Teacher tokens: special and unused tokens are removed. For WordPiece tokenizers the removed tokens leave
the tokenizer too (ids are renumbered, so the table has exactly one row per token). BPE and Unigram
vocabularies are kept whole, because removing a token would break their merges or scores.

Added words: each word is stored in the teacher's normalized form (``Café`` becomes ``cafe`` for an
uncased BERT), so encoding matches it as one whole word. A single word joins a WordPiece vocabulary
directly; a phrase, or any word for a BPE or Unigram tokenizer, becomes an added token matched on word
boundaries. Words the teacher already has as one token, repeats after normalization, words the teacher
cannot tokenize and words longer than its limits are skipped and counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from tokenizers import Tokenizer

from m2vcli.distillation.wordlists import WordList
from m2vcli.model.tokenization import clean_tokenizer_spec

KEEP_SPECIAL = ("unk", "pad")


@dataclass(frozen=True)
class Vocabulary:
    """Rows of the static model in id order, and the teacher token ids to embed for each row."""

    tokenizer_json: str
    tokens: list[str]
    teacher_ids: list[list[int]]
    n_teacher: int
    word_frequencies: list[float] | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    normalized: int = 0

    @property
    def added(self) -> int:
        return len(self.tokens) - self.n_teacher


def _special_tokens(spec: dict[str, Any]) -> set[str]:
    return {t["content"] for t in spec.get("added_tokens", []) if t.get("special")}


def teacher_vocabulary(tokenizer_json: str, remove_pattern: str | None) -> Vocabulary:
    """Select the teacher's tokens for distillation and build the static model's tokenizer."""
    spec = clean_tokenizer_spec(json.loads(tokenizer_json))
    model = spec.get("model") or {}
    pattern = re.compile(remove_pattern) if remove_pattern else None
    specials = _special_tokens(spec)
    unk = model.get("unk_token")
    kept_specials = {unk} | {s for s in specials if any(k in s.lower() for k in KEEP_SPECIAL)}
    if model.get("type") != "WordPiece":
        vocab = _ordered_vocab(spec)
        return Vocabulary(json.dumps(spec), [t for t, _ in vocab], [[i] for _, i in vocab], len(vocab))
    skipped = {"special": 0, "pattern": 0}
    kept: list[tuple[str, int]] = []
    for token, idx in sorted(model["vocab"].items(), key=lambda item: item[1]):
        if token in specials and token not in kept_specials:
            skipped["special"] += 1
        elif pattern is not None and token not in kept_specials and pattern.fullmatch(token):
            skipped["pattern"] += 1
        else:
            kept.append((token, idx))
    new_ids = {token: i for i, (token, _) in enumerate(kept)}
    spec["model"] = dict(model, vocab=new_ids)
    spec["added_tokens"] = [
        dict(t, id=new_ids[t["content"]]) for t in spec.get("added_tokens", []) if t["content"] in new_ids
    ]
    return Vocabulary(json.dumps(spec), [t for t, _ in kept], [[i] for _, i in kept], len(kept), None, skipped)


def _ordered_vocab(spec: dict[str, Any]) -> list[tuple[str, int]]:
    tok = Tokenizer.from_str(json.dumps(spec))
    return sorted(tok.get_vocab(with_added_tokens=True).items(), key=lambda item: item[1])


def extend_vocabulary(base: Vocabulary, words: WordList, teacher: Tokenizer, max_tokens: int) -> Vocabulary:
    """Add ``words`` (rank order) to ``base``; ``teacher`` has no padding, truncation or template."""
    spec = json.loads(base.tokenizer_json)
    model = spec["model"]
    wordpiece = model.get("type") == "WordPiece"
    char_limit = int(model.get("max_input_chars_per_word", 100)) if wordpiece else None
    unk = teacher.token_to_id(model["unk_token"]) if model.get("unk_token") else None
    known = set(Tokenizer.from_str(base.tokenizer_json).get_vocab(with_added_tokens=True))
    skipped = {**words.skipped, "already in vocabulary": 0, "duplicate after normalization": 0}
    skipped.update({"unknown to the teacher": 0, "too long": 0})
    tokens, teacher_ids = list(base.tokens), list(base.teacher_ids)
    frequencies: list[float] = []
    normalized_count = 0
    added: set[str] = set()
    next_id = len(tokens)
    for rank, word in enumerate(words.words):
        form = teacher.normalizer.normalize_str(word) if teacher.normalizer is not None else word
        form = form.strip()
        if not form:
            skipped["unknown to the teacher"] += 1
            continue
        if form in known:
            skipped["duplicate after normalization" if form in added else "already in vocabulary"] += 1
            continue
        ids = teacher.encode(word, add_special_tokens=False).ids
        if (char_limit is not None and len(form) > char_limit) or len(ids) > max_tokens:
            skipped["too long"] += 1
            continue
        if not ids or (unk is not None and all(i == unk for i in ids)):
            skipped["unknown to the teacher"] += 1
            continue
        if len(ids) == 1:
            skipped["already in vocabulary"] += 1
            continue
        normalized_count += form != word
        pieces = teacher.pre_tokenizer.pre_tokenize_str(form) if teacher.pre_tokenizer is not None else [(form, None)]
        if wordpiece and len(pieces) == 1:
            model["vocab"][form] = next_id
        else:
            spec["added_tokens"].append(
                {
                    "id": next_id,
                    "content": form,
                    "single_word": True,
                    "lstrip": True,
                    "rstrip": False,
                    "normalized": True,
                    "special": False,
                }
            )
        known.add(form)
        added.add(form)
        tokens.append(form)
        teacher_ids.append(ids)
        frequencies.append(words.frequencies[rank] if words.frequencies is not None else float("nan"))
        next_id += 1
    return replace(
        base,
        tokenizer_json=json.dumps(spec),
        tokens=tokens,
        teacher_ids=teacher_ids,
        word_frequencies=frequencies if words.frequencies is not None else None,
        skipped={**base.skipped, **skipped},
        normalized=normalized_count,
    )
