"""``m2v encode``: turn lines of text into vectors."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from m2vcli.console import err_console, progress_bar, stderr_is_terminal
from m2vcli.encoding import (
    EncodeConfig,
    Engine,
    InputErrors,
    InputFormat,
    OutputFormat,
    VectorDType,
    encode_lines,
)
from m2vcli.encoding.job import input_format_of
from m2vcli.encoding.ray_workers import RAY_BATCH_SIZE
from m2vcli.model import DEFAULT_BATCH_SIZE

from ._options import ConfigOption, FieldOption, InputFormatOption, ModelOption, default, settings


def encode(
    input_file: Annotated[
        str | None,  # not a Path: a URI (file:///x, s3://b/k) must reach the core as written
        typer.Argument(
            metavar="INPUT",
            help="Text file (one text per line), .jsonl, .csv, .tsv or .parquet (default: standard input). "
            "With --engine ray: files, a folder, a glob or a URI Ray can read (s3://...).",
            show_default=False,
        ),
    ] = None,
    model: ModelOption = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Output file (default: standard output); with --engine ray, a folder of Parquet shards.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format", "-f", help="Output format (default: from the -o extension, else npy).", show_default=False
        ),
    ] = None,
    input_format: InputFormatOption = None,
    field: FieldOption = None,
    id_field: Annotated[
        str | None,
        typer.Option(
            "--id-field",
            help="A field or column to keep beside each vector as its id (jsonl or parquet output).",
            show_default=False,
        ),
    ] = None,
    dtype: Annotated[
        VectorDType | None,
        typer.Option("--dtype", help=f"Vector values (default: {default(EncodeConfig, 'dtype')}).", show_default=False),
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
            help=f"Batch size, counted in texts (input lines) (default: {DEFAULT_BATCH_SIZE:,}; "
            f"{RAY_BATCH_SIZE:,} with --engine ray, one output shard each).",
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
    engine: Annotated[
        Engine | None,
        typer.Option(
            "--engine",
            help=f"Run here, or on a Ray cluster (needs the ray extra) (default: {default(EncodeConfig, 'engine')}).",
            show_default=False,
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Ray: the cluster to join (auto, ray://host:10001); default: start Ray on this machine.",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", min=1, help="Ray: model copies at work (default: one per CPU).", show_default=False
        ),
    ] = None,
    force: Annotated[
        bool | None,
        typer.Option("--force", help="Ray: replace an existing output folder.", show_default=False),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Encode text, one vector per input text, in input order (a blank line gives a zero vector).

    The input is streamed: memory does not grow with its size.

    Examples:

        m2v encode --model my_model < sentences.txt > vectors.npy

        m2v encode --model my_model sentences.txt -o vectors.safetensors

        echo "It's dangerous to go alone!" | m2v encode -m my_model --format jsonl

        m2v encode -m my_model --text "It's dangerous to go alone!"

        m2v encode -m my_model docs.jsonl --field body --id-field id -o v.parquet

        m2v encode -m my_model --engine ray 'data/*.parquet' -o vectors/
    """
    flags = {
        "model": model,
        "input": input_file,
        "output": output,
        "format": output_format,
        "normalize": normalize,
        "batch_size": batch_size,
        "max_length": max_length,
        "errors": errors,
        "texts": tuple(text) if text else None,
        "input_format": input_format,
        "field": field,
        "id_field": id_field,
        "dtype": dtype,
        "engine": engine,
        "address": address,
        "concurrency": concurrency,
        "force": force,
    }
    cfg = settings(EncodeConfig, config, flags)
    show = stderr_is_terminal()
    if cfg.engine is Engine.ray:
        from m2vcli.encoding.ray_engine import encode_with_ray

        with progress_bar("Encoding", unit="texts", enabled=show) as on_progress:
            result = encode_with_ray(cfg, on_progress=on_progress)
        err_console().print(
            f"Encoded {result.rows:,} texts to {result.dim}-dim vectors in {result.output} (Parquet shards).",
            markup=False,
        )
        return
    unit = "lines" if input_format_of(cfg) is InputFormat.text else "texts"
    bar = show and not (cfg.texts and cfg.output in (None, "-"))  # no bar on the line of the vectors shown
    with progress_bar("Encoding", unit=unit, enabled=bar) as on_progress:
        result = encode_lines(
            cfg, stdout_is_terminal=sys.stdout is not None and sys.stdout.isatty(), on_progress=on_progress
        )
    if result.output != "-" or show:
        err_console().print(
            f"Encoded {result.rows:,} {unit if result.rows != 1 else unit[:-1]} to {result.rows:,} x {result.dim} "
            f"vectors ({result.format.value}) "
            f"in {result.output if result.output != '-' else 'standard output'}.",
            markup=False,
        )
