"""Reading texts (and, beside them, ids and other fields) a chunk at a time, from any input size.

An input is plain text (one text per line), JSON lines (a named field), CSV or TSV (a named column, the
first row naming the columns) or Parquet (a named column); the rules are in ``m2vcli.texts.formats``. Each
reader yields ``Chunk``s of at most ``rows`` texts with their input positions and, when asked, an id and
extra fields. Memory is bounded by one chunk, whatever the input's size: nothing reads an input whole.

A text longer than ``max_chars`` characters is cut to that many as it is read; a plain-text line that long
is never held whole (its rest is only checked for valid UTF-8). ``StaticEmbedder.longest_text`` gives the
cut that keeps every token the model would use, so the vectors are the same as from the whole text.

Nothing here imports torch; pyarrow is imported only for Parquet.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from m2vcli.errors import InputError, first_line
from m2vcli.texts.formats import MAX_RECORD_BYTES, READ_BYTES, Chunk, InputFormat, ReadSettings
from m2vcli.texts.lines import BOM, binary_error, buffered, decode_error, iter_lines, too_long

Record = tuple[int, list[Any], str]  # position, the values of ReadSettings.names, where (for messages)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_text(value: Any, where: str, settings: ReadSettings) -> str:
    if isinstance(value, str):
        return value if settings.max_chars is None else value[: settings.max_chars]
    raise InputError(f"{where}: {settings.field!r} holds {_kind(value)}, not text")


def check_id(value: Any, where: str, settings: ReadSettings) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"{where}: id {settings.id_field!r} holds {_kind(value)}; ids must be text or whole numbers")
    return value


def missing(name: str, where: str, present: list[str], what: str = "field") -> InputError:
    shown = ", ".join(present[:10]) + (", ..." if len(present) > 10 else "")
    return InputError(f"{where} has no {what} {name!r} (it has: {shown or 'nothing'})")


def _json_objects(stream: BinaryIO, settings: ReadSettings) -> Iterator[tuple[int, dict[str, Any], str]]:
    """One JSON object per line; blank lines are skipped (their numbers are not reused)."""
    for position, line in enumerate(iter_lines(stream, settings, cut=False)):
        if not line.strip():
            continue
        where = f"{settings.name} line {position + 1}"
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            if line.lstrip().startswith("["):
                raise InputError(
                    f"{where} is a JSON array; m2v reads JSON lines, one object per line (convert it with: jq -c '.[]')"
                ) from exc
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise InputError(f"{where} is not valid JSON ({reason})") from exc
        del line
        if not isinstance(record, dict):
            raise InputError(f"{where} is not a JSON object (got {_kind(record)})")
        yield position, record, where


def _jsonl_records(stream: BinaryIO, settings: ReadSettings) -> Iterator[Record]:
    names = settings.names
    for position, record, where in _json_objects(stream, settings):
        values = []
        for name in names:
            if name not in record:
                raise missing(name, where, list(record))
            values.append(record[name])
        yield position, values, where


def _csv_lines(stream: BinaryIO, settings: ReadSettings, counter: list[int]) -> Iterator[str]:
    """Decoded lines with their endings kept (the csv module needs them for quoted newlines); a record over
    ``MAX_RECORD_BYTES`` is an error (``counter`` holds the line number and the record's bytes so far)."""
    number = 0
    while True:
        data = stream.readline(MAX_RECORD_BYTES + 1)
        if not data:
            return
        number += 1
        counter[0] = number
        counter[1] += len(data)
        if counter[1] > MAX_RECORD_BYTES:
            raise too_long(settings, number, "record")
        if number == 1 and data.startswith(BOM):
            data = data[3:]
        if b"\x00" in data:
            raise binary_error(settings, number)
        try:
            yield data.decode("utf-8", settings.errors)
        except UnicodeDecodeError as exc:
            raise decode_error(settings, number, data, exc) from exc


def _parse(reader: Iterator[list[str]], counter: list[int]) -> Iterator[list[str]]:
    """The reader's records, each parsed with no field size limit (the record size is bounded by
    ``_csv_lines``); the module-wide limit is put back between records, for every other reader."""
    while True:
        counter[1] = 0
        saved = csv.field_size_limit(2**31 - 1)
        try:
            record = next(reader, None)
        finally:
            csv.field_size_limit(saved)
        if record is None:
            return
        yield record


def _csv_rows(stream: BinaryIO, settings: ReadSettings, names: list[str] | None) -> Iterator[Record]:
    """CSV or TSV whose first record names the columns; positions count the records after it. Yields the
    cells of ``names`` (every column when None: the first record yielded is then the header, position -1)."""
    counter = [0, 0]
    delimiter = "\t" if settings.format is InputFormat.tsv else ","
    records = _parse(csv.reader(_csv_lines(stream, settings, counter), delimiter=delimiter), counter)
    try:
        header = next(records, None)
        if header is None:
            return
        columns = {name: i for i, name in reversed(list(enumerate(header)))}
        where = f"{settings.name} header (line 1)"
        for name in names or []:
            if name not in columns:
                raise missing(name, where, header, "column")
        at = [columns[name] for name in names] if names is not None else list(range(len(header)))
        if names is None:
            yield -1, header, where
        needed = max(at) + 1
        for position, record in enumerate(records):
            if not record:  # a blank line
                continue
            if len(record) < needed:
                raise InputError(
                    f"{settings.name} line {counter[0]} has {len(record)} columns; the header names {len(header)}"
                )
            yield position, [record[i] for i in at], f"{settings.name} line {counter[0]}"
    except csv.Error as exc:
        raise InputError(f"{settings.name} line {counter[0]} is not valid CSV: {exc}") from exc


def _csv_records(stream: BinaryIO, settings: ReadSettings) -> Iterator[Record]:
    return _csv_rows(stream, settings, settings.names)


def read_table(stream: Any, settings: ReadSettings) -> Iterator[tuple[dict[str, Any], str]]:
    """Every record of a JSON lines, CSV/TSV or Parquet input as a mapping of all its fields, with where it
    stands (for messages); values are unchecked (CSV cells are strings, JSON and Parquet keep their types)."""
    if settings.format is InputFormat.parquet:
        import pyarrow as pa

        parquet = parquet_file(stream, settings)
        row = 0
        try:
            for batch in parquet.iter_batches(batch_size=settings.rows):
                for record in batch.to_pylist():
                    row += 1
                    yield record, f"{settings.name} row {row}"
        except pa.ArrowException as exc:
            raise InputError(f"{settings.name} cannot be read: {first_line(exc)}") from exc
        return
    if settings.format is InputFormat.text:
        raise InputError(f"{settings.name} is plain text; a table is JSON lines, CSV, TSV or Parquet")
    stream = buffered(stream)
    if settings.format is InputFormat.jsonl:
        for _, record, where in _json_objects(stream, settings):
            yield record, where
        return
    header: list[str] = []
    for position, cells, where in _csv_rows(stream, settings, None):
        if position < 0:
            header = cells
        else:
            yield dict(zip(header, cells, strict=True)), where


def _chunks(records: Iterator[Record], settings: ReadSettings) -> Iterator[Chunk]:
    """Records gathered into chunks, the text and id of each checked."""
    has_id = settings.id_field is not None
    extra_at = range(1 + has_id, len(settings.names))
    chunk = _empty(settings)
    for position, values, where in records:
        chunk.texts.append(_check_text(values[0], where, settings))
        chunk.positions.append(position)
        if chunk.ids is not None:
            chunk.ids.append(check_id(values[1], where, settings))
        for name, i in zip(settings.extra_fields, extra_at, strict=True):
            chunk.extra[name].append(values[i])
        if len(chunk) >= settings.rows:
            yield chunk
            chunk = _empty(settings)
    if chunk:
        yield chunk


def _empty(settings: ReadSettings) -> Chunk:
    return Chunk(ids=[] if settings.id_field else None, extra={name: [] for name in settings.extra_fields})


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
    return _chunks(_jsonl_records(stream, settings), settings)


def read_csv(stream: BinaryIO, settings: ReadSettings) -> Iterator[Chunk]:
    return _chunks(_csv_records(stream, settings), settings)


def parquet_file(source: Any, settings: ReadSettings) -> Any:
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

    parquet = parquet_file(source, settings)
    schema = parquet.schema_arrow
    where = settings.name
    for name in settings.names:
        if name not in schema.names:
            raise missing(name, where, list(schema.names), "column")
    kind = schema.field(settings.field).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)):
        raise InputError(f"{where}: column {settings.field!r} holds {kind}, not text")
    columns = list(dict.fromkeys(settings.names))
    groups = list(range(parquet.num_row_groups)) if row_groups is None else row_groups
    offsets = [0]
    for i in range(parquet.num_row_groups):
        offsets.append(offsets[-1] + parquet.metadata.row_group(i).num_rows)
    for group in groups:
        position = offsets[group]
        try:
            for batch in parquet.iter_batches(batch_size=settings.rows, row_groups=[group], columns=columns):
                values = {name: batch.column(name).to_pylist() for name in columns}
                texts = values[settings.field]
                for i, value in enumerate(texts):
                    if value is None:
                        raise InputError(f"{where} row {position + i + 1}: {settings.field!r} holds null, not text")
                if settings.max_chars is not None:
                    texts = [t[: settings.max_chars] for t in texts]
                ids = None
                if settings.id_field is not None:
                    ids = values[settings.id_field]
                    for i, value in enumerate(ids):
                        check_id(value, f"{where} row {position + i + 1}", settings)
                extra = {name: values[name] for name in settings.extra_fields}
                yield Chunk(texts, list(range(position, position + len(texts))), ids, extra)
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
        return int(parquet_file(stream, settings).metadata.num_rows)
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
