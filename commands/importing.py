"""``m2v import``: a foreign static table (GloVe, word2vec, fastText, WordLlama) as an m2v model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from m2vcli.console import err_console
from m2vcli.importing import ImportConfig, VectorFormat, import_vectors
from m2vcli.model.quantization import Quantize

from ._options import ConfigOption, ForceOption, SavePathOption, missing_option, settings
from ._output import existing_model, say_replaced


def import_command(
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="PATH",
            help="Vectors: GloVe or word2vec text, fastText .vec, a .npy table (with --words) or a .safetensors "
            "token table (with --tokenizer) (required).",
            show_default=False,
        ),
    ] = None,
    save_path: SavePathOption = None,
    vector_format: Annotated[
        VectorFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="How to read PATH: auto (by its extension), text, npy or safetensors (default: auto).",
            show_default=False,
        ),
    ] = None,
    words: Annotated[
        str | None,
        typer.Option(
            help="A .npy table's words: one per line (or a .parquet column), row i = line i.", show_default=False
        ),
    ] = None,
    tokenizer: Annotated[str | None, typer.Option(help="A token table's tokenizer.json.", show_default=False)] = None,
    max_words: Annotated[
        int | None,
        typer.Option(min=1, help="Keep the first N words (tables are sorted by frequency).", show_default=False),
    ] = None,
    quantize: Annotated[
        Quantize | None,
        typer.Option(help="Table storage: float32, float16 or int8 (default: float16).", show_default=False),
    ] = None,
    force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """Import a static table from elsewhere as a model folder, to evaluate, bench and use beside m2v's.

    A word table (GloVe, word2vec, fastText) gets a word-level tokenizer: text is split at spaces and
    punctuation, lower-cased when the table has no upper-case word, and unknown words are dropped; a text's
    vector is the mean of its words' rows. A token table keeps its own tokenizer.

    Examples:

        m2v import glove.6B.300d.txt -o glove_300d

        m2v import cc.en.300.vec --max-words 200000 -o fasttext_200k

        m2v import glove_6B_50d_emb.npy --words glove_6B_index.parquet -o glove_50d

        m2v import l2_supercat_256.safetensors --tokenizer tokenizer.json -o wl256
    """
    cfg = settings(
        ImportConfig,
        config,
        {
            "path": path,
            "save_path": save_path,
            "format": vector_format,
            "words": words,
            "tokenizer": tokenizer,
            "max_words": max_words,
            "quantize": quantize,
            "force": force or None,
        },
    )
    if not cfg.save_path:
        raise missing_option("--save-path / -o", "give the folder to write the model to")
    existed = existing_model(cfg.save_path)
    result = import_vectors(cfg)
    say_replaced(cfg.save_path, existed)
    case = "lower-cased" if result.lowercase else "cased"
    what = f"{result.rows:,} words ({case})" if result.kind == "words" else f"{result.rows:,} tokens"
    skipped = f"; {result.skipped:,} repeated words left out" if result.skipped else ""
    err_console().print(
        f"Imported {Path(str(cfg.path)).name}: {what} x {result.dims} dims, saved to {result.save_path}{skipped}.",
        markup=False,
    )
