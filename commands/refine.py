"""``m2v refine``: train a static model on a corpus to reproduce its teacher's text vectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from m2vcli.console import err_console, progress_bar, stderr_is_terminal
from m2vcli.distillation import Pooling
from m2vcli.model.quantization import Quantize
from m2vcli.refinement import Loss, RefineConfig, RefineResult, run_refinement

from ._options import (
    ConfigOption,
    CorpusOption,
    DeviceOption,
    ForceOption,
    MaxTextsOption,
    SavePathOption,
    TextFieldOption,
    default,
    settings,
)
from ._output import corpus_size, count, existing_model, print_epoch, say_replaced, say_still_improving

R = RefineConfig
EpochsOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help=f"Passes over the corpus at most; training stops early when the held-out loss stops "
        f"improving (default: {default(R, 'epochs')}).",
        show_default=False,
    ),
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        min=0, help=f"Seed of the sample, the split and training (default: {default(R, 'seed')}).", show_default=False
    ),
]

QuantizeOption = Annotated[
    Quantize | None,
    typer.Option(help="Storage type of the refined table (default: the input model's).", show_default=False),
]


def refine_command(
    model: Annotated[
        str | None, typer.Argument(help="The static model to refine: a folder or hub id.", show_default=False)
    ] = None,
    model_option: Annotated[
        str | None, typer.Option("--model", "-m", help="The same as MODEL.", show_default=False)
    ] = None,
    corpus: CorpusOption = None,
    save_path: SavePathOption = None,
    teacher: Annotated[
        str | None,
        typer.Option(help="The teacher (default: the one the model's config.json names).", show_default=False),
    ] = None,
    text_field: TextFieldOption = None,
    max_texts: MaxTextsOption = None,
    epochs: EpochsOption = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(help=f"AdamW learning rate (default: {default(R, 'learning_rate')}).", show_default=False),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help=f"Texts per training step (default: {default(R, 'batch_size')}).", show_default=False),
    ] = None,
    loss: Annotated[
        Loss | None,
        typer.Option(
            help="What training minimises: cosine or mse to each text's teacher vector, or contrastive (in-batch: "
            f"nearer its own than the batch's others) (default: {default(R, 'loss')}).",
            show_default=False,
        ),
    ] = None,
    pooling: Annotated[
        Pooling | None,
        typer.Option(
            help="Teacher outputs per text: tokens (the text's own positions), mean (with the special tokens), "
            f"blend, first or last (default: {default(R, 'pooling')}).",
            show_default=False,
        ),
    ] = None,
    seed: SeedOption = None,
    anchor: Annotated[
        float | None,
        typer.Option(
            help="How strongly each trained row is held near its distilled value (0: not at all) "
            f"(default: {default(R, 'anchor')}).",
            show_default=False,
        ),
    ] = None,
    device: DeviceOption = None,
    quantize: QuantizeOption = None,
    cache_dir: Annotated[
        str | None,
        typer.Option(
            help="Where the teacher's vectors of the corpus are cached (default: $M2V_CACHE or ~/.cache/m2v/features).",
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the feature cache.")] = False,
    force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """Refine a static model on a corpus: train its table to reproduce the teacher's text vectors.

    The teacher's vectors of the corpus are cached: a second run, or one after Ctrl-C, skips that part.

    The result is a normal static model folder (m2v, model2vec and sentence-transformers load it).

    Examples:

        m2v refine my_model --corpus texts.txt -o my_model_refined

        m2v refine -m my_model --corpus texts.txt -o my_model_refined

        m2v refine my_model --corpus "data/*.jsonl" --text-field body -o refined

        m2v refine my_model --corpus big.txt --max-texts 100000 -o refined

        m2v distill -o my_model --corpus texts.txt
    """
    if model and model_option and model != model_option:
        raise typer.BadParameter("give the model once: as MODEL or with --model", param_hint="--model")
    flags = {
        "model": model or model_option,
        "corpus": corpus,
        "save_path": save_path,
        "teacher": teacher,
        "text_field": text_field,
        "max_texts": max_texts,
        "epochs": epochs,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "loss": loss,
        "pooling": pooling,
        "seed": seed,
        "anchor": anchor,
        "device": device,
        "quantize": quantize,
        "cache_dir": cache_dir,
        "cache": False if no_cache else None,
        "force": force or None,
    }
    cfg = settings(RefineConfig, config, flags)
    existed = existing_model(cfg.save_path)
    result = with_progress(lambda **callbacks: run_refinement(cfg, **callbacks))
    render_summary(result, "Refined")
    if result.training.still_improving:
        say_still_improving(len(result.training.history), "validation loss")
    say_replaced(cfg.save_path, existed)


def with_progress(job: Callable[..., RefineResult]) -> RefineResult:
    """Run ``job(on_progress=..., on_phase=..., on_step=...)`` with a featurizing bar and phase lines on stderr."""
    console = err_console()
    show = stderr_is_terminal()

    def on_phase(name: str) -> None:
        console.print(f"{name}...", markup=False, style=None if show else "dim")

    with progress_bar("Featurizing the corpus", unit="texts", enabled=show, log_lines=True) as on_progress:
        return job(on_progress=on_progress, on_phase=on_phase, on_step=print_epoch)


def render_summary(result: RefineResult, title: str) -> None:
    from rich.table import Table
    from rich.text import Text

    training = result.training
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    cached = f" ({result.cached_texts:,} from the cache)" if result.cached_texts else ""
    for line in result.cache_dropped:
        err_console().print(f"warning: feature cache entry {line}", markup=False, style="yellow")
    rows = [
        ("teacher", result.teacher),
        ("corpus", f"{result.corpus}: {corpus_size(result.texts, result.pieces)}{cached}"),
        ("split", f"{training.texts.get('train', 0):,} train, {training.texts.get('validation', 0):,} held out"),
        (
            "training",
            f"{count(len(training.history), 'epoch')}, {training.steps:,} steps, {training.tokens_seen:,} tokens",
        ),
        (
            "validation loss",
            f"{training.initial_validation_loss:.4f} -> {training.validation_loss:.4f} "
            f"(best at step {training.best_step:,})",
        ),
        ("saved to", result.save_path or "-"),
        ("size", f"{result.bytes_on_disk / 1e6:.1f} MB" if result.bytes_on_disk else "-"),
        ("time", ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())),
    ]
    for key, value in rows:
        table.add_row(key, Text(value))
    err_console().print(table)
