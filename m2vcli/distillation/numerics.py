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


def sif_weights(n: int, coefficient: float) -> np.ndarray:
    """SIF weights ``a / (a + p)`` with ``p`` the Zipf probability of each rank (id order stands for rank).

    Under Zipf's law the token of rank ``r`` (from 1) has probability ``p = 1 / (r * H_n)``, ``H_n`` the
    n-th harmonic number. Frequent tokens get small weights, rare ones weights near 1. With n = 3,
    H = 1.8333, so p = 0.5455, 0.2727, 0.1818 and, for a = 0.1:

    >>> [round(float(w), 4) for w in sif_weights(3, 0.1)]
    [0.1549, 0.2683, 0.3548]
    """
    ranks = np.arange(1, n + 1, dtype=np.float64)
    p = 1.0 / (ranks * np.sum(1.0 / ranks))
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


def row_weights(vocab: Vocabulary, coefficient: float, weighting: Weighting) -> np.ndarray:
    """SIF weight of every row.

    ``zipf``: every row's probability comes from its rank (its id), as if the whole vocabulary were one
    frequency-ranked list. ``frequency``: the teacher's tokens keep their Zipf estimate; added words use
    their known frequency (a count column or the wordfreq list), else the Zipf estimate of their rank in the
    word list, so a frequent added word is not weighted like a rare one.
    """
    rows = len(vocab.tokens)
    if weighting is Weighting.ZIPF or vocab.added == 0:
        return sif_weights(rows, coefficient)
    weights = np.empty(rows, dtype=np.float32)
    weights[: vocab.n_teacher] = sif_weights(vocab.n_teacher, coefficient)
    if vocab.word_frequencies is not None:
        p = np.asarray(vocab.word_frequencies, dtype=np.float64)
        weights[vocab.n_teacher :] = coefficient / (coefficient + p)
    else:
        weights[vocab.n_teacher :] = sif_weights(vocab.added, coefficient)
    return weights
