"""A search index: the vectors of a collection of texts, with their ids and texts, searched by exact cosine.

An index is a folder, written atomically:

- ``index.json``: the format, the number of rows and dims, and the model that built it (its name and a
  fingerprint of its table and tokenizer), so that a query from another model is refused;
- ``vectors.npy``: float32, one L2-normalized row per text (a text with no known token is a zero row);
- ``records.jsonl``: one ``{"id": ..., "text": ...}`` per row; ``offsets.npy``: int64, where each record
  starts, and the file's length last.

``vectors.npy`` is memory-mapped and scanned in blocks of ``BLOCK_ROWS`` rows, so memory stays flat
whatever the index holds; only the records of the results are read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from m2vcli.errors import ConfigError, InputError
from m2vcli.files import read_limited
from m2vcli.model import StaticEmbedder
from m2vcli.version import __version__

FORMAT = "m2v-index"
VERSION = 1
BLOCK_ROWS = 32_768  # rows scored at once: 32 MB of float32 at 256 dims
MANIFEST = "index.json"
VECTORS = "vectors.npy"
RECORDS = "records.jsonl"
OFFSETS = "offsets.npy"
MANIFEST_LIMIT = 1 << 20


def fingerprint(model: StaticEmbedder) -> str:
    """A digest of what decides a model's vectors: its table (with weights and mapping) and tokenizer."""
    digest = hashlib.sha256()
    for part in (model.embeddings, model.weights, model.mapping):
        if part is not None:
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
    digest.update(model.tokenizer_json.encode())
    digest.update(b"normalize" if model.normalize else b"")
    return digest.hexdigest()


def npy_header(shape: tuple[int, ...], descr: str) -> bytes:
    """A version 1.0 ``.npy`` header padded to 128 bytes, so it can be rewritten once the count is known."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    body = (text + " " * (128 - 10 - len(text) - 1) + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body


@dataclass(frozen=True)
class Hit:
    """One result: the row in the index, its cosine similarity to the query, its id and text."""

    row: int
    score: float
    id: Any
    text: str


class IndexWriter:
    """Writes an index folder's files as vectors and records come; ``finish`` writes the counts and the
    manifest. Memory: one batch."""

    def __init__(self, folder: Path, model: StaticEmbedder, model_name: str, fields: dict[str, str | None]) -> None:
        self.folder, self.model, self.model_name, self.fields = folder, model, model_name, fields
        self.rows = 0
        self._vectors = (folder / VECTORS).open("wb")
        self._records = (folder / RECORDS).open("wb")
        self._offsets = (folder / OFFSETS).open("wb")
        self._vectors.write(npy_header((0, model.dim), "<f4"))
        self._offsets.write(npy_header((1,), "<i8"))
        self._offsets.write(np.zeros(1, dtype="<i8").tobytes())
        self._at = 0

    def add(self, vectors: np.ndarray, texts: Sequence[str], ids: Sequence[Any] | None) -> None:
        """Append L2-normalized ``vectors`` (zero rows for texts with no known token) with their records."""
        vectors = np.asarray(vectors, dtype="<f4")  # normalized by the caller (encode(normalize=True))
        self._vectors.write(vectors.tobytes())
        ends = []
        lines = []
        for i, text in enumerate(texts):
            line = json.dumps({"id": ids[i] if ids is not None else self.rows + i, "text": text}, ensure_ascii=False)
            data = (line + "\n").encode("utf-8")
            lines.append(data)
            self._at += len(data)
            ends.append(self._at)
        self._records.write(b"".join(lines))
        self._offsets.write(np.asarray(ends, dtype="<i8").tobytes())
        self.rows += len(texts)

    def finish(self) -> dict[str, Any]:
        for handle, header in (
            (self._vectors, npy_header((self.rows, self.model.dim), "<f4")),
            (self._offsets, npy_header((self.rows + 1,), "<i8")),
        ):
            handle.seek(0)
            handle.write(header)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "rows": self.rows,
            "dims": self.model.dim,
            "model": self.model_name,
            "model_fingerprint": fingerprint(self.model),
            "fields": self.fields,
            "m2v_version": __version__,
        }
        (self.folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        self.close()
        return manifest

    def close(self) -> None:
        for handle in (self._vectors, self._records, self._offsets):
            handle.close()


class Index:
    """An index folder opened for search (see the module's docstring); ``Index(path)`` checks it whole
    (manifest, shapes, offsets) and maps the vectors without reading them."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._matched: StaticEmbedder | None = None
        if not self.path.is_dir():
            what = "does not exist" if not self.path.exists() else "is not a folder"
            raise InputError(f"index {self.path} {what} (build one with m2v index)")
        manifest = self._manifest()
        self.rows: int = manifest["rows"]
        self.dims: int = manifest["dims"]
        self.model_name: str = manifest["model"]
        self.model_fingerprint: str = manifest["model_fingerprint"]
        self.fields: dict[str, Any] = manifest.get("fields") or {}
        self.vectors = self._array(VECTORS, (self.rows, self.dims), np.float32)
        self.offsets = np.asarray(self._array(OFFSETS, (self.rows + 1,), np.int64))
        records = self.path / RECORDS
        size = records.stat().st_size if records.is_file() else -1
        ends = self.offsets
        if size != int(ends[-1]) or ends[0] != 0 or (len(ends) > 1 and bool((np.diff(ends) <= 0).any())):
            raise InputError(f"index {self.path} is damaged: {RECORDS} does not match {OFFSETS} (rebuild it)")

    def __len__(self) -> int:
        return self.rows

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r}, rows={self.rows:,}, dims={self.dims}, model={self.model_name!r})"

    def _damaged(self, why: str) -> InputError:
        return InputError(f"index {self.path} is damaged: {why} (rebuild it with m2v index)")

    def _manifest(self) -> dict[str, Any]:
        file = self.path / MANIFEST
        if not file.is_file():
            raise InputError(f"{self.path} is not an m2v index: it has no {MANIFEST} (build one with m2v index)")
        try:
            manifest = json.loads(read_limited(file, "index manifest", MANIFEST_LIMIT))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise self._damaged(f"{MANIFEST} is not valid JSON") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise InputError(f"{self.path} is not an m2v index ({MANIFEST} does not say format {FORMAT!r})")
        if manifest.get("version") != VERSION:
            raise InputError(
                f"index {self.path} has format version {manifest.get('version')!r}; this m2v reads version {VERSION}"
            )
        for key, least in (("rows", 0), ("dims", 1)):
            value = manifest.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise self._damaged(f"{MANIFEST} has no valid {key!r}")
        for key in ("model", "model_fingerprint"):
            if not isinstance(manifest.get(key), str) or not manifest[key]:
                raise self._damaged(f"{MANIFEST} has no valid {key!r}")
        return manifest

    def _array(self, name: str, shape: tuple[int, ...], dtype: type[np.generic]) -> np.ndarray:
        try:
            array = np.load(self.path / name, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError as exc:
            raise self._damaged(f"{name} is missing") from exc
        except (ValueError, OSError, EOFError) as exc:  # a truncated or foreign file
            raise self._damaged(f"{name} cannot be read ({exc})") from exc
        if array.shape != shape or array.dtype != np.dtype(dtype):
            raise self._damaged(f"{name} holds {array.shape} {array.dtype}, not {shape} {np.dtype(dtype)}")
        return array

    def check_model(self, model: StaticEmbedder, name: str | None = None) -> None:
        """Refuse a model other than the one that built the index: its vectors would be meaningless here.
        The model last found to match is remembered, so a search per query does not hash its table again."""
        if model is self._matched:
            return
        if model.dim != self.dims or fingerprint(model) != self.model_fingerprint:
            raise ConfigError(
                f"index {self.path} was built with {self.model_name}, and {name or 'this model'} is another model "
                "(its vectors cannot be compared); search with the index's model or rebuild the index"
            )
        self._matched = model

    def search_vectors(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best rows for each query vector, by cosine, best first (ties: lower row first): two
        ``(n_queries, min(k, rows))`` arrays, scores and rows."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"k must be a whole number of at least 1, not {k!r}")
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if queries.shape[1] != self.dims:
            raise ConfigError(f"query vectors have {queries.shape[1]} dims; the index has {self.dims}")
        norms = np.linalg.norm(queries, axis=1, keepdims=True)
        queries = np.divide(queries, norms, out=np.zeros_like(queries), where=norms > 0)
        k = min(int(k), self.rows)
        n = len(queries)
        if k == 0:  # an empty index
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        best_scores = np.full((n, 0), -np.inf, dtype=np.float32)
        best_rows = np.zeros((n, 0), dtype=np.int64)
        for start in range(0, self.rows, BLOCK_ROWS):
            block = np.asarray(self.vectors[start : start + BLOCK_ROWS])
            scores = queries @ block.T  # (n, block)
            if scores.shape[1] > k:
                top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
                scores = np.take_along_axis(scores, top, axis=1)
                rows = top + start
            else:
                rows = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
            best_scores = np.concatenate([best_scores, scores], axis=1)
            best_rows = np.concatenate([best_rows, rows], axis=1)
            if best_scores.shape[1] > k:
                top = np.argpartition(-best_scores, k - 1, axis=1)[:, :k]
                best_scores = np.take_along_axis(best_scores, top, axis=1)
                best_rows = np.take_along_axis(best_rows, top, axis=1)
        order = np.lexsort((best_rows, -best_scores), axis=1) if n else best_rows
        return np.take_along_axis(best_scores, order, axis=1), np.take_along_axis(best_rows, order, axis=1)

    def records(self, rows: Sequence[int]) -> list[dict[str, Any]]:
        """The records (``id``, ``text``) of ``rows``, read from their offsets only."""
        out = []
        with (self.path / RECORDS).open("rb") as handle:
            for row in rows:
                out.append(self._record(handle, int(row)))
        return out

    def _record(self, handle: BinaryIO, row: int) -> dict[str, Any]:
        start, end = int(self.offsets[row]), int(self.offsets[row + 1])
        handle.seek(start)
        try:
            record = json.loads(handle.read(end - start))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise self._damaged(f"record {row + 1} of {RECORDS} is not valid JSON") from exc
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise self._damaged(f"record {row + 1} of {RECORDS} has no text")
        return record

    def search(
        self,
        model: StaticEmbedder,
        queries: str | Sequence[str],
        k: int = 10,
        *,
        model_name: str | None = None,
        number_from: int = 1,
    ) -> list[list[Hit]]:
        """The ``k`` best texts for each query (a text or a list of texts), encoded with ``model`` (the
        index's own model: another is refused). An empty query, or one with no token the model knows, is an
        error naming the query by its number (counted from ``number_from``)."""
        texts = [queries] if isinstance(queries, str) else list(queries)
        for i, text in enumerate(texts, number_from):
            if not isinstance(text, str):
                raise ConfigError(f"query {i} is {type(text).__name__}, not text")
            if not text.strip():
                raise InputError(f"query {i} is empty")
        self.check_model(model, model_name)
        vectors = model.encode(texts, normalize=True) if texts else np.zeros((0, self.dims), np.float32)
        for i, vector in enumerate(np.atleast_2d(vectors)):
            if not vector.any():
                raise InputError(f"query {i + number_from} ({texts[i][:40]!r}) has no token the model knows")
        scores, rows = self.search_vectors(vectors, k)
        results = []
        for query_scores, query_rows in zip(scores, rows, strict=True):
            found = self.records(query_rows)
            results.append(
                [
                    Hit(int(row), float(score), record.get("id"), record["text"])
                    for row, score, record in zip(query_rows, query_scores, found, strict=True)
                ]
            )
        return results
