"""``m2v predict``: labels and class probabilities for texts, from a classifier made by ``m2v train``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from m2vcli.classify.predict import PredictConfig, PredictFormat, predict_texts
from m2vcli.console import err_console, progress_bar, stderr_is_terminal

from ._options import ConfigOption, FieldOption, InputFormatOption, ModelOption, default, settings


def predict_command(
    input_file: Annotated[
        str | None,
        typer.Argument(
            metavar="INPUT",
            help="Text file (one text per line), .jsonl, .csv, .tsv or .parquet (default: standard input).",
            show_default=False,
        ),
    ] = None,
    model: ModelOption = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Output file (default: standard output).", show_default=False),
    ] = None,
    output_format: Annotated[
        PredictFormat | None,
        typer.Option(
            "--format", "-f", help="Output format (default: from the -o extension, else jsonl).", show_default=False
        ),
    ] = None,
    input_format: InputFormatOption = None,
    field: FieldOption = None,
    id_field: Annotated[
        str | None,
        typer.Option(
            "--id-field", help="A field or column to keep beside each prediction as its id.", show_default=False
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Multi-label: a class is predicted past this probability (default: the classifier's).",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            help=f"Texts per batch (default: {default(PredictConfig, 'batch_size')}).",
            show_default=False,
        ),
    ] = None,
    text: Annotated[
        list[str] | None,
        typer.Option("--text", "-t", help="A text to classify (repeatable) instead of an input.", show_default=False),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Classify texts: one row per input text, in order, with its label and every class's probability.

    The input is streamed: memory does not grow with its size.

    Examples:

        m2v predict -m my_classifier texts.txt > predictions.jsonl

        m2v predict -m my_classifier tickets.jsonl --id-field id -o out.csv

        m2v predict -m my_classifier --text "Cheap pills, click here"
    """
    flags = {
        "model": model,
        "input": input_file,
        "output": output,
        "format": output_format,
        "input_format": input_format,
        "field": field,
        "id_field": id_field,
        "threshold": threshold,
        "batch_size": batch_size,
        "texts": tuple(text) if text else None,
    }
    cfg = settings(PredictConfig, config, flags)
    show = stderr_is_terminal() and not (cfg.texts and cfg.output in (None, "-"))
    with progress_bar("Classifying", unit="texts", enabled=show) as on_progress:
        result = predict_texts(cfg, on_progress=on_progress)
    if result.output != "-" or (show and not sys.stdout.isatty()):
        top = sorted(result.counts.items(), key=lambda item: -item[1])[:5]
        shown = ", ".join(f"{label} {count:,}" for label, count in top)
        where = result.output if result.output != "-" else "standard output"
        err_console().print(
            f"Classified {result.rows:,} texts ({result.format.value}) in {where}: {shown}.", markup=False
        )
