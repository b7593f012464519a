"""Reading texts to encode, a batch at a time, from any input size.

An input is plain text (one text per line), JSON lines (a named field), CSV or TSV (a named column, the
first row naming the columns) or Parquet (a named column). Each reader yields ``Chunk``s of at most
``rows`` texts with their input positions (0-based: the line number for text and JSON lines, the record
number for CSV and Parquet) and, when asked, an id taken from another field or column. Memory is bounded by
one chunk, whatever the input's size: nothing reads an input whole.

A text longer than ``max_chars`` characters is cut to that many as it is read; a line that long is never
held whole (its rest is only checked for valid UTF-8). ``StaticEmbedder.longest_text`` gives the cut that
keeps every token the model would use, so the vectors are the same as from the whole text.

Nothing here imports torch; pyarrow is imported only for Parquet.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

from m2vcli.errors import ConfigError, InputError, first_line
from m2vcli.files import utf8_error

READ_BYTES = 1 << 20  # input is read in blocks of this size (and a long line's rest, while it is skipped)
BOM = b"\xef\xbb\xbf"
DEFAULT_FIELD = "text"


class InputFormat(str, Enum):
    text = "text"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"

    @property
    def has_fields(self) -> bool:
        return self is not InputFormat.text

    @classmethod
    def from_suffix(cls, name: str) -> InputFormat | None:
        suffix = Path(name).suffix.lower()
        return {
            ".txt": cls.text,
            ".jsonl": cls.jsonl,
            ".ndjson": cls.jsonl,
            ".json": cls.jsonl,
            ".csv": cls.csv,
            ".tsv": cls.tsv,
            ".parquet": cls.parquet,
            ".pq": cls.parquet,
        }.get(suffix)


def choose_input_format(explicit: InputFormat | None, name: str | None, field_given: bool) -> InputFormat:
    """An explicit format wins; else the file's extension; else JSON lines when a field is named, else text.

    >>> choose_input_format(None, "data/part-0.parquet", False).value
    'parquet'
    >>> choose_input_format(None, None, True).value
    'jsonl'
    >>> choose_input_format(None, "notes.txt", False).value
    'text'
    """
    if explicit is not None:
        return explicit
    found = InputFormat.from_suffix(name) if name and name != "-" else None
    if found is not None:
        return found
    return InputFormat.jsonl if field_given else InputFormat.text


@dataclass
class Chunk:
    """Consecutive texts of an input: ``positions[i]`` is where ``texts[i]`` stands in it (0-based)."""

    texts: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    ids: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class ReadSettings:
    """How an input is read: its format, the text's field or column, the id's, and the limits."""

    format: InputFormat = InputFormat.text
    field: str = DEFAULT_FIELD
    id_field: str | None = None
    errors: str = "strict"  # or "replace": invalid UTF-8
    max_chars: int | None = None  # texts are cut to this many characters; None: never
    rows: int = 1024  # texts per chunk
    name: str = "input"  # how messages name the input


class _RawReader(io.RawIOBase):
    """Any object with ``read(n)`` (a pyarrow stream, a socket file) as a raw stream for ``BufferedReader``."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def buffered(stream: Any) -> BinaryIO:
    """``stream`` itself when it can read lines fast, else wrapped so that it can."""
    if isinstance(stream, (io.BufferedReader, io.BytesIO)):
        return stream
    return io.BufferedReader(_RawReader(stream), buffer_size=READ_BYTES)


def _utf8_error(settings: ReadSettings, line: int, data: bytes, exc: UnicodeDecodeError) -> InputError:
    return utf8_error(settings.name, line, data[exc.start], "fix the input or pass --errors replace")


def iter_lines(stream: BinaryIO, settings: ReadSettings, *, cut: bool = True) -> Iterator[str]:
    """The input's lines, decoded (``\\n`` or ``\\r\\n`` ends a line; a final newline ends the last one).

    The input is read in blocks of ``READ_BYTES``, each block's whole lines decoded at once. With ``cut``
    and ``settings.max_chars``, a line is cut to that many characters, and a line longer than four bytes per
    character allows is not kept whole: its first part is decoded, the rest only checked.
    """
    max_chars = settings.max_chars if cut else None
    limit = max_chars * 4 + 4 if max_chars is not None else None
    number = 0  # lines yielded so far
    pending: list[bytes] = []  # the start of a line that no block has ended yet
    pending_size = 0
    first = True
    while True:
        block = stream.read(READ_BYTES)
        if first:
            first = False
            if block.startswith(BOM):
                block = block[3:]
        if not block:
            break
        end = block.rfind(b"\n")
        if end < 0:
            pending.append(block)
            pending_size += len(block)
            if limit is not None and pending_size >= limit:  # a long line: keep its start, check the rest
                number += 1
                yield _long_line(stream, b"".join(pending), number, settings)
                pending, pending_size = [], 0
            continue
        data = b"".join([*pending, block[:end]]) if pending else block[:end]
        pending, pending_size = [block[end + 1 :]], len(block) - end - 1
        try:
            text = data.decode("utf-8", settings.errors)
        except UnicodeDecodeError as exc:
            raise _utf8_error(settings, number + data.count(b"\n", 0, exc.start) + 1, data, exc) from exc
        lines = text.split("\n")
        for line in lines:
            if line.endswith("\r"):
                line = line[:-1]
            yield line if max_chars is None else line[:max_chars]
        number += len(lines)
    if pending_size:
        data = b"".join(pending)
        try:
            line = data.decode("utf-8", settings.errors)
        except UnicodeDecodeError as exc:
            raise _utf8_error(settings, number + 1, data, exc) from exc
        yield line if max_chars is None else line[:max_chars]


def _long_line(stream: BinaryIO, head: bytes, number: int, settings: ReadSettings) -> str:
    """A line longer than the read limit: ``head`` decoded and cut, the rest read in pieces and checked."""
    assert settings.max_chars is not None
    decoder = codecs.getincrementaldecoder("utf-8")(settings.errors)
    try:
        text = decoder.decode(head)[: settings.max_chars]
        while True:
            piece = stream.readline(READ_BYTES)
            if not piece:
                decoder.decode(b"", final=True)
                return text
            if piece.endswith(b"\n"):
                decoder.decode(piece[:-1], final=True)
                return text
            decoder.decode(piece)
    except UnicodeDecodeError as exc:
        raise _utf8_error(settings, number, exc.object, exc) from exc


def _check_text(value: Any, where: str, settings: ReadSettings) -> str:
    if isinstance(value, str):
        return value if settings.max_chars is None else value[: settings.max_chars]
    kind = "null" if value is None else type(value).__name__
    raise InputError(f"{where}: {settings.field!r} holds {kind}, not text")


def _check_id(value: Any, where: str, settings: ReadSettings) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        kind = "null" if value is None else type(value).__name__
        raise InputError(f"{where}: id {settings.id_field!r} holds {kind}; ids must be text or whole numbers")
    return value


def _missing(name: str, where: str, present: list[str], what: str = "field") -> InputError:
    shown = ", ".join(present[:10]) + (", ..." if len(present) > 10 else "")
    return InputError(f"{where} has no {what} {name!r} (it has: {shown or 'nothing'})")


def read_text(stream: BinaryIO, settings: ReadSettings) -> Iterator[Chunk]:
    chunk = Chunk()
    for position, line in enumerate(iter_lines(stream, settings)):
        chunk.texts.append(line)
        chunk.positions.append(position)
        if len(chunk) >= settings.rows:
            yield chunk
            chunk = Chunk()
    if chunk:
        yield chunk


def read_jsonl(stream: BinaryIO, settings: ReadSettings) -> Iterator[Chunk]:
    """One JSON object per line; blank lines are skipped (their numbers are not reused)."""
    chunk = Chunk(ids=[] if settings.id_field else None)
    for position, line in enumerate(iter_lines(stream, settings, cut=False)):
        if not line.strip():
            continue
        where = f"{settings.name} line {position + 1}"
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise InputError(f"{where} is not valid JSON ({reason})") from exc
        del line
        if not isinstance(record, dict):
            raise InputError(f"{where} is not a JSON object")
        if settings.field not in record:
            raise _missing(settings.field, where, list(record))
        chunk.texts.append(_check_text(record[settings.field], where, settings))
        chunk.positions.append(position)
        if chunk.ids is not None:
            assert settings.id_field is not None
            if settings.id_field not in record:
                raise _missing(settings.id_field, where, list(record))
            chunk.ids.append(_check_id(record[settings.id_field], where, settings))
        if len(chunk) >= settings.rows:
            yield chunk
            chunk = Chunk(ids=[] if settings.id_field else None)
    if chunk:
        yield chunk


def _csv_lines(stream: BinaryIO, settings: ReadSettings, counter: list[int]) -> Iterator[str]:
    """Decoded lines with their endings kept (the csv module needs them for quoted newlines)."""
    number = 0
    while True:
        data = stream.readline()
        if not data:
            return
        number += 1
        counter[0] = number
        if number == 1 and data.startswith(BOM):
            data = data[3:]
        try:
            yield data.decode("utf-8", settings.errors)
        except UnicodeDecodeError as exc:
            raise _utf8_error(settings, number, data, exc) from exc


def _records(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The reader's records, each parsed with no field size limit (a long text is one field, cut later);
    the module-wide limit is put back between records, for every other reader in the process."""
    while True:
        saved = csv.field_size_limit(2**31 - 1)
        try:
            record = next(reader, None)
        finally:
            csv.field_size_limit(saved)
        if record is None:
            return
        yield record


def read_csv(stream: BinaryIO, settings: ReadSettings) -> Iterator[Chunk]:
    """CSV or TSV whose first record names the columns; positions count the records after it."""
    counter = [0]
    delimiter = "\t" if settings.format is InputFormat.tsv else ","
    records = _records(csv.reader(_csv_lines(stream, settings, counter), delimiter=delimiter))
    try:
        header = next(records, None)
        if header is None:
            return
        columns = {name: i for i, name in reversed(list(enumerate(header)))}
        where = f"{settings.name} header (line 1)"
        if settings.field not in columns:
            raise _missing(settings.field, where, header, "column")
        if settings.id_field is not None and settings.id_field not in columns:
            raise _missing(settings.id_field, where, header, "column")
        text_at = columns[settings.field]
        id_at = columns[settings.id_field] if settings.id_field is not None else None
        chunk = Chunk(ids=[] if id_at is not None else None)
        for position, record in enumerate(records):
            if not record:  # a blank line
                continue
            if len(record) <= max(text_at, id_at or 0):
                raise InputError(
                    f"{settings.name} line {counter[0]} has {len(record)} columns; the header names {len(header)}"
                )
            value = record[text_at]
            chunk.texts.append(value if settings.max_chars is None else value[: settings.max_chars])
            chunk.positions.append(position)
            if chunk.ids is not None:
                assert id_at is not None
                chunk.ids.append(record[id_at])
            if len(chunk) >= settings.rows:
                yield chunk
                chunk = Chunk(ids=[] if id_at is not None else None)
        if chunk:
            yield chunk
    except csv.Error as exc:
        raise InputError(f"{settings.name} line {counter[0]} is not valid CSV: {exc}") from exc


def _parquet_file(source: Any, settings: ReadSettings) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{settings.name} is not a readable Parquet file: {first_line(exc)}") from exc


def read_parquet(source: Any, settings: ReadSettings, *, row_groups: list[int] | None = None) -> Iterator[Chunk]:
    """A Parquet file (a path or a seekable binary file), read ``settings.rows`` rows at a time;
    ``row_groups`` reads only those groups (positions still count from the file's first row)."""
    import pyarrow as pa

    parquet = _parquet_file(source, settings)
    schema = parquet.schema_arrow
    where = settings.name
    for name in (settings.field, settings.id_field):
        if name is not None and name not in schema.names:
            raise _missing(name, where, list(schema.names), "column")
    kind = schema.field(settings.field).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)):
        raise InputError(f"{where}: column {settings.field!r} holds {kind}, not text")
    columns = [settings.field] + ([settings.id_field] if settings.id_field else [])
    groups = list(range(parquet.num_row_groups)) if row_groups is None else row_groups
    offsets = [0]
    for i in range(parquet.num_row_groups):
        offsets.append(offsets[-1] + parquet.metadata.row_group(i).num_rows)
    for group in groups:
        position = offsets[group]
        try:
            batches = parquet.iter_batches(batch_size=settings.rows, row_groups=[group], columns=columns)
            for batch in batches:
                texts = batch.column(0).to_pylist()
                for i, value in enumerate(texts):
                    if value is None:
                        raise InputError(f"{where} row {position + i + 1}: {settings.field!r} holds null, not text")
                if settings.max_chars is not None:
                    texts = [t[: settings.max_chars] for t in texts]
                ids = None
                if settings.id_field is not None:
                    ids = batch.column(1).to_pylist()
                    for i, value in enumerate(ids):
                        _check_id(value, f"{where} row {position + i + 1}", settings)
                yield Chunk(texts, list(range(position, position + len(texts))), ids)
                position += len(texts)
        except pa.ArrowException as exc:
            raise InputError(f"{where} cannot be read: {first_line(exc)}") from exc


def read_chunks(stream: Any, settings: ReadSettings) -> Iterator[Chunk]:
    """The chunks of one input, as its format says."""
    if settings.format is InputFormat.parquet:
        return read_parquet(stream, settings)
    reader = {InputFormat.text: read_text, InputFormat.jsonl: read_jsonl}.get(settings.format, read_csv)
    return reader(buffered(stream), settings)


def count_rows(stream: Any, settings: ReadSettings) -> int:
    """How many texts ``read_chunks`` will yield, read cheaply (a newline count for plain text)."""
    if settings.format is InputFormat.parquet:
        return int(_parquet_file(stream, settings).metadata.num_rows)
    if settings.format is InputFormat.text:
        count, last = 0, b"\n"
        while True:
            data = stream.read(READ_BYTES)
            if not data:
                return count + (last != b"\n")
            count += data.count(b"\n")
            last = data[-1:]
    quiet = ReadSettings(settings.format, settings.field, None, "replace", 0, 4096, settings.name)
    return sum(len(chunk) for chunk in read_chunks(stream, quiet))


def check_settings(settings: ReadSettings) -> None:
    if not settings.field:
        raise ConfigError("the text field or column name is empty")
    if settings.id_field is not None and not settings.id_field:
        raise ConfigError("the id field or column name is empty")
