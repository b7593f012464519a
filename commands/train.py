"""``m2v train``: a classifier from a static model and labelled texts."""

from __future__ import annotations

from typing import Annotated

import typer

from m2vcli.classify.job import TrainConfig, TrainResult, run_training
from m2vcli.classify.train import ClassWeight, describe_epoch
from m2vcli.console import err_console

from ._options import ConfigOption, ForceOption, InputFormatOption, ModelOption, SavePathOption, default, settings
from ._output import existing_model, say_replaced, say_still_improving

T = TrainConfig


def _epoch_line(record: dict[str, float]) -> None:
    err_console().print(describe_epoch(record), markup=False)


def train_command(
    model: ModelOption = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="Labelled texts: .jsonl, .csv/.tsv or .parquet with a text and a label field (a file, folder or "
            "glob). A list of labels per text trains a multi-label classifier.",
            show_default=False,
        ),
    ] = None,
    save_path: SavePathOption = None,
    text_field: Annotated[
        str | None,
        typer.Option(help=f"The text's field or column (default: {default(T, 'text_field')}).", show_default=False),
    ] = None,
    label_field: Annotated[
        str | None,
        typer.Option(help=f"The label's field or column (default: {default(T, 'label_field')}).", show_default=False),
    ] = None,
    validation: Annotated[
        str | None,
        typer.Option(
            help="Labelled texts to choose the best epoch on (default: a seeded, stratified share of --data).",
            show_default=False,
        ),
    ] = None,
    validation_share: Annotated[
        float | None,
        typer.Option(
            help=f"Share of --data held out without --validation (default: {default(T, 'validation_share')}).",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Passes over the data at most; training stops when validation accuracy stops improving "
            f"(default: {default(T, 'epochs')}).",
            show_default=False,
        ),
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Epochs without improvement before stopping (default: {default(T, 'patience')}).",
            show_default=False,
        ),
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(help=f"Adam learning rate (default: {default(T, 'learning_rate')}).", show_default=False),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Texts per step (default: from the number of texts, 32 to 512).", show_default=False),
    ] = None,
    hidden_dim: Annotated[
        int | None,
        typer.Option(
            min=1, help=f"Width of the head's hidden layers (default: {default(T, 'hidden_dim')}).", show_default=False
        ),
    ] = None,
    layers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help=f"Hidden layers of the head; 0 = one linear layer (default: {default(T, 'layers')}).",
            show_default=False,
        ),
    ] = None,
    freeze: Annotated[
        bool | None,
        typer.Option("--freeze", help="Train the head alone; the token table stays as it is.", show_default=False),
    ] = None,
    class_weight: Annotated[
        ClassWeight | None,
        typer.Option(
            help=f"balanced: rare classes weigh as much as common ones (default: {default(T, 'class_weight')}).",
            show_default=False,
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help=f"Multi-label: a class is predicted past this probability (default: {default(T, 'threshold')}).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0, help=f"Seed of the split and training (default: {default(T, 'seed')}).", show_default=False
        ),
    ] = None,
    input_format: InputFormatOption = None,
    force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """Train a classifier: the model's token table and a small head, fine-tuned together on labelled texts.

    The result is a static model folder plus a head, for m2v predict, m2v encode and model2vec's StaticModelPipeline.

    Examples:

        m2v train -m my_model --data train.csv -o my_classifier

        m2v train -m my_model --data train.jsonl --validation dev.jsonl -o clf

        m2v train -m my_model --data tickets.jsonl --label-field tags -o tagger
    """
    flags = {
        "model": model,
        "data": data,
        "save_path": save_path,
        "text_field": text_field,
        "label_field": label_field,
        "validation": validation,
        "validation_share": validation_share,
        "epochs": epochs,
        "patience": patience,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "hidden_dim": hidden_dim,
        "layers": layers,
        "freeze": freeze,
        "class_weight": class_weight,
        "threshold": threshold,
        "seed": seed,
        "input_format": input_format,
        "force": force or None,
    }
    cfg = settings(TrainConfig, config, flags)
    existed = existing_model(cfg.save_path)
    console = err_console()
    result = run_training(
        cfg, on_phase=lambda name: console.print(f"{name}...", markup=False, style="dim"), on_epoch=_epoch_line
    )
    render_summary(result)
    if result.fit.still_improving:
        say_still_improving(len(result.fit.history), "validation accuracy")
    say_replaced(cfg.save_path, existed)


def render_summary(result: TrainResult) -> None:
    from rich.table import Table
    from rich.text import Text

    fit = result.fit
    clf = fit.classifier
    best = fit.best
    table = Table(title="Trained", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    kind = "multi-label" if clf.multilabel else "one label per text"
    counts = ", ".join(f"{c} {k:,}" for c, k in list(fit.class_counts.items())[:8])
    more = f", ... ({len(fit.class_counts)} classes)" if len(fit.class_counts) > 8 else ""
    rows = [
        ("data", f"{result.data}: {fit.texts['train']:,} train, {fit.texts['validation']:,} validation"),
        ("classes", f"{kind}: {counts}{more}"),
        ("epochs", f"{len(fit.history)} run, best {fit.best_epoch}"),
        ("validation", f"accuracy {best.get('validation_accuracy', 0):.2%}, loss {best.get('validation_loss', 0):.4f}"),
        ("time", f"{result.timings.get('train', 0):.1f} s training"),
        ("saved", result.save_path),
    ]
    for name, value in rows:
        table.add_row(name, Text(value))
    err_console().print(table)
