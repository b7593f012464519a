"""Text input for every command: listing inputs (a file, a folder, a glob, a URI), telling their format,
and reading texts, ids and other fields from plain text, JSON lines, CSV/TSV and Parquet with one set of
rules and messages (``m2vcli.texts.formats`` states them). Nothing here imports torch; pyarrow only for
Parquet and URIs."""

from __future__ import annotations

from m2vcli.texts.collect import Gathered, gather_texts
from m2vcli.texts.formats import (
    DEFAULT_FIELD,
    MAX_RECORD_BYTES,
    READ_BYTES,
    SUFFIXES,
    Chunk,
    InputFormat,
    ReadSettings,
    choose_input_format,
)
from m2vcli.texts.lines import buffered, iter_lines
from m2vcli.texts.listing import filesystem, is_uri, list_inputs, open_input
from m2vcli.texts.records import count_rows, parquet_file, read_chunks, read_parquet

__all__ = [
    "DEFAULT_FIELD",
    "MAX_RECORD_BYTES",
    "READ_BYTES",
    "SUFFIXES",
    "Chunk",
    "Gathered",
    "InputFormat",
    "ReadSettings",
    "buffered",
    "choose_input_format",
    "count_rows",
    "filesystem",
    "gather_texts",
    "is_uri",
    "iter_lines",
    "list_inputs",
    "open_input",
    "parquet_file",
    "read_chunks",
    "read_parquet",
]
