"""``m2v distill``: make a static model from a Sentence Transformer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from m2vcli.console import err_console, progress_bar, stderr_is_terminal
from m2vcli.distillation import DistillConfig, Pooling, Precision, Weighting
from m2vcli.model.quantization import Quantize
from m2vcli.refinement import DistillRefineResult, distill_and_refine

from ._options import (
    ConfigOption,
    CorpusOption,
    DeviceOption,
    ForceOption,
    MaxTextsOption,
    SavePathOption,
    TextFieldOption,
    default,
    missing_option,
    settings,
)
from ._output import corpus_size, count, existing_model, print_epoch, say_replaced, say_still_improving

D = DistillConfig
TeacherOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Teacher: hub id or Sentence Transformer folder (default: the packaged all-MiniLM-L6-v2).",
        show_default=False,
    ),
]
DtypeOption = Annotated[
    Precision | None,
    typer.Option(
        help="Teacher arithmetic: auto (bfloat16 where the CPU has it, else float32), float32, bfloat16 or float16 "
        f"(default: {default(D, 'dtype')}).",
        show_default=False,
    ),
]
PcaDimsOption = Annotated[
    str | None,
    typer.Option(
        help=f"Output dims: N, a share of variance in (0, 1), or none (default: {default(D, 'pca_dims')}).",
        show_default=False,
    ),
]
SifOption = Annotated[
    float | None,
    typer.Option(help=f"SIF a in a / (a + p) (default: {default(D, 'sif_coefficient')}).", show_default=False),
]
NoSifOption = Annotated[bool, typer.Option("--no-sif", help="Do not weight tokens by frequency.")]
RemovePatternOption = Annotated[
    str | None,
    typer.Option(help=f"Tokens to drop, a regex (default: {default(D, 'token_remove_pattern')}).", show_default=False),
]
VocabularyOption = Annotated[
    str | None,
    typer.Option(
        "--vocabulary",
        help="Words to add: wordfreq:LANG:N, corpus:N (top N of --corpus) or a word file.",
        show_default=False,
    ),
]
VocabularyPathOption = Annotated[
    Path | None,
    typer.Option(
        help="Word file: one word per line, most frequent first (word<TAB>count too).",
        show_default=False,
        dir_okay=False,
    ),
]
WeightingOption = Annotated[
    Weighting | None,
    typer.Option(
        help="SIF token probabilities: frequency (by rank; added words by their known counts), zipf (all by "
        f"rank) or corpus (counted in --corpus) (default: {default(D, 'weighting')}).",
        show_default=False,
    ),
]
PoolingOption = Annotated[
    Pooling | None,
    typer.Option(
        help="A token's vector from the teacher's outputs: blend, tokens, mean, first or last "
        f"(default: {default(D, 'pooling')}).",
        show_default=False,
    ),
]
BatchSizeOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help=f"Teacher batch, counted in vocabulary tokens (default: {default(D, 'batch_size')}).",
        show_default=False,
    ),
]
TrustOption = Annotated[bool, typer.Option("--trust-remote-code", help="Let a teacher run code it ships.")]
NoRefineOption = Annotated[
    bool,
    typer.Option(
        "--no-refine",
        help="Only count --corpus (for --vocabulary corpus:N, --weighting corpus); do not refine on it.",
    ),
]


QuantizeOption = Annotated[
    Quantize | None,
    typer.Option(
        help=f"Table storage: float32, float16 or int8 (default: {default(D, 'quantize')}).", show_default=False
    ),
]


def distill_command(
    model: TeacherOption = None,
    save_path: SavePathOption = None,
    device: DeviceOption = None,
    dtype: DtypeOption = None,
    pca_dims: PcaDimsOption = None,
    sif_coefficient: SifOption = None,
    no_sif: NoSifOption = False,
    quantize: QuantizeOption = None,
    token_remove_pattern: RemovePatternOption = None,
    vocabulary: VocabularyOption = None,
    vocabulary_path: VocabularyPathOption = None,
    weighting: WeightingOption = None,
    pooling: PoolingOption = None,
    batch_size: BatchSizeOption = None,
    trust_remote_code: TrustOption = False,
    force: ForceOption = False,
    corpus: CorpusOption = None,
    text_field: TextFieldOption = None,
    max_texts: MaxTextsOption = None,
    no_refine: NoRefineOption = False,
    config: ConfigOption = None,
) -> None:
    """Distill a static model from a Sentence Transformer: no training data needed.

    Examples:

        m2v distill -o my_model

        m2v distill -m BAAI/bge-base-en-v1.5 --device mps -o bge_static

        m2v distill --pca-dims 128 --quantize int8 -o small_model

        m2v distill --vocabulary wordfreq:en:50000 -o words_model

        m2v distill -o refined_model --corpus texts.txt

        m2v distill -o counted_model --corpus texts.txt --weighting corpus --no-refine
    """
    if vocabulary and vocabulary_path:
        raise typer.BadParameter("give --vocabulary or --vocabulary-path, not both", param_hint="--vocabulary")
    flags = {
        "model": model,
        "save_path": save_path,
        "device": device,
        "dtype": dtype,
        "pca_dims": pca_dims,
        "sif_coefficient": sif_coefficient,
        "quantize": quantize,
        "token_remove_pattern": token_remove_pattern,
        "vocabulary": vocabulary or (str(vocabulary_path) if vocabulary_path else None),
        "weighting": weighting,
        "pooling": pooling,
        "batch_size": batch_size,
        "trust_remote_code": trust_remote_code or None,
        "force": force or None,
        "corpus": corpus,
        "text_field": text_field,
        "max_texts": max_texts,
        "refine": False if no_refine else None,
    }
    cfg = settings(DistillConfig, config, flags)
    if no_sif:
        cfg = DistillConfig(**{**cfg.__dict__, "sif_coefficient": None})
    if not cfg.save_path:
        raise missing_option("--save-path / -o", "give the folder to write the model to")
    existed = existing_model(cfg.save_path)
    console = err_console()
    show = stderr_is_terminal()  # a progress bar; off a terminal, plain lines (see PhaseLog)
    phases = PhaseLog()
    with (
        progress_bar("Embedding tokens", unit="tokens", enabled=show, log_lines=True) as on_progress,
        progress_bar("Featurizing the corpus", unit="texts", enabled=show, log_lines=True) as on_corpus_progress,
    ):  # each bar appears at its first update; the first is complete by then
        result = distill_and_refine(
            cfg,
            on_progress=on_progress,
            on_corpus_progress=on_corpus_progress,
            on_phase=(lambda name: console.print(f"{name}...", markup=False)) if show else phases,
            on_step=print_epoch,
        )
    phases.end()
    render_summary(result)
    if result.refinement is not None and result.refinement.training.still_improving:
        say_still_improving(len(result.refinement.training.history), "validation loss")
    say_replaced(cfg.save_path, existed)


def render_summary(result: DistillRefineResult) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Distilled", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    skipped = ", ".join(f"{n:,} {why}" for why, n in result.skipped.items() if n) or "none"
    added = f"{result.added:,} words added ({result.normalized:,} normalized); " if result.added else ""
    rows = [
        ("teacher", result.teacher),
        ("saved to", result.save_path or "-"),
        ("vocabulary", f"{result.vocab_size:,} rows; {added}skipped: {skipped}"),
        ("dims", f"{result.teacher_dim} -> {result.dims}"),
        ("device / precision", f"{result.device} / {result.precision}"),
        ("size on disk", f"{result.bytes_on_disk / 1e6:.1f} MB" if result.bytes_on_disk else "-"),
        ("time", ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())),
    ]
    counted = result.model.config.get("distillation", {}).get("corpus")
    if counted:
        rows.append(("counted", f"{counted['name']}: {count(counted['texts'], 'text')} (not refined on)"))
    refined = result.refinement
    if refined is not None:
        training = refined.training
        rows.append(("refined on", f"{refined.corpus}: {corpus_size(refined.texts, refined.pieces)}"))
        loss = f"{training.initial_validation_loss:.4f} -> {training.validation_loss:.4f}"
        rows.append(("training", f"{training.steps:,} steps (best {training.best_step:,}); held-out loss {loss}"))
    for key, value in rows:
        table.add_row(key, Text(value))
    err_console().print(table)


class PhaseLog:
    """Off a terminal, a plain line as each phase of distillation ends, with its time
    (``Loading the teacher: done in 2.1 s``): a log shows what finished, and a run that fails keeps its
    error as the only line about it. Called with each phase's name as it begins."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.since = 0.0

    def __call__(self, name: str) -> None:
        import time

        self.end()
        self.current, self.since = name, time.perf_counter()

    def end(self) -> None:
        import time

        from m2vcli.console import duration

        if self.current is not None:
            seconds = time.perf_counter() - self.since
            err_console().print(f"{self.current}: done in {duration(seconds)}", markup=False)
        self.current = None
