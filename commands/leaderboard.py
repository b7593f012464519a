"""``m2v leaderboard``: rank evaluated models."""

from __future__ import annotations

from typing import Annotated

import typer

from m2vcli.console import err_console, out_console
from m2vcli.evaluation.leaderboard import LeaderboardConfig, TableFormat, leaderboard, make_leaderboard, rich_table

from ._options import ConfigOption, default, settings


def leaderboard_command(
    results: Annotated[
        list[str] | None,
        typer.Argument(help="Results folders (from m2v evaluate) or bench JSON files.", show_default=False),
    ] = None,
    table_format: Annotated[
        TableFormat | None,
        typer.Option(
            "--format",
            "-f",
            help=f"Output format (default: {default(LeaderboardConfig, 'format')}).",
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
    """Rank models by their average score per category, as in the seed's results table.

    Examples:

        m2v leaderboard results/

        m2v leaderboard results/ bench.json --format markdown

        m2v leaderboard results/ bench.json --plot speed_vs_score.png
    """
    cfg = settings(
        LeaderboardConfig,
        config,
        {"results": tuple(results) if results else None, "format": table_format, "plot": plot},
    )
    console = err_console()
    rows = leaderboard(
        cfg, warn=lambda message: console.print(f"warning: {message}", markup=False, style="yellow", soft_wrap=True)
    )
    apart = [f"{row.model} ({', '.join(row.left_out)})" for row in rows if row.left_out]
    if apart:  # like with like: what some models have and others lack is not averaged
        console.print(f"note: averages are over the tasks every model has; left out: {'; '.join(apart)}", markup=False)
    if cfg.plot:
        from m2vcli.evaluation.leaderboard import find_result_files, plot_speed_vs_score

        plotted = plot_speed_vs_score(rows, cfg.plot, inputs=find_result_files(cfg.results))
        console.print(f"Plotted {plotted} models to {cfg.plot}.", markup=False)
    if cfg.format is TableFormat.TABLE:
        out_console().print(rich_table(rows))
    else:
        typer.echo(make_leaderboard(rows, cfg.format), nl=False)
