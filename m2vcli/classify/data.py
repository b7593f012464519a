"""Labelled texts from files: JSON lines, CSV/TSV or Parquet (a file, a folder or a glob), read through the
project's one input layer (``m2vcli.texts``) with the label field beside the text.

CSV and TSV cells are text, so their labels are text classes; a multi-label data set (a list per text)
is JSON lines or Parquet. A blank text is an error naming its record: a classifier cannot learn from it,
and it is almost always a broken row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from m2vcli.errors import InputError
from m2vcli.texts import InputFormat, ReadSettings, choose_input_format, list_inputs, open_input, read_chunks

MAX_LABELLED_TEXTS = 10_000_000  # held at once for training


@dataclass
class Labelled:
    """Texts, their labels, and where each stands (``file line N``), for messages."""

    texts: list[str] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    wheres: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, rows: Any) -> Labelled:
        return Labelled([self.texts[i] for i in rows], [self.labels[i] for i in rows], [self.wheres[i] for i in rows])


def _where(fmt: InputFormat, name: str, position: int) -> str:
    unit = {InputFormat.parquet: "row", InputFormat.csv: "record", InputFormat.tsv: "record"}.get(fmt, "line")
    return f"{name} {unit} {position + 1}"


def read_labelled(
    source: str,
    *,
    text_field: str = "text",
    label_field: str = "label",
    input_format: InputFormat | None = None,
    what: str = "training data",
    max_chars: int | None = None,
) -> Labelled:
    """Every record of ``source`` as (text, label). A missing field, a null or non-text text, a blank text
    and a null label are one-line ``InputError``s naming the file and record; the labels' kinds are checked
    by ``LabelSet``."""
    if not label_field:
        raise InputError("the label field or column name is empty")
    if label_field == text_field:
        raise InputError(f"the text and the label are the same field ({text_field!r})")
    data = Labelled()
    for path in list_inputs(source, what=what):
        fmt = input_format or choose_input_format(None, path, True)
        if fmt is InputFormat.text:
            raise InputError(
                f"{what} file {path} is plain text; labelled data is JSON lines, CSV, TSV or Parquet "
                "with a text and a label field"
            )
        name = f"{what} file {path}"
        settings = ReadSettings(
            format=fmt, field=text_field, extra_fields=(label_field,), name=name, max_chars=max_chars, rows=4096
        )
        stream = open_input(path, f"{what} file")
        try:
            for chunk in read_chunks(stream, replace(settings)):
                for text, label, position in zip(chunk.texts, chunk.extra[label_field], chunk.positions, strict=True):
                    where = _where(fmt, name, position)
                    if not text.strip():
                        raise InputError(f"{where}: the text is blank; a classifier cannot learn from it (remove it)")
                    if label is None:
                        raise InputError(f"{where}: {label_field!r} holds null; every text needs a label")
                    data.texts.append(text)
                    data.labels.append(label)
                    data.wheres.append(where)
                if len(data) > MAX_LABELLED_TEXTS:
                    raise InputError(f"{what} holds more than {MAX_LABELLED_TEXTS:,} texts; train on a part of it")
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc
        finally:
            stream.close()
    if not data.texts:
        raise InputError(f"{what} {source} holds no texts")
    return data
