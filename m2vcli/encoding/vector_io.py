"""Streaming writers for encoded vectors: ``.npy``, JSON lines and safetensors.

Each writer learns the final shape up front (the number of input lines is known before encoding starts)
and then takes the vectors batch by batch, so no second full copy of the vectors is ever held.
"""

from __future__ import annotations

import json
import struct
from enum import Enum
from typing import BinaryIO

import numpy as np

from m2vcli.errors import OutputError


class OutputFormat(str, Enum):
    npy = "npy"
    jsonl = "jsonl"
    safetensors = "safetensors"

    @property
    def is_binary(self) -> bool:
        return self is not OutputFormat.jsonl

    @classmethod
    def from_suffix(cls, suffix: str) -> OutputFormat | None:
        return {".npy": cls.npy, ".jsonl": cls.jsonl, ".safetensors": cls.safetensors}.get(suffix.lower())


class VectorWriter:
    """Writes ``rows`` vectors of ``dim`` float32 values to a binary stream, in order."""

    def __init__(self, stream: BinaryIO, rows: int, dim: int) -> None:
        self.stream, self.rows, self.dim = stream, rows, dim
        self.written = 0

    def header(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def write(self, vectors: np.ndarray) -> None:
        self.stream.write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
        self.written += len(vectors)

    def finish(self) -> None:
        if self.written != self.rows:
            raise RuntimeError(f"wrote {self.written} rows, announced {self.rows}")
        self.stream.flush()


class NpyWriter(VectorWriter):
    def header(self) -> None:
        from numpy.lib import format as npy_format

        header = {"descr": "<f4", "fortran_order": False, "shape": (self.rows, self.dim)}
        npy_format.write_array_header_1_0(self.stream, header)


class SafetensorsWriter(VectorWriter):
    """A single tensor ``embeddings`` (float32, rows x dim), the layout safetensors' readers expect."""

    def header(self) -> None:
        size = self.rows * self.dim * 4
        meta = {"embeddings": {"dtype": "F32", "shape": [self.rows, self.dim], "data_offsets": [0, size]}}
        text = json.dumps(meta, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
        self.stream.write(struct.pack("<Q", len(text)) + text)


class JsonlWriter(VectorWriter):
    """One JSON array per line holding the exact float32 values. JSON has no NaN or infinity, so a vector
    holding one is an ``OutputError`` naming it (counted from 1), never an invalid line."""

    def header(self) -> None:
        pass

    def write(self, vectors: np.ndarray) -> None:
        values = np.asarray(vectors, dtype=np.float32)
        finite = np.isfinite(values.reshape(len(values), -1)).all(axis=1)
        if not finite.all():
            row = self.written + int(np.argmin(finite)) + 1
            raise OutputError(f"vector {row} holds NaN or infinity, which JSON lines cannot hold")
        lines = [json.dumps(row, allow_nan=False) for row in values.astype(np.float64).tolist()]
        if lines:
            self.stream.write(("\n".join(lines) + "\n").encode())
        self.written += len(vectors)


def make_writer(fmt: OutputFormat, stream: BinaryIO, rows: int, dim: int) -> VectorWriter:
    cls = {OutputFormat.npy: NpyWriter, OutputFormat.jsonl: JsonlWriter, OutputFormat.safetensors: SafetensorsWriter}
    return cls[fmt](stream, rows, dim)
