"""``m2v encode``: turn lines of text into vectors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from m2vcli.console import err_console, progress_bar, stderr_is_terminal
from m2vcli.encoding import EncodeConfig, InputErrors, OutputFormat, encode_lines

from ._options import ConfigOption, RequiredModelOption, default, settings


def encode(
    input_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="[INPUT]",
            help="Text file, one text per line (default: standard input).",
            show_default=False,
            readable=False,  # m2v reads it, and says in one line why it cannot
        ),
    ] = None,
    model: RequiredModelOption = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Output file (default: standard output).", show_default=False),
    ] = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format", "-f", help="Output format (default: from the -o extension, else npy).", show_default=False
        ),
    ] = None,
    normalize: Annotated[
        bool | None,
        typer.Option(
            "--normalize/--no-normalize", help="L2-normalize vectors (default: as the model says).", show_default=False
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            help=f"Batch size, counted in texts (input lines) (default: {default(EncodeConfig, 'batch_size')}).",
            show_default=False,
        ),
    ] = None,
    max_length: Annotated[
        int | None,
        typer.Option(
            "--max-length",
            min=0,
            help="Truncate texts to this many tokens; 0 = no limit (default: the model's).",
            show_default=False,
        ),
    ] = None,
    errors: Annotated[
        InputErrors | None,
        typer.Option(
            "--errors",
            help="Invalid UTF-8: stop with an error, or replace the bad bytes "
            f"(default: {default(EncodeConfig, 'errors')}).",
            show_default=False,
        ),
    ] = None,
    text: Annotated[
        list[str] | None,
        typer.Option(
            "--text",
            "-t",
            help="A text to encode (repeatable) instead of an input; JSON lines on stdout unless --format or -o.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Encode text, one vector per input line, in input order (a blank line gives a zero vector).

    Examples:

        m2v encode --model my_model < sentences.txt > vectors.npy

        m2v encode --model my_model sentences.txt -o vectors.safetensors

        echo "It's dangerous to go alone!" | m2v encode -m my_model --format jsonl

        m2v encode -m my_model --text "It's dangerous to go alone!"
    """
    flags = {
        "model": model,
        "input": str(input_file) if input_file is not None else None,
        "output": output,
        "format": output_format,
        "normalize": normalize,
        "batch_size": batch_size,
        "max_length": max_length,
        "errors": errors,
        "texts": tuple(text) if text else None,
    }
    cfg = settings(EncodeConfig, config, flags)
    show = stderr_is_terminal()
    with progress_bar("Encoding", unit="lines", enabled=show) as on_progress:
        result = encode_lines(
            cfg, stdout_is_terminal=sys.stdout is not None and sys.stdout.isatty(), on_progress=on_progress
        )
    if result.output != "-" or show:
        err_console().print(
            f"Encoded {result.rows:,} lines to {result.rows:,} x {result.dim} vectors ({result.format.value}) "
            f"in {result.output if result.output != '-' else 'standard output'}.",
            markup=False,
        )
