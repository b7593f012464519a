"""What an input is: its format, how it is read, and the chunks of texts it gives.

The rules, the same in every command (``encode``, ``refine``, ``distill --corpus``, ``bench --corpus``,
``evaluate --task-file``):

- **The format** comes from an explicit choice, else the file's extension (``.txt``/``.text`` plain text,
  ``.jsonl``/``.ndjson``/``.json`` JSON lines, ``.csv``, ``.tsv``, ``.parquet``/``.pq``), else JSON lines
  when a field is named, else plain text.
- **A ``.json`` file** is JSON lines: one object per line. A JSON array (a first line starting with ``[``)
  is refused with the way to convert it.
- **A blank line** of plain text is a text (an empty one: ``encode`` gives it a zero vector, so rows and
  lines stay aligned); in JSON lines and CSV a blank line holds no record and is skipped. Commands that
  learn from or time texts (a corpus, bench's texts) drop texts that are blank once stripped.
- **A short CSV row** (fewer cells than the named column needs) is an error naming its line; extra cells
  are ignored.
- **A null value** (JSON ``null``, a Parquet null) and **a non-string value** in the text field are
  errors naming the record; an id must be text or a whole number.
- **A NUL byte** in a text, JSON lines or CSV input means the file is binary: an error naming the line.
- **Memory** is bounded by one chunk: a plain-text line is cut to ``max_chars`` as it is read; a JSON line
  or CSV record over ``MAX_RECORD_BYTES`` is an error, never held whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from m2vcli.errors import ConfigError
from m2vcli.extras import require

READ_BYTES = 1 << 20  # input is read in blocks of this size (and a long line's rest, while it is skipped)
MAX_RECORD_BYTES = 64 * 1024**2  # one JSON line or CSV record
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
        return SUFFIXES.get(Path(name).suffix.lower())


SUFFIXES = {
    ".txt": InputFormat.text,
    ".text": InputFormat.text,
    ".jsonl": InputFormat.jsonl,
    ".ndjson": InputFormat.jsonl,
    ".json": InputFormat.jsonl,
    ".csv": InputFormat.csv,
    ".tsv": InputFormat.tsv,
    ".parquet": InputFormat.parquet,
    ".pq": InputFormat.parquet,
}


def choose_input_format(explicit: InputFormat | None, name: str | None, field_given: bool) -> InputFormat:
    """An explicit format wins; else the file's extension; else JSON lines when a field is named, else text.

    >>> choose_input_format(None, "data/part-0.parquet", False).value
    'parquet'
    >>> choose_input_format(None, None, True).value
    'jsonl'
    >>> choose_input_format(None, "notes.txt", False).value
    'text'
    """
    found = explicit if explicit is not None else InputFormat.from_suffix(name) if name and name != "-" else None
    if found is InputFormat.parquet:
        require("parquet", "reading Parquet")
    if found is not None:
        return found
    return InputFormat.jsonl if field_given else InputFormat.text


@dataclass
class Chunk:
    """Consecutive texts of an input: ``positions[i]`` is where ``texts[i]`` stands in it (0-based: the line
    for plain text and JSON lines, the record after the header for CSV, the row for Parquet). ``extra``
    holds the raw values of ``ReadSettings.extra_fields``, one list per field."""

    texts: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    ids: list[Any] | None = None
    extra: dict[str, list[Any]] = field(default_factory=dict)

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
    extra_fields: tuple[str, ...] = ()  # more fields or columns read beside the text (a label), unchecked

    def __post_init__(self) -> None:
        if not self.field:
            raise ConfigError("the text field or column name is empty")
        if self.id_field is not None and not self.id_field:
            raise ConfigError("the id field or column name is empty")
        if any(not name for name in self.extra_fields):
            raise ConfigError("a field or column name is empty")

    @property
    def names(self) -> list[str]:
        """Every field or column read: the text's first, then the id's, then the extra ones."""
        return [self.field, *([self.id_field] if self.id_field else []), *self.extra_fields]
