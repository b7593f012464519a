"""Result tables that read anywhere: on a terminal of any width, piped into a file, or as markdown, CSV
or JSON. ``evaluate``, ``bench`` and ``leaderboard`` build a ``ResultTable`` and hand it to ``render``.

On a terminal no cell is ever cut: names of up to ``NAME_WIDTH`` characters are shown whole (longer ones
are shortened in the middle), columns that are empty in every row are left out, and a table wider than
the terminal is split into parts that each fit, the first column repeated in each part.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

NAME_WIDTH = 40
EMPTY = "-"


class TableFormat(str, Enum):
    TABLE = "table"
    MARKDOWN = "markdown"
    CSV = "csv"
    JSON = "json"


def shorten(name: str, width: int = NAME_WIDTH) -> str:
    """``name`` whole when it has at most ``width`` characters, else its start and end around an ellipsis
    (the end of a path or hub id tells models apart as often as its start).

    >>> shorten("my_model"), shorten("a" * 30 + "/" + "b" * 30, 21)
    ('my_model', 'aaaaaaaaaa…bbbbbbbbbb')
    """
    if len(name) <= width:
        return name
    head = (width - 1) // 2 + (width - 1) % 2
    return name[:head] + "…" + name[len(name) - (width - 1 - head) :]


@dataclass(frozen=True)
class Column:
    name: str
    text: bool = False  # left-aligned, may hold anything; numbers are right-aligned
    key: str | None = None  # the field's name in JSON (default: the column's name)


@dataclass
class ResultTable:
    """Rows of display strings (``EMPTY`` for a missing value) and, for JSON, the raw values behind them."""

    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    records: list[dict[str, Any]] | None = None  # JSON output; default: the cells, keyed by column

    def without_empty_columns(self) -> ResultTable:
        """The table less the columns (other than the first) that are empty in every row."""
        keep = [i for i, _ in enumerate(self.columns) if i == 0 or any(row[i] not in ("", EMPTY) for row in self.rows)]
        return ResultTable(
            self.title,
            [self.columns[i] for i in keep],
            [[row[i] for i in keep] for row in self.rows],
            self.records,
        )


def render(table: ResultTable, fmt: TableFormat | str = TableFormat.TABLE, *, width: int | None = None) -> str:
    """The table as text in ``fmt``. ``TABLE`` is drawn for a terminal ``width`` columns wide; with no width
    (a file, a pipe) it is plain aligned text, one line per row."""
    fmt = TableFormat(fmt)
    if fmt is TableFormat.JSON:
        records = table.records if table.records is not None else _cell_records(table)
        return json.dumps(json_safe(records), indent=2, allow_nan=False) + "\n"
    if fmt is TableFormat.CSV:
        return _csv(table)
    if fmt is TableFormat.MARKDOWN:
        return _markdown(table.without_empty_columns())
    return draw(table.without_empty_columns(), width)


def draw(table: ResultTable, width: int | None) -> str:
    """Aligned text; for a terminal, split into parts of at most ``width`` columns."""
    if not table.columns:
        return _title(table.title) + "\n"
    shown = [[plain(cell, NAME_WIDTH if i == 0 else None) for i, cell in enumerate(row)] for row in table.rows]
    names = [plain(c.name) for c in table.columns]
    widths = [max([len(names[i])] + [len(row[i]) for row in shown]) for i in range(len(names))]
    parts = _parts(widths, width) if width else [list(range(len(table.columns)))]
    out = [_title(table.title)]
    for part in parts:
        if len(parts) > 1 or width:
            out.append("")
        part_widths = _fit_last_text_column(part, widths, names, table, width)
        line = "  ".join(_align(names[i], part_widths[i], table.columns[i].text) for i in part)
        out.append(line.rstrip())
        out.append("  ".join("-" * part_widths[i] for i in part))
        for row in shown:
            last = part[-1]
            pieces = _wrap(row[last], part_widths[last]) if part_widths[last] < widths[last] else [row[last]]
            first = [_align(row[i], part_widths[i], table.columns[i].text) for i in part[:-1]]
            out.append("  ".join([*first, _align(pieces[0], part_widths[last], table.columns[last].text)]).rstrip())
            indent = sum(part_widths[i] + 2 for i in part[:-1])
            out.extend((" " * indent + piece).rstrip() for piece in pieces[1:])
    return "\n".join(out) + "\n"


def _fit_last_text_column(
    part: Sequence[int], widths: Sequence[int], names: Sequence[str], table: ResultTable, width: int | None
) -> dict[int, int]:
    """The widths of a part's columns; a last text column (a description) too wide for the terminal is
    narrowed to what is left, at least its name and 20 characters, and its cells wrap at word breaks."""
    fitted = {i: widths[i] for i in part}
    last = part[-1]
    if width and len(part) > 1 and table.columns[last].text:
        room = width - sum(widths[i] + 2 for i in part[:-1])
        if room < widths[last]:
            fitted[last] = max(room, len(names[last]), 20)
    return fitted


def _wrap(cell: str, width: int) -> list[str]:
    """A cell's text in lines of at most ``width`` characters, broken between words where it can."""
    import textwrap

    return textwrap.wrap(cell, width, break_on_hyphens=False) or [""]


def plain(cell: str, shorten_to: int | None = None) -> str:
    """A cell as one line of printable text: line breaks become spaces and other control characters
    (a terminal escape in a model's name) ``?``; shortened to ``shorten_to`` characters.

    >>> plain("a\\nb\\x1b[31m")
    'a b?[31m'
    """
    text = "".join("?" if ord(c) < 32 or 0x7F <= ord(c) < 0xA0 else c for c in " ".join(str(cell).splitlines()))
    return shorten(text, shorten_to) if shorten_to else text


def _title(title: str) -> str:
    """A title's lines, each as printable text (``plain``)."""
    return "\n".join(plain(line) for line in title.splitlines())


def _parts(widths: Sequence[int], width: int) -> list[list[int]]:
    """Column indexes in groups that each fit ``width`` with the first column repeated in every group."""
    parts: list[list[int]] = [[0]]
    used = widths[0]
    for i in range(1, len(widths)):
        if used + 2 + widths[i] > width and len(parts[-1]) > 1:
            parts.append([0])
            used = widths[0]
        parts[-1].append(i)
        used += 2 + widths[i]
    return parts


def _align(cell: str, width: int, left: bool) -> str:
    return cell.ljust(width) if left else cell.rjust(width)


def _cell_records(table: ResultTable) -> list[dict[str, Any]]:
    return [{c.key or c.name: cell for c, cell in zip(table.columns, row, strict=True)} for row in table.rows]


def _csv(table: ResultTable) -> str:
    """CSV with every column (a missing value is an empty field, so a number column stays numeric);
    a text cell that a spreadsheet would run as a formula gets a leading quote."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_text(c.name) for c in table.columns])
    for row in table.rows:
        writer.writerow(
            [
                csv_text(cell) if c.text else ("" if cell == EMPTY else cell)
                for c, cell in zip(table.columns, row, strict=True)
            ]
        )
    return buffer.getvalue()


def _markdown(table: ResultTable) -> str:
    lines = ["| " + " | ".join(markdown_cell(c.name) for c in table.columns) + " |"]
    lines.append("|" + "|".join(":---" if c.text else "---:" for c in table.columns) + "|")
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def csv_text(cell: str) -> str:
    """A text cell as one printable line (``plain``) that a spreadsheet will not run as a formula: one
    starting with =, +, -, @, tab or carriage return gets a leading single quote.

    >>> csv_text("=HYPERLINK(1)"), csv_text("model-a"), csv_text("a\x1b[2Jb")
    ("'=HYPERLINK(1)", 'model-a', 'a?[2Jb')
    """
    quoted = "'" + cell if cell.startswith(("=", "+", "-", "@", "\t", "\r")) else cell
    return plain(quoted)


def markdown_cell(cell: str) -> str:
    """A cell that stays in its markdown table cell as printable text: ``|`` escaped, line breaks turned
    into spaces, other control characters ``?`` (``plain``)."""
    return plain(cell).replace("|", "\\|")


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None (null), so the JSON stays valid."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
