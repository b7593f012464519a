"""``m2v bench``: a speed report, static models against their teacher."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from m2vcli.benchmark.runner import BenchReport, ModelReport, bench
from m2vcli.benchmark.settings import FULL, QUICK, BenchConfig
from m2vcli.console import err_console, progress_bar, stderr_is_terminal
from m2vcli.tables import EMPTY, Column, ResultTable, TableFormat, plain, shorten

from ._options import ConfigOption, TableFormatOption, default, settings
from ._output import emit


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
            help="Texts per batch: the batch-latency figure times one batch of this many texts, and a Sentence "
            f"Transformer encodes this many at a time (default: {default(BenchConfig, 'batch_size')}).",
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
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Also write the whole report as JSON to this file.", show_default=False),
    ] = None,
    table_format: TableFormatOption = None,
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

        m2v bench --model my_model --reference -o bench.json

        m2v bench --model my_model --corpus sentences.txt --quick

        m2v bench --quick --format markdown
    """
    flags = {
        "models": tuple(model) if model else None,
        "corpus": corpus,
        "n": n,
        "batch_size": batch_size,
        "repeats": repeats,
        "output": output,
        "format": table_format,
        "reference": reference or None,
        "quick": quick or None,
        "teacher": teacher,
    }
    cfg = settings(BenchConfig, config, flags)
    console = err_console()
    terminal = stderr_is_terminal()

    def say(message: str) -> None:
        console.print(message, markup=False, style="dim" if terminal else None)

    with progress_bar("Embedding tokens", unit="tokens", enabled=terminal, log_lines=True) as on_progress:
        report = bench(cfg, progress=say, on_progress=on_progress)
    emit(bench_table(report, cfg.format), cfg.format, document=asdict(report))
    for failed in (r for r in report.models if r.error):
        console.print(
            f"{failed.name} failed: {plain(failed.error or '')}", markup=False, style="red" if terminal else None
        )
    versions = ", ".join(f"{k} {v}" for k, v in report.versions.items())
    console.print(f"versions: {versions}", markup=False, style="dim" if terminal else None)
    if report.models and all(r.error for r in report.models):
        raise typer.Exit(1)  # nothing was timed: a script must not read this as success


COLUMNS = [
    Column("model", text=True),
    Column("role", text=True),
    Column("status", text=True),
    Column("sent/s"),
    Column("range", text=True),
    Column("x teacher"),
    Column("tokens/s"),
    Column("p50 ms"),
    Column("p99 ms"),
    Column("batch ms"),
    Column("cold s"),
    Column("peak MiB"),
    Column("disk MB"),
    Column("params"),
    Column("dims"),
]


def bench_table(report: BenchReport, fmt: TableFormat | str = TableFormat.TABLE) -> ResultTable:
    """The report as a table: one row per model; a column no model has a value for is left out when drawn.

    Numbers keep thousands separators except in CSV, where they stay plain numbers. ``range`` is the
    slowest and fastest pass, shown only when there was more than one.
    """
    csv = TableFormat(fmt) is TableFormat.CSV
    settings, machine = report.settings, report.machine
    passes = int(settings.get("repeats") or 1)
    head = f"m2v bench: {settings['n']:,} texts, {passes} timed pass{'' if passes == 1 else 'es'}"
    if settings.get("quick"):
        head += " (--quick: rough figures)"
    where = f"{shorten(str(machine['cpu']), 48)} ({machine['cores']} cores, {machine['threads']} threads)"
    rows = [_row(r, passes, csv) for r in report.models]
    return ResultTable(f"{head}\n{where}", list(COLUMNS), rows)


def _row(r: ModelReport, passes: int, csv: bool) -> list[str]:
    def num(value: float | int | None, spec: str) -> str:
        return EMPTY if value is None else format(value, spec.replace(",", "") if csv else spec)

    role = "teacher" if r.teacher else ""
    if r.error:
        return [r.name, role, "failed"] + [("" if c.text else EMPTY) for c in COLUMNS[3:]]
    sps = r.sentences_per_s
    spread = f"{num(sps['min'], ',.0f')}-{num(sps['max'], ',.0f')}" if passes > 1 and sps else ""
    params = EMPTY if r.parameters is None else (str(r.parameters) if csv else f"{r.parameters / 1e6:.1f}M")
    return [
        r.name,
        role,
        "",
        num(sps.get("median"), ",.0f"),
        spread,
        num(r.speedup_vs_teacher, ",.1f"),
        num(r.tokens_per_s, ",.0f"),
        num(r.latency_ms.get("p50"), ".3f"),
        num(r.latency_ms.get("p99"), ".3f"),
        num(r.batch_latency_ms, ",.2f"),
        num(r.cold_start_s, ".2f"),
        num(r.peak_mib, ",.0f"),
        num(r.bytes_on_disk / 1e6 if r.bytes_on_disk else None, ",.1f"),
        params,
        num(r.dims, "d"),
    ]
