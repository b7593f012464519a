"""Compact per-text storage for refinement, so memory does not grow with the corpus beyond its token ids.

``Ragged``: every text's token ids in one flat int32 array with offsets (4 bytes a token, not a Python
object per text). ``RowFile``: a float32 matrix kept on disk whose rows are read on demand (training's
targets); it is read with plain reads, not mapped, so the rows a run has touched do not stay in its memory.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from m2vcli.errors import OutputError


class Ragged:
    """Variable-length int32 rows in one flat array: ``ragged[i]`` is row ``i`` (a view), ``ragged[a:b]``
    a ``Ragged`` of views.

    >>> r = Ragged.from_rows([[1, 2], [], [3]])
    >>> len(r), r[0].tolist(), r[1:].lengths.tolist()
    (3, [1, 2], [0, 1])
    """

    def __init__(self, flat: np.ndarray, offsets: np.ndarray) -> None:
        self.flat = flat
        self.offsets = offsets  # int64, len(rows) + 1, offsets[0] == 0 for a whole array

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[int] | np.ndarray]) -> Ragged:
        builder = RaggedBuilder()
        builder.extend(rows)
        return builder.build()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...
    @overload
    def __getitem__(self, index: slice) -> Ragged: ...
    def __getitem__(self, index: int | slice) -> np.ndarray | Ragged:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("a Ragged slice takes consecutive rows")
            stop = max(start, stop)
            return Ragged(self.flat, self.offsets[start : stop + 1])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.flat[self.offsets[index] : self.offsets[index + 1]]

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self.flat[self.offsets[i] : self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def tokens(self) -> int:
        return int(self.offsets[-1] - self.offsets[0])

    def take(self, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows ``chosen`` as (flat ids, each row's offset into them, each row's length)."""
        starts, lengths = self.offsets[chosen], self.offsets[np.asarray(chosen) + 1] - self.offsets[chosen]
        if len(lengths) == 0:
            return self.flat[:0], np.zeros(0, np.int64), lengths
        total = int(lengths.sum())
        positions = np.arange(total, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        positions += np.repeat(starts - offsets, lengths)
        return self.flat[positions], offsets, lengths


class RaggedBuilder:
    """Collects rows chunk by chunk, joined once by ``build``."""

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []

    def extend(self, rows: Iterable[Sequence[int] | np.ndarray]) -> None:
        arrays = [np.asarray(row, dtype=np.int32).reshape(-1) for row in rows]
        if arrays:
            self._chunks.append(np.concatenate(arrays))
            self._lengths.append(np.array([len(a) for a in arrays], dtype=np.int64))

    def build(self) -> Ragged:
        flat = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int32)
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)
        self._chunks, self._lengths = [], []
        return Ragged(flat, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))


class RowFile:
    """A float32 ``(rows, width)`` matrix written once to ``path`` in order, then read by row indexes:
    ``rows[chosen]`` reads each run of consecutive rows with one read."""

    def __init__(self, path: Path, rows: int, width: int) -> None:
        self.path = path
        self.shape = (rows, width)
        self._row_bytes = width * 4
        self._written = 0
        try:
            self._handle = open(path, "w+b", buffering=0)  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def __len__(self) -> int:
        return self.shape[0]

    def append(self, block: np.ndarray) -> None:
        """The next rows, in order."""
        data = np.ascontiguousarray(block, dtype=np.float32)
        if data.ndim != 2 or data.shape[1] != self.shape[1] or self._written + len(data) > self.shape[0]:
            raise ValueError(f"rows of shape {data.shape} do not fit a {self.shape} file at row {self._written}")
        try:
            self._handle.seek(self._written * self._row_bytes)
            view = data.data.cast("B")
            while view:
                view = view[self._handle.write(view) :]
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._written += len(data)

    def __getitem__(self, chosen: np.ndarray) -> np.ndarray:
        chosen = np.asarray(chosen, dtype=np.int64)
        if self._written != self.shape[0]:
            raise ValueError(f"{self.path} holds {self._written} of its {self.shape[0]} rows")
        if len(chosen) and (chosen.min() < 0 or chosen.max() >= self.shape[0]):
            raise IndexError("row index out of range")
        order = np.argsort(chosen, kind="stable")
        ordered = chosen[order]
        gathered = np.empty((len(chosen), self.shape[1]), dtype=np.float32)
        breaks = np.flatnonzero(np.diff(ordered) != 1) + 1
        for run in np.split(np.arange(len(ordered)), breaks):  # a run: consecutive rows (a repeat starts a new one)
            if len(run):
                gathered[run] = self._read(int(ordered[run[0]]), len(run))
        out = np.empty_like(gathered)
        out[order] = gathered
        return out

    def _read(self, first: int, count: int) -> np.ndarray:
        block = np.empty((count, self.shape[1]), dtype=np.float32)
        view = block.data.cast("B")
        self._handle.seek(first * self._row_bytes)
        while view:
            got = self._handle.readinto(view)
            if not got:
                raise OutputError(f"{self.path} ended early")
            view = view[got:]
        return block

    def close(self) -> None:
        self._handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
