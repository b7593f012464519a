"""``m2v bench``: a speed report, static models against their teacher."""

from __future__ import annotations

from typing import Annotated

import typer

from m2vcli.benchmark.runner import FULL, QUICK, BenchConfig, BenchReport, bench
from m2vcli.console import err_console, out_console, stderr_is_terminal

from ._options import ConfigOption, default, settings


def bench_command(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="A model to time (repeatable): static or Sentence Transformer, folder or hub id "
            "(default: the packaged teacher and a model distilled from it).",
            show_default=False,
        ),
    ] = None,
    corpus: Annotated[
        str | None,
        typer.Option(help="Text file, one text per line (default: movie-review sentences).", show_default=False),
    ] = None,
    n: Annotated[
        int | None,
        typer.Option(
            "--texts",
            "-n",
            "--n",
            min=1,
            help=f"Texts to encode (default: {FULL['n']}; {QUICK['n']} with --quick).",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Texts per batch for batch latency and transformers (default: {default(BenchConfig, 'batch_size')}).",
            show_default=False,
        ),
    ] = None,
    repeats: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Timed passes over the texts (default: {FULL['repeats']}; {QUICK['repeats']} with --quick).",
            show_default=False,
        ),
    ] = None,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Write the report as JSON here.", show_default=False)
    ] = None,
    reference: Annotated[
        bool, typer.Option("--reference", help="Also time model2vec's encoder on each static model (needs model2vec).")
    ] = False,
    teacher: Annotated[
        bool | None,
        typer.Option(
            "--teacher/--no-teacher",
            help="Time the static models' teacher beside them (default: yes).",
            show_default=False,
        ),
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="A rough answer in seconds: fewer texts, one pass, no cold start (given values win)."
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Time encoding: sentences/s, tokens/s, latency, cold start, memory, size, with a x-teacher column.

    Examples:

        m2v bench

        m2v bench --model my_model --reference --json bench.json

        m2v bench --model my_model --corpus sentences.txt --quick
    """
    flags = {
        "models": tuple(model) if model else None,
        "corpus": corpus,
        "n": n,
        "batch_size": batch_size,
        "repeats": repeats,
        "json_path": json_path,
        "reference": reference or None,
        "quick": quick or None,
        "teacher": teacher,
    }
    cfg = settings(BenchConfig, config, flags)
    console = err_console()
    say = (lambda message: console.print(message, markup=False, style="dim")) if stderr_is_terminal() else None
    report = bench(cfg, progress=say)
    render(report)
    if report.models and all(r.error for r in report.models):
        raise typer.Exit(1)  # nothing was timed: a script must not read this as success


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render(report: BenchReport) -> None:
    from rich.table import Table
    from rich.text import Text

    m = report.machine
    table = Table(
        title=f"m2v bench: {report.settings['n']:,} texts on {m['cpu']} ({m['cores']} cores, {m['threads']} threads)"
    )
    for column in (
        "model",
        "sent/s",
        "x teacher",
        "tokens/s",
        "p50 ms",
        "p99 ms",
        "batch ms",
        "cold s",
        "peak MiB",
        "disk MB",
        "params",
        "dims",
    ):
        table.add_column(column, justify="left" if column == "model" else "right")
    for r in report.models:
        if r.error:
            table.add_row(Text(r.name), Text(f"failed: {r.error}", style="red"), *[""] * 10)
            continue
        sps = r.sentences_per_s
        table.add_row(
            Text(r.name),
            Text(f"{sps['median']:,.0f} ({sps['min']:,.0f}-{sps['max']:,.0f})"),
            _fmt(r.speedup_vs_teacher, ".1f"),
            _fmt(r.tokens_per_s, ",.0f"),
            _fmt(r.latency_ms.get("p50"), ".3f"),
            _fmt(r.latency_ms.get("p99"), ".3f"),
            _fmt(r.batch_latency_ms, ".2f"),
            _fmt(r.cold_start_s, ".2f"),
            _fmt(r.peak_mib, ",.0f"),
            _fmt(r.bytes_on_disk / 1e6 if r.bytes_on_disk else None, ".1f"),
            _fmt(r.parameters / 1e6 if r.parameters else None, ".1f") + ("M" if r.parameters else ""),
            _fmt(r.dims, "d"),
        )
    out_console().print(table)
    versions = ", ".join(f"{k} {v}" for k, v in report.versions.items())
    err_console().print(Text(f"versions: {versions}", style="dim"))
