"""``m2v index``: encode a collection of texts into a search index for ``m2v search``."""

from __future__ import annotations

from typing import Annotated

import typer

from m2vcli.console import err_console, progress_bar, stderr_is_terminal
from m2vcli.model import DEFAULT_BATCH_SIZE

from ._options import ConfigOption, FieldOption, InputFormatOption, ModelOption, settings


def index_command(
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
        typer.Option("--output", "-o", help="Index folder to write (required).", show_default=False),
    ] = None,
    field: FieldOption = None,
    id_field: Annotated[
        str | None,
        typer.Option(
            "--id-field",
            help="A field or column shown as each result's id (default: the row number).",
            show_default=False,
        ),
    ] = None,
    input_format: InputFormatOption = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size", min=1, help=f"Texts encoded at once (default: {DEFAULT_BATCH_SIZE}).", show_default=False
        ),
    ] = None,
    force: Annotated[
        bool | None, typer.Option("--force", help="Replace an output folder that is not an index.", show_default=False)
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Build a search index: every text's vector, id and text, for m2v search.

    The input is streamed: memory does not grow with its size. An existing index at the output is
    replaced whole, once the new one is complete.

    Examples:

        m2v index -m my_model docs.txt -o docs.index

        m2v index -m my_model docs.jsonl --field body --id-field id -o docs.index

        m2v search docs.index "how do I reset my password"
    """
    flags = {
        "model": model,
        "input": input_file,
        "output": output,
        "field": field,
        "id_field": id_field,
        "input_format": input_format,
        "batch_size": batch_size,
        "force": force,
    }
    from m2vcli.search import IndexConfig, build_index  # here: the other commands start without it

    cfg = settings(IndexConfig, config, flags)
    with progress_bar("Indexing", unit="texts", enabled=stderr_is_terminal()) as on_progress:
        result = build_index(cfg, on_progress=on_progress)
    err_console().print(f"Indexed {result.rows:,} texts ({result.dims} dims) in {result.output}.", markup=False)
