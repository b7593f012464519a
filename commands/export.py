"""``m2v export``: a static model or a classifier for other runtimes (ONNX)."""

from __future__ import annotations

from typing import Annotated

import typer

from m2vcli.console import err_console
from m2vcli.export import ExportConfig, ExportFormat, export_model

from ._options import ConfigOption, ModelOption, settings


def export_command(
    model: ModelOption = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="Folder to write (model.onnx and the tokenizer files).", show_default=False
        ),
    ] = None,
    export_format: Annotated[
        ExportFormat | None,
        typer.Option("--format", "-f", help="What to export to (default: onnx).", show_default=False),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an output folder that is not an export.")] = False,
    config: ConfigOption = None,
) -> None:
    """Export a static model (vectors) or a classifier (probabilities) as an ONNX graph with its tokenizer.

    The graph takes input_ids and attention_mask (int64, batch x sequence), as runtimes give them.

    Examples:

        m2v export -m my_model -o my_model_onnx

        m2v export -m my_classifier --format onnx -o my_classifier_onnx
    """
    cfg = settings(
        ExportConfig, config, {"model": model, "output": output, "format": export_format, "force": force or None}
    )
    result = export_model(cfg)
    err_console().print(
        f"Exported the {result.kind} to {result.output}/model.onnx ({result.bytes / 1e6:.1f} MB; output "
        f"{result.outputs!r}) with its tokenizer.",
        markup=False,
    )
