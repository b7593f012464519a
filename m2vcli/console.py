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
    from rich.progress import ProgressColumn

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

    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        rate_column(unit),
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


def rate_column(unit: str) -> ProgressColumn:
    """A rich progress column showing ``1,234 sentences/s`` from the task's measured speed."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            elapsed = task.finished_time if task.finished else task.elapsed
            if speed is None and elapsed and task.completed:  # too few updates for rich's own estimate
                speed = task.completed / elapsed
            if speed is None:
                return Text(f"? {unit}/s", style="progress.data.speed")
            return Text(f"{speed:,.0f} {unit}/s", style="progress.data.speed")

    return RateColumn()
