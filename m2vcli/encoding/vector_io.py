"""Streaming writers for encoded vectors: ``.npy``, JSON lines, safetensors and Parquet.

Vectors arrive batch by batch and are written as they come, so no second full copy is ever held. The
formats that record the row count in a header (npy, safetensors) write a header of fixed size, so that it
can be written before the count is known and written again, in place, once it is (``header(rows)`` always
has the same length). JSON lines and Parquet need no count.

JSON lines hold one array per line, or ``{"id": ..., "vector": [...]}`` when ids are kept. Parquet holds
``row`` (the input position, 0-based), ``id`` when kept, and ``vector`` as a fixed-size list.
"""

from __future__ import annotations

import json
import struct
from enum import Enum
from typing import Any, BinaryIO

import numpy as np

from m2vcli.errors import InputError, OutputError, first_line

NPY_HEADER_BYTES = 128  # magic, version, length and a dict that holds any 20-digit shape
SAFETENSORS_HEADER_BYTES = 160
PARQUET_GROUP_BYTES = 8 << 20  # vectors buffered per Parquet row group (8,192 rows of 256 float32)


class OutputFormat(str, Enum):
    npy = "npy"
    jsonl = "jsonl"
    safetensors = "safetensors"
    parquet = "parquet"

    @property
    def is_binary(self) -> bool:
        return self is not OutputFormat.jsonl

    @property
    def needs_count(self) -> bool:
        """The header holds the row count."""
        return self in (OutputFormat.npy, OutputFormat.safetensors)

    @property
    def keeps_ids(self) -> bool:
        return self in (OutputFormat.jsonl, OutputFormat.parquet)

    @classmethod
    def from_suffix(cls, suffix: str) -> OutputFormat | None:
        return {
            ".npy": cls.npy,
            ".jsonl": cls.jsonl,
            ".safetensors": cls.safetensors,
            ".parquet": cls.parquet,
            ".pq": cls.parquet,
        }.get(suffix.lower())


class VectorDType(str, Enum):
    float32 = "float32"
    float16 = "float16"

    @property
    def numpy(self) -> np.dtype:
        return np.dtype("<f4" if self is VectorDType.float32 else "<f2")


FLOAT16_MAX = float(np.finfo(np.float16).max)  # 65504


def narrowed(vectors: np.ndarray, dtype: VectorDType, first_row: int = 0) -> np.ndarray:
    """``vectors`` as ``dtype``, contiguous. A finite value that ``dtype`` cannot hold (beyond float16's
    +-65504) is an ``OutputError`` naming its vector (counted from 1), never a silent infinity.

    >>> narrowed(np.array([[1.0, 2.0]]), VectorDType.float16).dtype
    dtype('float16')
    """
    if dtype is VectorDType.float16 and np.size(vectors):
        wide = np.abs(np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1))
        over = (wide > FLOAT16_MAX) & np.isfinite(wide)
        if over.any():
            row = int(np.argmax(over.any(axis=1)))
            raise OutputError(
                f"vector {first_row + row + 1} holds {wide[row][over[row]].max():.6g} in a dimension, beyond "
                "float16's range (+-65504): write float32 (--dtype float32) or normalize the vectors"
            )
    return np.ascontiguousarray(vectors, dtype=dtype.numpy)


class VectorWriter:
    """Writes vectors of ``dim`` values to a binary stream, in order, as ``dtype``."""

    def __init__(self, stream: BinaryIO, dim: int, dtype: VectorDType = VectorDType.float32) -> None:
        self.stream, self.dim, self.dtype = stream, dim, dtype
        self.written = 0

    def header(self, rows: int) -> bytes:
        """The bytes before the vectors (for formats with ``needs_count``, always the same length)."""
        return b""

    def write(self, vectors: np.ndarray, positions: list[int] | None = None, ids: list[Any] | None = None) -> None:
        self.stream.write(narrowed(vectors, self.dtype, self.written).tobytes())
        self.written += len(vectors)

    def finish(self) -> None:
        self.stream.flush()


def npy_header(rows: int, dim: int, dtype: VectorDType) -> bytes:
    """A version 1.0 ``.npy`` header of ``NPY_HEADER_BYTES`` bytes, padded with spaces as the format allows.

    >>> import io, numpy as np
    >>> data = npy_header(2, 3, VectorDType.float32) + np.arange(6, dtype="<f4").tobytes()
    >>> len(npy_header(2, 3, VectorDType.float32)), np.load(io.BytesIO(data)).shape
    (128, (2, 3))
    """
    text = f"{{'descr': '{dtype.numpy.str}', 'fortran_order': False, 'shape': ({rows}, {dim}), }}"
    pad = NPY_HEADER_BYTES - 10 - len(text) - 1
    if pad < 0:
        raise OutputError(f"cannot write a .npy header for {rows:,} x {dim} vectors")
    body = (text + " " * pad + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


class NpyWriter(VectorWriter):
    def header(self, rows: int) -> bytes:
        return npy_header(rows, self.dim, self.dtype)


class SafetensorsWriter(VectorWriter):
    """A single tensor ``embeddings`` (rows x dim), the layout safetensors' readers expect; the JSON header
    is padded with spaces, as the format allows."""

    def header(self, rows: int) -> bytes:
        size = rows * self.dim * self.dtype.numpy.itemsize
        kind = "F32" if self.dtype is VectorDType.float32 else "F16"
        meta = {"embeddings": {"dtype": kind, "shape": [rows, self.dim], "data_offsets": [0, size]}}
        text = json.dumps(meta, separators=(",", ":")).encode()
        width = SAFETENSORS_HEADER_BYTES - 8
        if len(text) > width:
            raise OutputError(f"cannot write a safetensors header for {rows:,} x {self.dim} vectors")
        return struct.pack("<Q", width) + text + b" " * (width - len(text))


def _finite_or_error(values: np.ndarray, first_row: int) -> None:
    finite = np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if not finite.all():
        row = first_row + int(np.argmin(finite)) + 1
        raise OutputError(f"vector {row} holds NaN or infinity, which JSON lines cannot hold")


class JsonlWriter(VectorWriter):
    """One JSON array per line holding the exact values, or an object with the id when ids are kept. JSON
    has no NaN or infinity, so a vector holding one is an ``OutputError`` naming it (counted from 1)."""

    def write(self, vectors: np.ndarray, positions: list[int] | None = None, ids: list[Any] | None = None) -> None:
        values = narrowed(vectors, self.dtype, self.written)
        _finite_or_error(values, self.written)
        rows = values.astype(np.float64).tolist()
        if ids is None:
            lines = [json.dumps(row, allow_nan=False) for row in rows]
        else:
            lines = [json.dumps({"id": i, "vector": row}, allow_nan=False) for i, row in zip(ids, rows, strict=True)]
        if lines:
            self.stream.write(("\n".join(lines) + "\n").encode())
        self.written += len(vectors)


class ParquetWriter(VectorWriter):
    """Columns ``row`` (int64), ``id`` when ids are kept, and ``vector`` (a fixed-size list of ``dim``
    floats); rows are buffered up to ``PARQUET_GROUP_BYTES`` of vectors per row group."""

    def __init__(self, stream: BinaryIO, dim: int, dtype: VectorDType = VectorDType.float32) -> None:
        super().__init__(stream, dim, dtype)
        self._writer: Any = None
        self._parts: list[tuple[np.ndarray, list[int], list[Any] | None]] = []
        self._buffered = 0
        self._id_type: Any = None

    def write(self, vectors: np.ndarray, positions: list[int] | None = None, ids: list[Any] | None = None) -> None:
        values = narrowed(vectors, self.dtype, self.written)
        where = positions if positions is not None else list(range(self.written, self.written + len(values)))
        self._parts.append((values, where, ids))
        self._buffered += values.nbytes
        self.written += len(values)
        if self._buffered >= PARQUET_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self._parts:
            return
        import pyarrow as pa

        values = np.concatenate([p[0] for p in self._parts])
        table = vector_table(
            values,
            [r for p in self._parts for r in p[1]],
            None if self._parts[0][2] is None else [i for p in self._parts for i in (p[2] or [])],
            self._id_type,
        )
        if self._writer is None:
            import pyarrow.parquet as pq

            if "id" in table.column_names:
                self._id_type = table.schema.field("id").type
            self._writer = pq.ParquetWriter(self.stream, table.schema)
        try:
            self._writer.write_table(table)
        except pa.ArrowException as exc:
            raise OutputError(f"cannot write Parquet: {first_line(exc)}") from exc
        self._parts, self._buffered = [], 0

    def finish(self) -> None:
        self._flush()
        if self._writer is None:  # no rows: still a valid file with the columns
            self._writer = _empty_writer(self.stream, self.dim, self.dtype)
        self._writer.close()
        self.stream.flush()


def vector_table(values: np.ndarray, positions: list[int], ids: list[Any] | None, id_type: Any = None) -> Any:
    """A pyarrow table of ``row``, ``id`` (when given) and ``vector`` (fixed-size list) columns."""
    import pyarrow as pa

    flat = pa.array(values.reshape(-1))
    columns = {"row": pa.array(positions, type=pa.int64())}
    if ids is not None:
        try:
            columns["id"] = pa.array(ids, type=id_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise InputError(
                f"ids must all be text or all be whole numbers, as the first was ({id_type or 'mixed'})"
            ) from exc
    columns["vector"] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    return pa.table(columns)


def _empty_writer(stream: BinaryIO, dim: int, dtype: VectorDType) -> Any:
    import pyarrow.parquet as pq

    table = vector_table(np.zeros((0, dim), dtype=dtype.numpy), [], None)
    writer = pq.ParquetWriter(stream, table.schema)
    writer.write_table(table)
    return writer


def make_writer(
    fmt: OutputFormat, stream: BinaryIO, dim: int, dtype: VectorDType = VectorDType.float32
) -> VectorWriter:
    cls: dict[OutputFormat, type[VectorWriter]] = {
        OutputFormat.npy: NpyWriter,
        OutputFormat.jsonl: JsonlWriter,
        OutputFormat.safetensors: SafetensorsWriter,
        OutputFormat.parquet: ParquetWriter,
    }
    return cls[fmt](stream, dim, dtype)
