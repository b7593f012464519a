"""Terminal output for the CLI: one stderr console and a progress bar that fits the core's callbacks.

stdout carries results only, so everything here writes to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from m2vcli.callbacks import OnProgress, PlannedTask

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


# torch's CPU math keeps compiled kernels per input shape in two caches of 1,024 entries each: oneDNN's
# primitives and, above them, ideep's (``LRU_CACHE_CAPACITY``). Over a corpus of varied lengths they grew a
# featurizing run by 200 MB per 8,000 texts (oneDNN's) and then by 4 KB a text (ideep's). 64 keeps memory
# flat at the same speed: texts come in length buckets, so a few shapes are reused in turn.
def bound_kernel_caches() -> None:
    """Cap torch's CPU kernel caches for the whole run (``process.KERNEL_CACHE_LIMITS``; a variable the
    user has set is kept). They are read when the first kernel runs, so this works until then."""
    import os

    from m2vcli.process import KERNEL_CACHE_LIMITS

    for name, value in KERNEL_CACHE_LIMITS.items():
        os.environ.setdefault(name, value)


QUIET_LOGGERS = ("datasets", "huggingface_hub", "mteb", "sentence_transformers", "transformers")


def quiet_libraries() -> None:
    """Keep the libraries' own logs, progress bars and deprecation warnings off the terminal: m2v shows its
    own progress and reports each failure once. Called once by the CLI before any of them is imported (they
    read these settings at import). A variable the user has set is left as it is, and warnings asked for
    with ``python -W`` or ``PYTHONWARNINGS`` are shown."""
    import logging
    import os
    import warnings

    for name, value in LIBRARY_VERBOSITY.items():
        os.environ.setdefault(name, value)
    bound_kernel_caches()
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if not sys.warnoptions:  # deprecations between libraries (a renamed method) are not the user's to fix
        for module in QUIET_LOGGERS:
            for category in (FutureWarning, DeprecationWarning):
                warnings.filterwarnings("ignore", category=category, module=rf"{module}(\.|$)")


@contextmanager
def progress_bar(
    description: str, *, unit: str = "items", enabled: bool = True, log_lines: bool = False
) -> Iterator[OnProgress]:
    """Yield an ``on_progress(done, total)`` callback that drives a rich progress bar on stderr (a total of 0:
    not known, so the bar shows the count and rate only).

    The bar appears at the first update (a step that turns out to have nothing to do shows nothing) and
    stays in place once ``done`` reaches ``total``, so what is printed next comes below it. When ``enabled``
    is false the callback does nothing, or with ``log_lines`` prints a plain line at each quarter
    (``Embedding tokens: 7,631 of 30,522 tokens (25%)``), so callers never need two code paths.
    """
    if not enabled:
        yield _quarter_lines(description, unit) if log_lines else (lambda done, total: None)
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
    row: Any = None

    def update(done: int, total: int) -> None:
        nonlocal row
        if row is None:
            progress.start()
            row = progress.add_task(description, total=total or None)
        progress.update(row, completed=done, total=total or None)
        if total and done >= total:
            progress.stop()  # drawn once more, complete, and left in place

    try:
        yield update
    finally:
        progress.stop()


def _quarter_lines(description: str, unit: str) -> OnProgress:
    """An ``on_progress`` callback that prints a plain line each time another quarter of the total is done."""
    printed = 0

    def update(done: int, total: int) -> None:
        nonlocal printed
        if total <= 0:
            return
        quarter = min(4, 4 * done // total)
        if quarter > printed:
            printed = quarter
            err_console().print(f"{description}: {done:,} of {total:,} {unit} ({25 * quarter}%)", markup=False)

    return update


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
            if speed is None:  # nothing measured yet: show nothing rather than a guess
                return Text("")
            return Text(f"{speed:,.0f} {unit}/s", style="progress.data.speed")

    return RateColumn()


class TaskProgress:
    """Evaluation progress on stderr, task by task.

    On a terminal: an overall row (tasks ended, time so far, an estimate of the time left) and one row per
    task, ``[k/N] name``, with the texts encoded so far, their rate (encoding time only) and the task's
    time, then its outcome. Off a terminal: a plain line when a task starts and one when it ends. Before a
    task loads its data from the Hugging Face hub, a line says so: hub retries can take a while.
    ``on_plan``, ``on_task`` and ``on_encode`` fit ``m2vcli.evaluation.run_tasks``'s callbacks.
    """

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None
        self.overall: Any = None  # the overall row
        self.row: Any = None  # the running task's row
        self.plan: list[PlannedTask] = []
        self.started = 0  # tasks started or skipped so far
        self.texts = 0
        self.encoding = 0.0  # seconds the running task spent encoding
        self.since = 0.0  # when the running task started
        self.ran = 0  # tasks that ran and ended
        self.ran_seconds = 0.0
        self.run_texts = 0  # texts the tasks that ended encoded, and the seconds that took
        self.run_encoding = 0.0
        self.run_since = 0.0

    def __enter__(self) -> TaskProgress:
        if self.enabled:
            from rich.progress import Progress, SpinnerColumn, TextColumn

            self.progress = Progress(
                SpinnerColumn(finished_text=" "),
                TextColumn("{task.description}", markup=False),
                task_detail_column(),
                console=err_console(),
            )
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import time

        if self.progress is not None:
            if self.overall is not None:
                seconds = time.monotonic() - self.run_since
                self.progress.update(self.overall, ended=True, seconds=seconds, total=1, completed=1)
            self.progress.stop()

    def on_plan(self, tasks: Sequence[PlannedTask]) -> None:
        import time

        self.plan, self.run_since = list(tasks), time.monotonic()
        if self.progress is not None and self.plan:
            self.overall = self.progress.add_task(
                "", total=None, since=self.run_since, estimate=self._estimate, ended=False
            )
            self._update_overall()

    def on_task(self, task: str, status: str) -> None:
        import time

        status = str(getattr(status, "value", status))
        if status in ("running", "skipped"):
            self.started += 1
        label = self._label(task)
        if status == "skipped":
            self._show(label, "skipped (result exists)")
            return
        if status == "running":
            self.texts, self.encoding, self.since = 0, 0.0, time.monotonic()
            planned = self._planned()
            hub = planned.hub_id if planned else None
            loading = f"loading data from the Hugging Face hub ({hub})..." if hub else None
            if self.progress is None:
                err_console().print(f"{label}: {loading or 'running'}", markup=False)
            else:
                if loading:
                    self.progress.console.print(f"{task}: {loading}", markup=False, style="dim")
                self.row = self.progress.add_task(
                    label, total=None, detail="loading data..." if loading else "", since=self.since
                )
            return
        seconds = time.monotonic() - self.since
        self.ran += 1
        self.ran_seconds += seconds
        self.run_texts, self.run_encoding = self.run_texts + self.texts, self.run_encoding + self.encoding
        texts = self._texts()
        if self.progress is None:
            left = self._estimate()
            after = f"; about {duration(left)} left" if left is not None else ""
            what = f"{texts}, {duration(seconds)}" if self.texts else duration(seconds)
            err_console().print(f"{label}: {status}, {what}{after}", markup=False)
            return
        if self.row is not None:
            detail = texts if self.texts else ""
            self.progress.update(self.row, description=f"{label}: {status}", detail=detail, seconds=seconds)
            self.progress.update(self.row, total=1, completed=1)
            self.row = None
        self._update_overall()

    def on_encode(self, count: int, seconds: float = 0.0) -> None:
        self.texts += count
        self.encoding += seconds
        if self.progress is not None and self.row is not None:
            self.progress.update(self.row, detail=self._texts())

    def _texts(self) -> str:
        """The running task's texts so far and their rate over the time spent encoding them."""
        rate = f" at {self.texts / self.encoding:,.0f} texts/s" if self.encoding else ""
        return f"{self.texts:,} texts{rate}"

    def _planned(self) -> PlannedTask | None:
        return self.plan[self.started - 1] if 0 < self.started <= len(self.plan) else None

    def _label(self, task: str) -> str:
        return f"[{self.started}/{len(self.plan)}] {task}" if self._planned() else task

    def _show(self, label: str, outcome: str) -> None:
        """A task that ended without running."""
        if self.progress is None:
            err_console().print(f"{label}: {outcome}", markup=False)
            return
        row = self.progress.add_task(f"{label}: {outcome}", total=1, completed=1)
        self.progress.update(row, detail="")
        self._update_overall()

    def _estimate(self) -> float | None:
        """Seconds left, from what was measured so far: for a task whose size is known, its texts still to
        encode at the measured rate (the running task's own once it has one) plus the time a task spends
        on other work (fitting a classifier, clustering); for any other task, the mean time of the tasks
        that ran. None until there is a measure, or when nothing is left."""
        import time

        now = time.monotonic()
        later = [t for t in self.plan[self.started :] if not t.skip]
        running = self.ran < len([t for t in self.plan[: self.started] if not t.skip])
        current = self._planned() if running else None
        if not later and current is None:
            return None
        texts, encoding = (self.texts, self.encoding) if running else (0, 0.0)
        run_texts, run_encoding = self.run_texts + texts, self.run_encoding + encoding
        rate = run_texts / run_encoding if run_texts and run_encoding > 0 else None
        other = (self.ran_seconds - self.run_encoding) / self.ran if self.ran else 0.0
        mean = self.ran_seconds / self.ran if self.ran else None

        def left(task: PlannedTask, texts: int, encoding: float, elapsed: float, speed: float | None) -> float | None:
            if task.texts is not None and speed is not None:
                return max(task.texts - texts, 0) / speed + max(other - (elapsed - encoding), 0.0)
            return None if mean is None else max(mean - elapsed, 0.0)

        own = self.texts / self.encoding if self.encoding >= 1.0 else rate  # a second of its own texts
        parts = [left(t, 0, 0.0, 0.0, rate) for t in later]
        if current is not None:
            parts.append(left(current, self.texts, self.encoding, now - self.since, own))
        return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)

    def _update_overall(self) -> None:
        if self.progress is None or self.overall is None:
            return
        ended = self.started - (1 if self.row is not None else 0)
        self.progress.update(self.overall, description=f"{ended} of {len(self.plan)} tasks ended")


def duration(seconds: float) -> str:
    """A time span as people read it.

    >>> duration(0.42), duration(59.4), duration(75), duration(3725)
    ('0.4 s', '59 s', '1:15', '1:02:05')
    """
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def task_detail_column() -> ProgressColumn:
    """The column after a task row's name: its texts and rate, then its time; on the overall row, the time
    so far and the estimate of the time left."""
    import time

    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class TaskDetailColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            fields = task.fields
            parts = [fields["detail"]] if fields.get("detail") else []
            since, seconds = fields.get("since"), fields.get("seconds")
            if seconds is None and since is not None:
                seconds = time.monotonic() - since
            if seconds is not None:
                parts.append(duration(seconds))
            estimate = fields.get("estimate")
            left = estimate() if estimate is not None and not fields.get("ended") else None
            if left is not None:
                parts.append(f"about {duration(left)} left")
            return Text("  ".join(parts))

    return TaskDetailColumn()
