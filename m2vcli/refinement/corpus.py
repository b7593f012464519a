"""The texts a model is refined on: a text file (one text per line), JSONL, CSV/TSV or Parquet with a
named text field, a folder or glob of such files, or a hub data set read by streaming.

Reading is strict in the same way as ``m2v encode``: invalid UTF-8 names its file and line, binary files
and missing fields are one-line errors. Blank texts are dropped; ``max_texts`` keeps a seeded sample.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from m2vcli.errors import HubError, InputError, first_line
from m2vcli.files import decode_utf8, read_bytes

TEXT_SUFFIXES = (".txt", ".text")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv", ".tsv")
PARQUET_SUFFIXES = (".parquet",)
KNOWN_SUFFIXES = TEXT_SUFFIXES + JSONL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES
MAX_FILE_BYTES = 8 * 1024**3  # one corpus file; a file is read whole, a hub data set is streamed
HUB_PREFIX = "hf:"


@dataclass(frozen=True)
class Corpus:
    """Texts with where they came from and a hash of their content (which keys the feature cache)."""

    name: str
    texts: list[str]
    sources: int
    content_hash: str

    def __len__(self) -> int:
        return len(self.texts)


def content_hash(texts: list[str]) -> str:
    """A sha256 over the texts in order (a length prefix per text, so ``["ab"]`` and ``["a", "b"]`` differ).

    >>> content_hash(["ab"]) != content_hash(["a", "b"])
    True
    """
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def read_corpus(source: str, *, field: str = "text", max_texts: int | None = None, seed: int = 0) -> Corpus:
    """All non-blank texts of ``source``; with ``max_texts``, a seeded sample of that many (in their order)."""
    if not source or not str(source).strip():
        raise InputError("no corpus given: pass --corpus FILE, FOLDER, GLOB or hf:DATASET")
    if source.startswith(HUB_PREFIX):
        texts = list(_hub_texts(source[len(HUB_PREFIX) :], field, max_texts, seed))
        files = 1
    else:
        paths = corpus_files(source)
        texts = []
        for path in paths:
            texts += [t for t in (s.strip() for s in read_file(path, field)) if t]
        files = len(paths)
    if not texts:
        raise InputError(f"corpus {source} holds no text (only blank lines or empty {field!r} values)")
    if max_texts is not None and len(texts) > max_texts:
        keep = sorted(random.Random(seed).sample(range(len(texts)), max_texts))
        texts = [texts[i] for i in keep]
    return Corpus(name=source, texts=texts, sources=files, content_hash=content_hash(texts))


def corpus_files(source: str) -> list[Path]:
    """The files a corpus source names: a file, every known file under a folder, or a glob's matches."""
    path = Path(source).expanduser()
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in KNOWN_SUFFIXES)
        if not found:
            raise InputError(f"corpus folder {path} holds no {', '.join(KNOWN_SUFFIXES)} files")
        return found
    if path.exists():
        return [path]
    if any(c in source for c in "*?["):
        found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not found:
            raise InputError(f"corpus pattern {source} matches no file")
        return found
    raise InputError(f"corpus {source} does not exist (give a file, a folder, a glob or hf:DATASET)")


def read_file(path: Path, field: str) -> list[str]:
    """The texts of one corpus file, by its extension (anything unknown is read as one text per line)."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _parquet_texts(path, field)
    data = read_bytes(path, "corpus file", MAX_FILE_BYTES)
    if b"\x00" in data:
        raise InputError(f"corpus file {path} is binary, not text")
    text = decode_utf8(data, f"corpus file {path}", hint="fix the file")
    if suffix in JSONL_SUFFIXES:
        return _jsonl_texts(path, text, field)
    if suffix in CSV_SUFFIXES:
        return _csv_texts(path, text, field, "\t" if suffix == ".tsv" else ",")
    return text.splitlines()


def _jsonl_texts(path: Path, text: str, field: str) -> list[str]:
    texts = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise InputError(f"corpus file {path} line {number} is not valid JSON") from exc
        if not isinstance(record, dict) or field not in record:
            raise InputError(f"corpus file {path} line {number} has no {field!r} field (choose one with --text-field)")
        value = record[field]
        if not isinstance(value, str):
            raise InputError(
                f"corpus file {path} line {number}: {field!r} must be a string, got {type(value).__name__}"
            )
        texts.append(value)
    return texts


def _csv_texts(path: Path, text: str, field: str, delimiter: str) -> list[str]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = reader.fieldnames or []
    if field not in columns:
        raise InputError(
            f"corpus file {path} has no {field!r} column (it has: {', '.join(columns[:10]) or 'none'}); "
            "choose one with --text-field"
        )
    try:
        return [row[field] or "" for row in reader]
    except csv.Error as exc:
        raise InputError(f"corpus file {path} line {reader.line_num} is not valid CSV: {exc}") from exc


def _parquet_texts(path: Path, field: str) -> list[str]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputError("reading Parquet needs pyarrow: pip install pyarrow") from exc
    try:
        parquet = pq.ParquetFile(path)
        columns = parquet.schema_arrow.names
        if field not in columns:
            raise InputError(
                f"corpus file {path} has no {field!r} column (it has: {', '.join(columns[:10])}); "
                "choose one with --text-field"
            )
        values = parquet.read(columns=[field]).column(field).to_pylist()
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read corpus file {path} as Parquet: {exc}") from exc
    except Exception as exc:  # pyarrow raises its own ArrowInvalid for a file that is not Parquet
        raise InputError(f"corpus file {path} is not a valid Parquet file: {str(exc)[:160]}") from exc
    if any(v is not None and not isinstance(v, str) for v in values):
        raise InputError(f"corpus file {path}: column {field!r} must hold strings")
    return [v or "" for v in values]


def _hub_texts(dataset: str, field: str, max_texts: int | None, seed: int) -> Iterator[str]:
    """Texts of a hub data set (``org/name``, ``org/name:config`` or ``org/name:config:split``), streamed."""
    from m2vcli.hub import stream_dataset

    parts = dataset.split(":")
    name, config, split = parts[0], (parts[1] if len(parts) > 1 else None), (parts[2] if len(parts) > 2 else "train")
    rows = stream_dataset(name, config, split)
    limit = None if max_texts is None else max_texts * 4  # a sample of a stream: read a few times what is kept
    count = 0
    while limit is None or count < limit:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # a stream fails while it is read (the network went away)
            raise HubError(f"data set {name} stopped after {count:,} rows: {first_line(exc, 160)}") from exc
        count += 1
        if not isinstance(row, dict) or field not in row:
            raise InputError(f"data set {name} has no {field!r} field (choose one with --text-field)")
        value = row[field]
        if isinstance(value, str) and value.strip():
            yield value.strip()
