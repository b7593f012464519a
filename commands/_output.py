"""How the commands write results and progress: one way to emit a result in each ``--format`` (stdout),
and the lines that progress reports (stderr)."""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any

from m2vcli.console import err_console
from m2vcli.tables import ResultTable, TableFormat, json_safe, render


def terminal_width() -> int | None:
    """stdout's width when it is a terminal, else None (plain text for a file or a pipe)."""
    stdout = sys.stdout
    return shutil.get_terminal_size().columns if stdout is not None and stdout.isatty() else None


def emit(table: ResultTable, fmt: TableFormat | str, *, document: Any = None) -> None:
    """Write a result to stdout in ``fmt``: the table (fitted to a terminal's width), or, for JSON,
    ``document`` when the result is one object (a report, a model's description), else the table's rows."""
    fmt = TableFormat(fmt)
    if fmt is TableFormat.JSON and document is not None:
        text = json.dumps(json_safe(document), indent=2, allow_nan=False) + "\n"
    else:
        text = render(table, fmt, width=terminal_width())
    stdout = sys.stdout
    if stdout is not None:
        stdout.write(text)
        stdout.flush()


def existing_model(path: str | None) -> bool:
    """Whether ``path`` holds a model folder now (one a save there replaces)."""
    from pathlib import Path

    from m2vcli.model.folder import model_kind

    return bool(path) and model_kind(Path(str(path))) is not None


def say_replaced(path: str | None, existed: bool) -> None:
    """The line that says a save replaced the model that was there."""
    if existed:
        err_console().print(f"Replaced the model that was in {path}.", markup=False)


def print_epoch(record: dict[str, float]) -> None:
    """One line on stderr per training epoch, with its losses."""
    err_console().print(
        f"epoch {record['epoch']:.0f}: step {record['step']:,.0f}, train loss {record['train_loss']:.4f}, "
        f"validation loss {record['validation_loss']:.4f}",
        markup=False,
    )


def say_still_improving(epochs: int, measure: str) -> None:
    """The hint after a training run whose last epoch was its best: it stopped at its limit, not because
    ``measure`` had stopped improving."""
    err_console().print(
        f"The {measure} was still improving at the last epoch ({epochs}): more epochs may help, "
        f"for example --epochs {2 * epochs}.",
        markup=False,
    )


def count(n: int, noun: str) -> str:
    """``1 epoch``, ``3 epochs``.

    >>> count(1, "epoch"), count(3, "epoch")
    ('1 epoch', '3 epochs')
    """
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def corpus_size(texts: int, pieces: int) -> str:
    """``5,000 texts``, or ``5,000 texts (5,210 teacher inputs: long texts cut to fit the teacher)``."""
    if pieces == texts:
        return count(texts, "text")
    return f"{count(texts, 'text')} ({pieces:,} teacher inputs: long texts cut to fit the teacher)"
