"""``m2v leaderboard``: rank evaluated models."""

from __future__ import annotations

from typing import Annotated

import typer

from m2vcli.console import err_console, stderr_is_terminal
from m2vcli.evaluation.leaderboard import (
    LeaderboardConfig,
    averages_note,
    coverage_notes,
    leaderboard,
    leaderboard_table,
    per_task_table,
)
from m2vcli.tables import TableFormat

from ._options import ConfigOption, TableFormatOption, settings
from ._output import emit


def leaderboard_command(
    results: Annotated[
        list[str] | None,
        typer.Argument(help="Results folders (from m2v evaluate) or bench JSON files.", show_default=False),
    ] = None,
    table_format: TableFormatOption = None,
    per_task: Annotated[
        bool | None,
        typer.Option(
            "--per-task/--per-model",
            help="One row per task and a column per model, or one row per model (default: per model).",
            show_default=False,
        ),
    ] = None,
    plot: Annotated[
        str | None,
        typer.Option(
            help="Also draw sentences/s against Avg (All) to this PNG (needs matplotlib).", show_default=False
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Rank models by their average score per category, over the tasks every model has.

    Examples:

        m2v leaderboard results/

        m2v leaderboard results/ --per-task

        m2v leaderboard results/ bench.json --format markdown

        m2v leaderboard results/ bench.json --plot speed_vs_score.png
    """
    flags = {
        "results": tuple(results) if results else None,
        "format": table_format,
        "plot": plot,
        "per_task": per_task,
    }
    cfg = settings(LeaderboardConfig, config, flags)
    console = err_console()
    unscored: list[str] = []
    rows = leaderboard(
        cfg,
        warn=lambda message: console.print(f"warning: {message}", markup=False, style="yellow", soft_wrap=True),
        unscored=unscored,
    )
    if rows and not any(r.tasks for r in rows):
        console.print(
            f"note: speeds only: no m2v evaluate results in {', '.join(cfg.results)} (m2v evaluate -m MODEL adds "
            "scores)",
            markup=False,
        )
    what = averages_note(rows)
    if what and cfg.format is TableFormat.TABLE and not cfg.per_task:
        console.print(what, markup=False)
    for line in coverage_notes(rows):  # like with like: what some models have and others lack is not averaged
        shown = wrapped(line, console.width) if stderr_is_terminal() else line  # a log keeps one line per model
        console.print(shown, markup=False)
    if cfg.plot:
        from m2vcli.evaluation.leaderboard import find_result_files
        from m2vcli.evaluation.plot import left_out_of_plot, plot_speed_vs_score

        plotted = plot_speed_vs_score(rows, cfg.plot, inputs=find_result_files(cfg.results))
        for name in unscored:
            console.print(
                f"{name}: bench speed but no scores, left out of the plot (m2v evaluate -m {name})", markup=False
            )
        for line in left_out_of_plot(rows):
            console.print(line, markup=False)
        console.print(f"Plotted {plotted} model{'s' * (plotted != 1)} to {cfg.plot}.", markup=False)
    emit(per_task_table(rows, cfg.format) if cfg.per_task else leaderboard_table(rows, cfg.format), cfg.format)


def wrapped(line: str, width: int) -> str:
    """A note's line broken between words (never inside a task's name) to ``width``, its continuation
    lines indented under it.

    >>> print(wrapped("  model lacks: BBCNewsClustering, IMDBOffline", 30))
      model lacks:
        BBCNewsClustering,
        IMDBOffline
    """
    import textwrap

    return (
        textwrap.fill(
            line,
            width,
            initial_indent="",
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
            drop_whitespace=True,
        )
        if len(line) > width
        else line
    )
