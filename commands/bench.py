"""``m2v bench``: a speed report, static models against their teacher."""

from __future__ import annotations

from typing import Annotated

import typer
from m2vcli.commands._options import ConfigOption

from m2vcli.benchmark.runner import BenchConfig, BenchReport, read_corpus, run_bench
from m2vcli.benchmark.targets import resolve_targets
from m2vcli.config import build_config
from m2vcli.console import err_console, stderr_is_terminal


def bench(
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
        int | None, typer.Option("--n", min=1, help="Texts to encode (default: 5000).", show_default=False)
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1, help="Texts per batch for batch latency and transformers (default: 64).", show_default=False
        ),
    ] = None,
    repeats: Annotated[
        int | None, typer.Option(min=1, help="Timed passes over the texts (default: 3).", show_default=False)
    ] = None,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Write the report as JSON here.", show_default=False)
    ] = None,
    reference: Annotated[
        bool, typer.Option("--reference", help="Also time model2vec's encoder on each static model (needs model2vec).")
    ] = False,
    quick: Annotated[
        bool, typer.Option("--quick", help="A rough answer in seconds: fewer texts, one pass, no cold start.")
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
    }
    settings = build_config(BenchConfig, config, flags)
    console = err_console()
    say = (lambda message: console.print(message, markup=False, style="dim")) if stderr_is_terminal() else None
    if settings.corpus:
        texts = read_corpus(settings.corpus)[: settings.n]
    else:
        from m2vcli.packaged_data import movie_review_sentences

        texts = movie_review_sentences(settings.n, seed=0)
    targets = resolve_targets(settings, progress=say)
    report = run_bench(settings, targets, texts, progress=say)
    render(report)


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
    err_console().print(table)
    versions = ", ".join(f"{k} {v}" for k, v in report.versions.items())
    err_console().print(Text(f"versions: {versions}", style="dim"))
