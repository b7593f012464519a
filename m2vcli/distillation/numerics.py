"""The numbers of distillation: PCA, SIF weights, storage type (which teacher outputs are pooled is
``m2vcli.teacher.pooling``)."""

from __future__ import annotations

from enum import Enum

import numpy as np

from m2vcli.distillation.vocabulary import Vocabulary
from m2vcli.errors import ConfigError


class Weighting(str, Enum):
    """Where the SIF weights' token probabilities come from (see ``row_weights``)."""

    ZIPF = "zipf"
    FREQUENCY = "frequency"
    CORPUS = "corpus"


# ``corpus`` weighting: the ``frequency`` estimate weighs as this many times the corpus's tokens (a token the
# corpus never shows keeps most of its estimate, one it shows often moves far from it). 10 scored best of 0,
# 0.1, 1, 3, 10 and 30 on the offline suite (docs/results.md)
CORPUS_PRIOR = 10.0


def sif_weights(n: int, coefficient: float) -> np.ndarray:
    """SIF weights ``a / (a + p)`` with ``p`` the Zipf probability of each rank (id order stands for rank).

    Under Zipf's law the token of rank ``r`` (from 1) has probability ``p = 1 / (r * H_n)``, ``H_n`` the
    n-th harmonic number. Frequent tokens get small weights, rare ones weights near 1. With n = 3,
    H = 1.8333, so p = 0.5455, 0.2727, 0.1818 and, for a = 0.1:

    >>> [round(float(w), 4) for w in sif_weights(3, 0.1)]
    [0.1549, 0.2683, 0.3548]
    """
    p = zipf_probabilities(n)
    return (coefficient / (coefficient + p)).astype(np.float32)


def check_pca_dims(pca_dims: int | float | None, dim: int, rows: int) -> None:
    """A whole ``pca_dims`` must not exceed the teacher's dimension nor the number of rows."""
    if isinstance(pca_dims, int) and pca_dims > min(rows, dim):
        raise ConfigError(
            f"pca_dims must be between 1 and {min(rows, dim)} (the teacher's dimension and the vocabulary size), "
            f"got {pca_dims}",
            key="pca_dims",
        )


def reduce_dims(vectors: np.ndarray, pca_dims: int | float | None) -> np.ndarray:
    """PCA to ``pca_dims`` components, or to the fewest that keep that share of the variance.

    The vectors are centred and projected on the top eigenvectors of their covariance matrix
    (dim x dim, so this is fast whatever the vocabulary size).

    >>> x = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=np.float32)
    >>> np.abs(reduce_dims(x, 1)).ravel().tolist()
    [2.0, 2.0, 0.0, 0.0]
    >>> reduce_dims(x, 0.9).shape  # the first component holds 80% of the variance
    (4, 2)
    """
    if pca_dims is None:
        return vectors
    n, dim = vectors.shape
    check_pca_dims(pca_dims, dim, n)
    centred = vectors - vectors.mean(axis=0, dtype=np.float64).astype(np.float32)
    eigenvalues, eigenvectors = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = np.clip(eigenvalues[order], 0, None), eigenvectors[:, order]
    if isinstance(pca_dims, float):
        share = np.cumsum(eigenvalues) / max(float(eigenvalues.sum()), 1e-30)
        pca_dims = int(min(np.searchsorted(share, pca_dims) + 1, dim))
    return centred @ eigenvectors[:, :pca_dims].astype(np.float32)


def zipf_probabilities(n: int) -> np.ndarray:
    """Zipf probability ``1 / (r * H_n)`` of each rank ``r`` from 1 to ``n`` (they sum to 1).

    >>> [round(float(p), 4) for p in zipf_probabilities(3)]
    [0.5455, 0.2727, 0.1818]
    """
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return 1.0 / (ranks * np.sum(1.0 / ranks))


def row_probabilities(vocab: Vocabulary, weighting: Weighting, token_counts: np.ndarray | None = None) -> np.ndarray:
    """The token probability behind every row's SIF weight.

    ``zipf``: from each row's rank (its id), as if the whole vocabulary were one frequency-ranked list.
    ``frequency``: the teacher's tokens keep their Zipf estimate; added words use their known frequency (a
    count column, the wordfreq list or the corpus), else the Zipf estimate of their rank in the word list, so a
    frequent added word is not weighted like a rare one. ``corpus``: ``token_counts`` (each row's count in a
    corpus, tokenized as the model tokenizes) blended with the ``frequency`` estimate, which weighs as
    ``CORPUS_PRIOR`` of the corpus's tokens: ``p = (count + k * p_frequency) / (total + k)``.

    >>> vocab = Vocabulary(tokens=["a", "b", "c"], teacher_ids=[0, 1, 2], n_teacher=3, tokenizer_json="")
    >>> [round(float(p), 3) for p in row_probabilities(vocab, Weighting.CORPUS, np.array([0, 0, 90]))]
    [0.496, 0.248, 0.256]
    """
    rows = len(vocab.tokens)
    if weighting is Weighting.ZIPF or (vocab.added == 0 and weighting is Weighting.FREQUENCY):
        return zipf_probabilities(rows)
    p = np.empty(rows, dtype=np.float64)
    p[: vocab.n_teacher] = zipf_probabilities(vocab.n_teacher)
    if vocab.added:
        known = vocab.word_frequencies
        p[vocab.n_teacher :] = zipf_probabilities(vocab.added) if known is None else np.asarray(known, np.float64)
    if weighting is not Weighting.CORPUS:
        return p
    if token_counts is None or len(token_counts) != rows:
        raise ValueError("corpus weighting needs one token count per row")
    p /= p.sum()  # the teacher's tokens and the added words together: one distribution
    total = float(np.sum(token_counts))
    prior = CORPUS_PRIOR * total if total > 0 else 1.0
    return (np.asarray(token_counts, np.float64) + prior * p) / (total + prior)


def row_weights(
    vocab: Vocabulary, coefficient: float, weighting: Weighting, token_counts: np.ndarray | None = None
) -> np.ndarray:
    """SIF weight ``a / (a + p)`` of every row, ``p`` from ``row_probabilities``."""
    p = row_probabilities(vocab, weighting, token_counts)
    return (coefficient / (coefficient + p)).astype(np.float32)
