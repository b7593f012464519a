"""``m2v info``: what a model folder holds, without loading the model."""

from __future__ import annotations

from typing import Annotated

import typer

from m2vcli.model.info import InfoConfig, info_table, model_info
from m2vcli.tables import TableFormat

from ._options import ConfigOption, TableFormatOption, settings
from ._output import emit, terminal_width


def info_command(
    model_argument: Annotated[
        str | None,
        typer.Argument(
            metavar="MODEL",
            help="Model folder or Hugging Face hub id: a static model or a Sentence Transformer (required).",
            show_default=False,
        ),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="The same as MODEL.", show_default=False)] = None,
    output_format: TableFormatOption = None,
    config: ConfigOption = None,
) -> None:
    """Show what a model holds without loading it: dims, vocabulary, dtype, teacher, size, origin.

    A static model (m2v's or model2vec's format) also shows the distillation settings its config.json
    records; a Sentence Transformer shows its layers, parameters, maximum length and pooling.

    Examples:

        m2v info my_model

        m2v info sentence-transformers/all-MiniLM-L6-v2

        m2v info my_model --format json
    """
    if model_argument and model and model_argument != model:
        raise typer.BadParameter("give the model once: as MODEL or with --model", param_hint="--model")
    cfg = settings(InfoConfig, config, {"model": model_argument or model, "format": output_format})
    info = model_info(str(cfg.model))
    width = terminal_width() if cfg.format is TableFormat.TABLE else None
    emit(info_table(info, width), cfg.format, document=info.as_dict())
