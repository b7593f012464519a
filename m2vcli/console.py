"""Terminal output for the CLI: one stderr console and a progress bar that fits the core's callbacks.

stdout carries results only, so everything here writes to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from m2vcli.callbacks import OnProgress

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import ProgressColumn


_console: Console | None = None


def err_console() -> Console:
    """The shared rich console bound to stderr: progress, messages, errors."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(stderr=True, highlight=False, soft_wrap=True)  # a message stays one line in a log
    return _console


def out_console() -> Console:
    """A rich console on stdout, for a command's result table. Off a terminal (a file, a pipe) it is wide
    enough for any table, so no cell is cut to fit 80 columns."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout is not None and sys.stdout.isatty() else 1000)


def stderr_is_terminal() -> bool:
    return sys.stderr is not None and sys.stderr.isatty()


LIBRARY_VERBOSITY = {
    "TRANSFORMERS_VERBOSITY": "error",
    "DATASETS_VERBOSITY": "error",
    "HF_HUB_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}
QUIET_LOGGERS = ("datasets", "huggingface_hub", "mteb", "sentence_transformers", "transformers")


def quiet_libraries() -> None:
    """Keep the libraries' own logs and progress bars off the terminal: m2v shows its own progress and
    reports each failure once. Called once by the CLI before any of them is imported (they read these
    settings at import); a variable the user has set is left as it is."""
    import logging
    import os

    for name, value in LIBRARY_VERBOSITY.items():
        os.environ.setdefault(name, value)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def progress_bar(description: str, *, unit: str = "items", enabled: bool = True) -> Iterator[OnProgress]:
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


class TaskProgress:
    """One row per task on stderr: a spinner, the texts encoded so far and their rate, then the outcome.

    Off a terminal, one plain line per change of status instead. ``on_task`` and ``on_encode`` fit
    ``m2vcli.evaluation.run_tasks``'s callbacks.
    """

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None
        self.current: Any = None
        self.count = 0

    def __enter__(self) -> TaskProgress:
        if self.enabled:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                SpinnerColumn(finished_text=" "),
                TextColumn("{task.description}", markup=False),
                TextColumn("{task.completed:,.0f} texts"),
                rate_column("texts"),
                TimeElapsedColumn(),
                console=err_console(),
            )
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def on_task(self, task: str, status: str) -> None:
        status = str(getattr(status, "value", status))
        if self.progress is None:
            err_console().print(f"{task}: {status}", markup=False, style="dim")
        elif status == "running":
            self.current, self.count = self.progress.add_task(task, total=None), 0
        else:
            if self.current is None:  # skipped: never ran
                self.current, self.count = self.progress.add_task(task, total=None), 0
            self.progress.update(self.current, description=f"{task}: {status}", total=self.count, completed=self.count)
            self.current = None

    def on_encode(self, count: int) -> None:
        if self.progress is not None and self.current is not None:
            self.count += count
            self.progress.advance(self.current, count)
