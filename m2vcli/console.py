"""Terminal output for the CLI: one stderr console and a progress bar that fits the core's callbacks.

stdout carries results only, so everything here writes to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

ProgressCallback = Callable[[int, int], None]

_console: Console | None = None


def err_console() -> Console:
    """The shared rich console bound to stderr."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(stderr=True, highlight=False)
    return _console


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress_bar(description: str, *, unit: str = "items", enabled: bool = True) -> Iterator[ProgressCallback]:
    """Yield an ``on_progress(done, total)`` callback that drives a rich progress bar on stderr.

    When ``enabled`` is false the callback does nothing, so callers never need two code paths.
    """
    if not enabled:
        yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from m2vcli.progress_columns import RateColumn

    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update
