"""Searching an index (``m2v search``): queries from the command line, a file or standard input, in batches,
each answered with its ``k`` nearest texts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from m2vcli.config import coerce_enum
from m2vcli.errors import ConfigError, InputError, MissingValueError
from m2vcli.model import StaticEmbedder
from m2vcli.search.index import Hit, Index
from m2vcli.texts import ReadSettings, iter_lines, open_input

QUERY_BATCH = 256  # queries encoded and scored at once
MAX_K = 10_000
MAX_QUERY_CHARS = 1 << 16  # a longer query line is cut (its first tokens decide its vector)


@dataclass(frozen=True)
class SearchConfig:
    """Settings of ``m2v search``."""

    index: str | None = None
    queries: tuple[str, ...] = ()  # queries given on the command line
    queries_file: str | None = None  # one query per line; "-": standard input
    k: int = 10
    model: str | None = None  # default: the model the index records
    format: str = "table"  # table, markdown, csv, json or jsonl

    def __post_init__(self) -> None:
        from m2vcli.tables import TableFormat

        if isinstance(self.queries, str):
            object.__setattr__(self, "queries", (self.queries,))
        object.__setattr__(self, "queries", tuple(self.queries or ()))
        if not self.index:
            raise MissingValueError("no index given: name the folder m2v index wrote", option="INDEX")
        if self.queries and self.queries_file:
            raise ConfigError("give queries as arguments or with --queries, not both")
        if isinstance(self.k, bool) or not isinstance(self.k, int) or not 1 <= self.k <= MAX_K:
            raise ConfigError(f"k must be a whole number from 1 to {MAX_K:,}, not {self.k!r}", key="k")
        if self.format != "jsonl":
            coerce_enum(self, "format", TableFormat)
            object.__setattr__(self, "format", TableFormat(self.format).value)


def query_batches(cfg: SearchConfig, stdin: BinaryIO | None = None) -> Iterator[list[str]]:
    """The queries, ``QUERY_BATCH`` at a time: the arguments, else the lines of ``--queries`` (a file or
    ``-``), else standard input; blank lines are skipped."""
    if cfg.queries:
        for start in range(0, len(cfg.queries), QUERY_BATCH):
            yield list(cfg.queries[start : start + QUERY_BATCH])
        return
    reading_stdin = cfg.queries_file in (None, "-")
    stream = stdin if reading_stdin else None
    if reading_stdin and stream is None:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise InputError("no query given: pass QUERY, --queries FILE, or queries on standard input")
    assert reading_stdin or cfg.queries_file is not None
    source = stream if stream is not None else open_input(str(cfg.queries_file), "queries file")
    name = "standard input" if reading_stdin else f"queries file {cfg.queries_file}"
    batch: list[str] = []
    try:
        for text in iter_lines(source, ReadSettings(name=name, max_chars=MAX_QUERY_CHARS)):
            if text.strip():
                batch.append(text)
            if len(batch) == QUERY_BATCH:
                yield batch
                batch = []
    finally:
        if source is not stream:
            source.close()
    if batch:
        yield batch


def open_for_search(
    cfg: SearchConfig, load_model: Any = StaticEmbedder.from_pretrained
) -> tuple[Index, StaticEmbedder]:
    """The index and the model to encode queries with (``--model``, else the one the index records),
    checked to be the model that built it before any query is read."""
    index = Index(str(cfg.index))
    model = load_model(cfg.model or index.model_name)
    index.check_model(model, cfg.model or index.model_name)
    return index, model


def search_all(
    index: Index, model: StaticEmbedder, batches: Iterator[list[str]], k: int
) -> Iterator[tuple[str, list[Hit]]]:
    """Each query with its hits, in the order given."""
    seen = 0
    for batch in batches:
        results = index.search(model, batch, k, number_from=seen + 1)
        seen += len(batch)
        yield from zip(batch, results, strict=True)
    if not seen:
        raise InputError("no query given: pass QUERY, --queries FILE, or queries on standard input")
