"""The static model's vocabulary: the teacher's own tokens, minus special and unused ones.

For WordPiece tokenizers the removed tokens leave the tokenizer too (ids are renumbered, so the table
has exactly one row per token). BPE and Unigram vocabularies are kept whole, because removing a token
would break their merges or scores; their special tokens still get rows, which the text never reaches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from m2vcli.tokenization import clean_tokenizer_spec

KEEP_SPECIAL = ("unk", "pad")


@dataclass(frozen=True)
class Vocabulary:
    """Tokens of the static model in id order, and the teacher ids to embed for each."""

    tokenizer_json: str
    tokens: list[str]
    teacher_ids: list[int]
    skipped: dict[str, int] = field(default_factory=dict)


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
        return Vocabulary(json.dumps(spec), [t for t, _ in vocab], [i for _, i in vocab], {})
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
    return Vocabulary(json.dumps(spec), [t for t, _ in kept], [i for _, i in kept], skipped)


def _ordered_vocab(spec: dict[str, Any]) -> list[tuple[str, int]]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(json.dumps(spec))
    return sorted(tok.get_vocab(with_added_tokens=True).items(), key=lambda item: item[1])
