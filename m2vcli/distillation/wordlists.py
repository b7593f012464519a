"""Word lists that extend a static model's vocabulary.

Two sources: a text file (one word or phrase per line, most frequent first; optionally ``word<TAB>count``)
and the ``wordfreq`` package's frequency lists, named ``wordfreq:LANG:N`` (e.g. ``wordfreq:en:50000``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from m2vcli.config import clip
from m2vcli.errors import ConfigError, InputError
from m2vcli.files import read_text

WORDFREQ_PREFIX = "wordfreq:"
CORPUS_PREFIX = "corpus:"
MAX_WORD_FILE_BYTES = 256 * 1024**2


@dataclass(frozen=True)
class WordList:
    """Words in rank order, with each word's relative frequency when the source knows it."""

    source: str
    words: list[str]
    frequencies: list[float] | None = None
    skipped: dict[str, int] = field(default_factory=dict)


def load_word_list(source: str) -> WordList | None:
    """Read ``wordfreq:LANG:N`` or a word file; ``corpus:N`` gives None (its words come from the corpus,
    once the teacher is loaded: see ``corpus_word_list``)."""
    if source.startswith(CORPUS_PREFIX):
        corpus_words_wanted(source)
        return None
    if source.startswith(WORDFREQ_PREFIX):
        return wordfreq_list(source)
    return read_word_file(Path(source))


def wordfreq_list(spec: str) -> WordList:
    """``wordfreq:en:50000``: the N most frequent words of a language, with their frequencies.

    >>> wordfreq_list("wordfreq:en:3").words
    ['the', 'to', 'and']
    """
    parts = spec.split(":")
    if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) < 1:
        raise ConfigError(f"a wordfreq vocabulary is written wordfreq:LANG:N, e.g. wordfreq:en:50000; got {spec!r}")
    lang, n = parts[1], int(parts[2])
    try:
        import wordfreq
    except ImportError as exc:
        raise ConfigError("the wordfreq vocabulary needs the wordfreq package: pip install wordfreq==3.1.1") from exc
    languages = sorted(wordfreq.available_languages(wordlist="large"))
    if lang not in languages:
        raise ConfigError(f"wordfreq has no large list for {lang!r}; choose one of {', '.join(languages)}")
    words = wordfreq.top_n_list(lang, n, wordlist="large")
    frequencies = [wordfreq.word_frequency(w, lang, wordlist="large") for w in words]
    return WordList(source=spec, words=words, frequencies=frequencies)


def read_word_file(path: Path) -> WordList:
    """One word or phrase per line, most frequent first; ``word<TAB>count`` lines give frequencies.

    Blank lines and repeated words are skipped and counted; a leading BOM is ignored. A count must be a
    finite number of at least 0 ("nan", "inf", "-1" and "1e400" are errors naming the line).
    """
    text = read_text(path, "vocabulary file", MAX_WORD_FILE_BYTES)
    words: list[str] = []
    counts: list[float] = []
    seen: set[str] = set()
    skipped = {"blank": 0, "duplicate": 0}
    for number, raw in enumerate(text.splitlines(), start=1):
        word, _, count = raw.partition("\t")
        word = word.strip()
        if not word:
            skipped["blank"] += 1
            continue
        if word in seen:
            skipped["duplicate"] += 1
            continue
        if count.strip():
            where = f"vocabulary file {path} line {number}: count {clip(count.strip())}"
            try:
                value = float(count)
            except ValueError as exc:
                raise InputError(f"{where} is not a number") from exc
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"{where} must be a finite number of at least 0")
            counts.append(value)
        seen.add(word)
        words.append(word)
    if not words:
        raise InputError(f"vocabulary file {path} has no words")
    if counts and len(counts) != len(words):
        raise InputError(f"vocabulary file {path}: give a count on every line or on none")
    frequencies = None
    if counts:
        total = sum(counts)
        if not math.isfinite(total):
            raise InputError(f"vocabulary file {path}: the counts add up to more than a float can hold")
        if total <= 0:
            raise InputError(f"vocabulary file {path}: counts must be positive")
        frequencies = [c / total for c in counts]
    return WordList(source=str(path), words=words, frequencies=frequencies, skipped=skipped)


def corpus_words_wanted(spec: str) -> int:
    """N of ``corpus:N``.

    >>> corpus_words_wanted("corpus:20000")
    20000
    """
    count = spec[len(CORPUS_PREFIX) :]
    if not count.isdigit() or int(count) < 1:
        raise ConfigError(f"a corpus vocabulary is written corpus:N, e.g. corpus:20000; got {spec!r}")
    return int(count)


def corpus_word_list(spec: str, texts: list[str], tokenizer: Any) -> WordList:
    """``corpus:N``: the N most frequent words of ``texts`` (as the teacher's normalizer and pre-tokenizer
    cut them) that the teacher does not have as one token, with their share of all words as frequency."""
    wanted = corpus_words_wanted(spec)
    counts: Counter[str] = Counter()
    normalizer, pre_tokenizer = tokenizer.normalizer, tokenizer.pre_tokenizer
    for text in texts:
        form = normalizer.normalize_str(text) if normalizer is not None else text
        pieces = (
            pre_tokenizer.pre_tokenize_str(form) if pre_tokenizer is not None else [(w, None) for w in form.split()]
        )
        counts.update(piece for piece, _ in pieces)
    total = sum(counts.values()) or 1
    words: list[str] = []
    frequencies: list[float] = []
    for word, count in counts.most_common():
        if len(words) == wanted:
            break
        if count < 2 or not word.strip():  # a word seen once is not worth a row
            break
        if len(tokenizer.encode(word, add_special_tokens=False).ids) > 1:
            words.append(word)
            frequencies.append(count / total)
    return WordList(source=spec, words=words, frequencies=frequencies)
