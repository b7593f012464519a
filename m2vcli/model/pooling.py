"""Mean pooling of token vectors, vectorised over a whole batch of texts.

A batch arrives as one flat array of table rows plus each text's length. Texts are sorted by length and
pooled in groups of similar length, so each step adds one row per text to a small accumulator that stays
in cache; there is no Python loop per text and no (tokens x dim) copy of the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from m2vcli.callbacks import OnProgress

GROUP = 256
SMALL_BATCH = 8


def pooled_sums(
    table: np.ndarray,
    rows: np.ndarray,
    lengths: np.ndarray,
    token_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Sum ``table[rows]`` per text, optionally weighting each token.

    ``table`` is float32 ``(R, dim)`` and its last row is all zeros (padding reads it); ``rows`` holds the
    row of every token, texts end to end, and ``lengths`` how many tokens each text has.
    Returns float32 ``(len(lengths), dim)``.

    >>> table = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]], dtype=np.float32)
    >>> pooled_sums(table, np.array([0, 1, 1, 0]), np.array([3, 0, 1])).tolist()
    [[1.0, 4.0], [0.0, 0.0], [1.0, 0.0]]
    """
    n, dim = len(lengths), table.shape[1]
    out = np.zeros((n, dim), dtype=np.float32)
    if n == 0 or rows.size == 0:
        return out
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    if n <= SMALL_BATCH:  # a few texts: direct sums cost less than setting up the grouped loop
        for i, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
            block = table[rows[start : start + length]]
            if token_weights is not None:
                block = block * token_weights[start : start + length, None]
            out[i] = block.sum(axis=0)
        return out
    order = np.argsort(lengths, kind="stable")
    first_nonempty = int(np.searchsorted(lengths[order], 1))
    # Padded positions read one extra slot: the zero row, with weight 0.
    rows_ext = np.append(rows, table.shape[0] - 1)
    weights_ext = None if token_weights is None else np.append(token_weights.astype(np.float32), 0.0)
    for g in range(first_nonempty, n, GROUP):
        idx = order[g : g + GROUP]
        lens = lengths[idx]
        width = int(lens[-1])
        pos = np.arange(width)
        flat = np.where(pos[None, :] < lens[:, None], starts[idx, None] + pos[None, :], rows.size)
        mat = rows_ext[flat]
        if weights_ext is None:
            acc = table[mat[:, 0]]
            for j in range(1, width):
                acc += table[mat[:, j]]
        else:
            w = weights_ext[flat]
            acc = table[mat[:, 0]] * w[:, 0, None]
            for j in range(1, width):
                acc += table[mat[:, j]] * w[:, j, None]
        out[idx] = acc
    return out


def collect_batches(batches: Iterable[np.ndarray], out: np.ndarray, listeners: Sequence[OnProgress]) -> None:
    """Copy consecutive batches into ``out``, telling each listener ``(done, total)`` after each."""
    done = 0
    for vectors in batches:
        out[done : done + len(vectors)] = vectors
        done += len(vectors)
        for listener in listeners:
            listener(done, len(out))
