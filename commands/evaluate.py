"""``m2v evaluate``: score a model with MTEB's evaluators."""

from __future__ import annotations

from typing import Annotated

import typer
from m2vcli.commands._options import ConfigOption, ModelOption

from m2vcli.config import build_config
from m2vcli.console import err_console
from m2vcli.evaluation import EvaluateConfig, EvaluationReport, evaluate


def evaluate_command(
    model: ModelOption = None,
    tasks: Annotated[
        str | None,
        typer.Option(help="Comma-separated task names: the offline suite's or any MTEB task's.", show_default=False),
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option(help="A built-in suite: offline (the default when no task is named).", show_default=False),
    ] = None,
    task_file: Annotated[
        str | None,
        typer.Option("--task-file", help="YAML file of tasks on your own CSV/TSV/JSONL data.", show_default=False),
    ] = None,
    output_dir: Annotated[
        str | None, typer.Option("--output-dir", "-o", help="Results folder (default: results).", show_default=False)
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Run tasks that already have a result again.")] = False,
    config: ConfigOption = None,
) -> None:
    """Evaluate a static model or a Sentence Transformer; one JSON result per task.

    The offline suite (WordSim353, SimLex999, LeeDocSim, IMDB, Rotten Tomatoes and BBC News
    classification, BBC News clustering) reads its data from pinned PyPI packages.

    Examples:

        m2v evaluate --model my_model

        m2v evaluate --model my_model --tasks STSBenchmark,WordSim353 -o results

        m2v evaluate --model my_model --task-file examples/tasks.yaml
    """
    flags = {
        "model": model,
        "tasks": tasks,
        "suite": suite,
        "task_file": task_file,
        "output_dir": output_dir,
        "overwrite": overwrite or None,
    }
    settings = build_config(EvaluateConfig, config, flags)
    console = err_console()
    report = evaluate(
        settings, on_task=lambda task, status: console.print(f"{task}: {status}", markup=False, style="dim")
    )
    render(report)


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
