"""``m2v leaderboard``: rank evaluated models."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from m2vcli.console import err_console
from m2vcli.evaluation.leaderboard import (
    cells,
    columns,
    find_result_files,
    make_leaderboard,
    parse_mteb_results,
    plot_speed_vs_score,
    summarize_results,
)


class TableFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def leaderboard(
    results: Annotated[list[str], typer.Argument(help="Results folders (from m2v evaluate) or bench JSON files.")],
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = TableFormat.table,
    plot: Annotated[
        str | None,
        typer.Option(
            help="Also draw sentences/s against Avg (All) to this PNG (needs matplotlib).", show_default=False
        ),
    ] = None,
) -> None:
    """Rank models by their average score per category, as in the seed's results table.

    Examples:

        m2v leaderboard results/

        m2v leaderboard results/ bench.json --format markdown

        m2v leaderboard results/ bench.json --plot speed_vs_score.png
    """
    console = err_console()
    scores, speeds = parse_mteb_results(
        find_result_files(results), lambda message: console.print(f"warning: {message}", markup=False, style="yellow")
    )
    rows = summarize_results(scores, speeds)
    if plot:
        plotted = plot_speed_vs_score(rows, plot)
        console.print(f"Plotted {plotted} models to {plot}.", markup=False)
    if format is not TableFormat.table:
        typer.echo(make_leaderboard(rows, format.value), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="m2v leaderboard (scores x 100; Covers: the categories in the averages)")
    names = columns(rows)
    for name in names:
        table.add_column(name, justify="left" if name in ("Model", "Covers") else "right")
    for row in rows:
        table.add_row(*cells(row, names))
    Console(highlight=False).print(table)
