"""Building an index (``m2v index``): texts read through the one input layer, encoded chunk by chunk and
written as they come, so memory follows one chunk; the folder appears whole or not at all."""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from m2vcli.callbacks import OnProgress
from m2vcli.config import coerce_enum
from m2vcli.errors import ConfigError, InputError, MissingValueError, OutputError
from m2vcli.files import atomic_folder, check_not_read, local_path
from m2vcli.model import DEFAULT_BATCH_SIZE, StaticEmbedder
from m2vcli.search.index import MANIFEST, IndexWriter
from m2vcli.texts import InputFormat, ReadSettings, choose_input_format, count_rows, open_input, read_chunks


@dataclass(frozen=True)
class IndexConfig:
    """Settings of ``m2v index``."""

    model: str | None = None
    input: str | None = None  # a file; None or "-": standard input
    output: str | None = None
    field: str | None = None  # the text's JSON field or CSV/Parquet column (default: "text")
    id_field: str | None = None  # kept as each result's id (default: the row number)
    input_format: InputFormat | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    force: bool = False  # replace an output folder that is not an index

    def __post_init__(self) -> None:
        coerce_enum(self, "input_format", InputFormat)
        if not self.model:
            raise MissingValueError("no model given: pass --model PATH (a model folder or hub id)", option="--model")
        if not self.output:
            raise MissingValueError("no output given: pass -o FOLDER (the index to write)", option="--output")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, not {self.batch_size!r}", key="batch_size")


@dataclass(frozen=True)
class IndexResult:
    rows: int
    dims: int
    output: str
    manifest: dict[str, Any] = dataclasses.field(default_factory=dict)


def check_index_target(target: Path, force: bool, reads: list[Any]) -> None:
    """Refuse an output that is a file, holds or is what the command reads, or is a non-empty folder that
    is not an index (unless forced)."""
    check_not_read(target, reads, "output")
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        raise OutputError(f"{target} exists and is a file, not a folder")
    try:
        empty = not any(target.iterdir())
    except OSError as exc:
        raise OutputError(f"cannot read {target}: {exc.strerror or exc}") from exc
    if not empty and not (target / MANIFEST).is_file() and not force:
        raise OutputError(f"{target} exists and is not an index; choose another path or pass --force")


def build_index(
    config: IndexConfig | None = None,
    *,
    model: StaticEmbedder | None = None,
    stdin: BinaryIO | None = None,
    on_progress: OnProgress | None = None,
    **settings: Any,
) -> IndexResult:
    """Encode every text of ``config.input`` with the model and write the index folder ``config.output``
    (see ``m2vcli.search.index``). ``model``: the model already loaded (``config.model`` names it);
    ``on_progress(done, total)`` hears the texts indexed after each chunk (total 0: not known)."""
    cfg = config or IndexConfig(**settings)
    reading_stdin = cfg.input in (None, "-")
    name = None if reading_stdin else cfg.input
    fmt = choose_input_format(cfg.input_format, name, bool(cfg.field or cfg.id_field))
    if fmt is InputFormat.parquet and reading_stdin:
        raise ConfigError("Parquet input must be a file, not standard input")
    if not fmt.has_fields and (cfg.field or cfg.id_field):
        raise ConfigError(f"--field and --id-field apply to jsonl, csv, tsv and parquet input, not {fmt.value}")
    target = Path(str(cfg.output))
    check_index_target(target, cfg.force, [None if reading_stdin else cfg.input, local_path(cfg.model)])
    loaded = model if model is not None else StaticEmbedder.from_pretrained(str(cfg.model))
    source = stdin if reading_stdin else None
    if reading_stdin and source is None:
        source = getattr(sys.stdin, "buffer", None)
        if source is None:
            raise InputError("cannot read standard input: it is closed; give an input file")
    read = ReadSettings(
        format=fmt,
        field=cfg.field or "text",
        id_field=cfg.id_field,
        max_chars=loaded.longest_text(),
        rows=cfg.batch_size,
        name="standard input" if reading_stdin else f"input {cfg.input}",
    )
    progress = on_progress or (lambda done, total: None)
    model_name = local_path(cfg.model) or str(cfg.model)
    manifest: dict[str, Any] = {}

    def fill(folder: Path) -> None:
        nonlocal manifest
        stream = source if source is not None else open_input(str(cfg.input))
        total = _count(stream, read) if source is None else 0
        writer = IndexWriter(folder, loaded, model_name, {"text": read.field, "id": cfg.id_field})
        try:
            chunks = read_chunks(stream, read)  # tokenized a chunk ahead, on threads, as encode does
            for chunk, vectors in loaded.encode_stream(chunks, texts=lambda c: c.texts, normalize=True):
                writer.add(vectors, chunk.texts, chunk.ids)
                progress(writer.rows, total)
            manifest = writer.finish()
        finally:
            writer.close()
            if stream is not source:
                stream.close()

    atomic_folder(target, fill)  # an empty input gives an empty index: every search finds nothing
    return IndexResult(rows=manifest["rows"], dims=manifest["dims"], output=str(target), manifest=manifest)


def _count(stream: BinaryIO, read: ReadSettings) -> int:
    """How many texts a seekable plain-text or Parquet input holds (a newline count, the row count); 0
    where that is not cheap to know."""
    if not stream.seekable() or read.format not in (InputFormat.text, InputFormat.parquet):
        return 0
    start = stream.tell()
    try:
        return count_rows(stream, read)
    except OSError as exc:
        raise InputError(f"cannot read {read.name}: {exc.strerror or exc}") from exc
    finally:
        stream.seek(start)
