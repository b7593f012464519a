"""Which teacher outputs make an item's vector: the pooling choices and the weights per position."""

from __future__ import annotations

from enum import Enum

import numpy as np


class Pooling(str, Enum):
    """Which teacher outputs make a token's vector: ``tokens`` averages the item's own positions,
    ``mean`` also the special tokens around it (model2vec's choice), ``blend`` the item's positions with
    the special tokens at half weight, ``first`` takes the first position ([CLS]) and ``last`` the last
    one (for decoder-only teachers)."""

    TOKENS = "tokens"
    MEAN = "mean"
    BLEND = "blend"
    FIRST = "first"
    LAST = "last"


def pooling_weights(
    lengths: list[int], prefix: int, suffix: int, pooling: Pooling, width: int | None = None
) -> np.ndarray:
    """Which output positions are averaged for each item (rows: items padded to the longest).

    >>> pooling_weights([1, 2], 1, 1, Pooling.TOKENS).tolist()
    [[0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0]]
    >>> pooling_weights([1, 2], 1, 1, Pooling.MEAN).tolist()
    [[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]]
    >>> pooling_weights([1, 2], 1, 1, Pooling.BLEND).tolist()
    [[0.5, 1.0, 0.5, 0.0], [0.5, 1.0, 1.0, 0.5]]
    """
    width = max(width or 0, max(lengths) + prefix + suffix)  # ``width``: pad to at least this many positions
    weights = np.zeros((len(lengths), width), dtype=np.float32)
    for row, length in enumerate(lengths):
        if pooling is Pooling.MEAN:
            weights[row, : prefix + length + suffix] = 1
        elif pooling is Pooling.BLEND:
            weights[row, : prefix + length + suffix] = 0.5
            weights[row, prefix : prefix + length] = 1
        elif pooling is Pooling.TOKENS:
            weights[row, prefix : prefix + length] = 1
        elif pooling is Pooling.FIRST:
            weights[row, 0] = 1
        else:
            weights[row, prefix + length + suffix - 1] = 1
    return weights
