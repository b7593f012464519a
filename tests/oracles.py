"""Scores of an encoder on the offline data: word-similarity Spearman and logistic-regression accuracy."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Encode = Callable[[Sequence[str]], np.ndarray]


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine; a zero vector has cosine 0 with everything.

    >>> cosine_rows(np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 0.0]])).round(4).tolist()
    [0.7071, 0.0]
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    out = np.zeros(len(a))
    ok = norms > 0
    out[ok] = (a[ok] * b[ok]).sum(axis=1) / norms[ok]
    return out


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman's rank correlation (ties get their average rank)."""
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def word_similarity(encode: Encode, pairs: Sequence[tuple[str, str, float]]) -> float:
    """Spearman between cosine(word1, word2) and the human scores."""
    first = encode([p[0] for p in pairs])
    second = encode([p[1] for p in pairs])
    return spearman(cosine_rows(first, second), [p[2] for p in pairs])


def classification_accuracy(
    encode: Encode, texts: Sequence[str], labels: Sequence[int], train: Sequence[int], test: Sequence[int]
) -> float:
    """Accuracy of a logistic regression trained on the train rows' vectors."""
    from sklearn.linear_model import LogisticRegression

    vectors = encode(list(texts))
    y = np.asarray(labels)
    clf = LogisticRegression(max_iter=2000)
    clf.fit(vectors[list(train)], y[list(train)])
    return float((clf.predict(vectors[list(test)]) == y[list(test)]).mean())
