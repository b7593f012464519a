"""The texts a model is refined on: a text file (one text per line), JSONL, CSV/TSV or Parquet with a
named text field, a folder or glob of such files, or a hub data set read by streaming.

Files are read through ``m2vcli.texts``, with the same rules and messages as ``m2v encode``. Blank texts
are dropped; ``max_texts`` keeps a seeded sample.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

from m2vcli.errors import HubError, InputError, first_line
from m2vcli.files import local_path
from m2vcli.texts import MAX_RECORD_BYTES, ReadSettings, gather_texts, list_inputs

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


def corpus_reads(source: str | None) -> list[str | None]:
    """The local files and folders a corpus source names (none for a hub data set): outputs must be none
    of them."""
    if not source or source.startswith(HUB_PREFIX):
        return []
    return [local_path(source), *(local_path(p) for p in list_inputs(source, what="corpus"))]


def read_corpus(source: str, *, field: str = "text", max_texts: int | None = None, seed: int = 0) -> Corpus:
    """All non-blank texts of ``source``; with ``max_texts``, a seeded sample of that many (in their order)."""
    if not source or not str(source).strip():
        raise InputError("no corpus given: pass --corpus FILE, FOLDER, GLOB or hf:DATASET")
    if source.startswith(HUB_PREFIX):
        texts = list(_hub_texts(source[len(HUB_PREFIX) :], field, max_texts, seed))
        files = 1
    else:
        gathered = gather_texts(source, ReadSettings(field=field, max_chars=MAX_RECORD_BYTES, rows=4096))
        texts, files = gathered.texts, gathered.files
    if not texts:
        raise InputError(f"corpus {source} holds no text (only blank lines or empty {field!r} values)")
    if max_texts is not None and len(texts) > max_texts:
        keep = sorted(random.Random(seed).sample(range(len(texts)), max_texts))
        texts = [texts[i] for i in keep]
    return Corpus(name=source, texts=texts, sources=files, content_hash=content_hash(texts))


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
        if not isinstance(value, str):
            kind = "null" if value is None else type(value).__name__
            raise InputError(f"data set {name} row {count}: {field!r} holds {kind}, not text")
        if value.strip():
            yield value.strip()
