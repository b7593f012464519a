"""Distillation: every token through the teacher once, PCA, SIF weighting, one vector per token.

The teacher sees each token alone between its own special tokens (``[CLS] token [SEP]`` for BERT) and
the outputs at the token's own positions are averaged (see ``Pooling``). Inputs are never padded
beyond a batch's longest item: single tokens all have the same length, so each batch is a dense tensor.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.callbacks import OnMessage, OnProgress
from m2vcli.config import coerce_enum
from m2vcli.distillation.numerics import Weighting, check_pca_dims, reduce_dims, row_weights
from m2vcli.distillation.vocabulary import Vocabulary, extend_vocabulary, teacher_vocabulary
from m2vcli.distillation.wordlists import CORPUS_PREFIX, WordList, corpus_word_list, load_word_list
from m2vcli.errors import ConfigError
from m2vcli.extras import require
from m2vcli.files import folder_bytes, local_path
from m2vcli.model import StaticEmbedder
from m2vcli.model.persistence import check_model_target
from m2vcli.model.quantization import Quantize, quantize
from m2vcli.teacher import (
    Device,
    LoadedTeacher,
    Pooling,
    Precision,
    check_before_loading,
    embed,
    load_teacher,
    packaged_teacher,
)
from m2vcli.version import __version__

UNUSED_PATTERN = r"\[unused\d+\]"


@dataclass(frozen=True)
class DistillConfig:
    """Settings of ``m2v distill`` (and ``m2vcli.distill``)."""

    model: str | None = None
    save_path: str | None = None
    device: Device = Device.AUTO
    dtype: Precision = Precision.AUTO
    pca_dims: int | float | None = 256
    sif_coefficient: float | None = 1e-4
    quantize: Quantize = Quantize.FLOAT16
    token_remove_pattern: str | None = UNUSED_PATTERN
    vocabulary: str | None = None
    weighting: Weighting = Weighting.FREQUENCY
    pooling: Pooling = Pooling.BLEND
    batch_size: int = 1024
    normalize: bool = True
    trust_remote_code: bool = False
    force: bool = False
    # ``m2v distill --corpus``: refine on these texts after distilling; ``m2vcli.refinement.pipeline``
    # reads and checks them (``distill`` itself refuses a corpus)
    corpus: str | None = None
    text_field: str = "text"
    max_texts: int | None = None
    # False: the corpus is only counted (a ``corpus:N`` vocabulary, ``weighting: corpus``), not refined on
    refine: bool = True

    def __post_init__(self) -> None:
        for name, enum in (
            ("device", Device),
            ("dtype", Precision),
            ("quantize", Quantize),
            ("weighting", Weighting),
            ("pooling", Pooling),
        ):
            coerce_enum(self, name, enum)
        object.__setattr__(self, "pca_dims", parse_pca_dims(self.pca_dims))
        if self.sif_coefficient is not None and not 0 < float(self.sif_coefficient) < 1:
            raise ConfigError(
                f"sif_coefficient must be between 0 and 1 (exclusive), got {self.sif_coefficient}",
                key="sif_coefficient",
            )
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size!r}", key="batch_size")

    def vocabulary_from_corpus(self) -> bool:
        """A ``corpus:N`` vocabulary: its words come from the corpus."""
        return self.vocabulary is not None and self.vocabulary.startswith(CORPUS_PREFIX)

    def counts_corpus(self) -> bool:
        """Whether distillation itself reads the corpus: a ``corpus:N`` vocabulary or ``weighting: corpus``."""
        return self.vocabulary_from_corpus() or self.weighting is Weighting.CORPUS


def parse_pca_dims(value: Any) -> int | float | None:
    """``256`` keeps 256 components, ``0.9`` keeps 90% of the variance, ``none`` skips PCA.

    >>> parse_pca_dims("128"), parse_pca_dims("0.95"), parse_pca_dims("none")
    (128, 0.95, None)
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in {"none", "null", ""}):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"pca_dims must be a whole number, a fraction in (0, 1) or none, got {value!r}", key="pca_dims"
        ) from exc
    if number.is_integer() and number >= 1:
        return int(number)
    if 0 < number < 1:
        return number
    raise ConfigError(
        f"pca_dims must be a whole number >= 1, a fraction in (0, 1) or none, got {value!r}", key="pca_dims"
    )


@dataclass
class DistillResult:
    model: StaticEmbedder
    teacher: str
    teacher_dim: int
    vocab_size: int
    added: int
    normalized: int
    skipped: dict[str, int]
    dims: int
    device: str
    precision: str
    timings: dict[str, float] = field(default_factory=dict)
    bytes_on_disk: int | None = None
    save_path: str | None = None


def build_vocabulary(cfg: DistillConfig, teacher: LoadedTeacher, words: WordList | None = None) -> Vocabulary:
    """The teacher's tokens (less ``token_remove_pattern``), extended with ``words`` when given."""
    base = teacher_vocabulary(teacher.tokenizer_json, cfg.token_remove_pattern)
    if words is None:
        return base
    return extend_vocabulary(base, words, teacher.tokenizer, teacher.max_tokens)


def run_distillation(
    config: DistillConfig | None = None,
    *,
    teacher: LoadedTeacher | None = None,
    words: WordList | None = None,
    corpus_texts: Sequence[str] | None = None,
    keep_float: bool = False,
    on_progress: OnProgress | None = None,
    on_phase: OnMessage | None = None,
    **settings: Any,
) -> DistillResult:
    """Distill a static model from a teacher; save it when ``save_path`` is set.

    ``teacher`` is used when already loaded, ``words`` when already read from ``vocabulary``;
    ``corpus_texts`` are the texts a ``corpus:N`` vocabulary counts words in; ``keep_float`` leaves the
    table float32 (it is refined next, then stored as ``quantize`` says). ``on_progress`` hears the tokens
    embedded. Distilling then refining on a corpus (``corpus=``) is
    ``m2vcli.refinement.pipeline.distill_and_refine``."""
    require("distill", "distilling a model")
    cfg = config or DistillConfig(**settings)
    if cfg.corpus:
        raise ConfigError("distill does not read a corpus: use m2vcli.refinement.distill_and_refine")
    progress = on_progress or (lambda done, total: None)
    phase = on_phase or (lambda name: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    if cfg.save_path:
        check_model_target(Path(cfg.save_path), force=cfg.force, reads=distill_reads(cfg))
    if words is None and cfg.vocabulary is not None:
        words = load_word_list(cfg.vocabulary)  # before the slow teacher load
    from_corpus = cfg.vocabulary_from_corpus()
    if from_corpus and corpus_texts is None:
        raise ConfigError(f"--vocabulary {cfg.vocabulary} takes its words from the corpus: give --corpus too")
    if cfg.weighting is Weighting.CORPUS and corpus_texts is None:
        raise ConfigError("--weighting corpus counts the tokens of the corpus: give --corpus too", key="weighting")
    if cfg.weighting is Weighting.CORPUS and cfg.sif_coefficient is None:
        raise ConfigError("--weighting corpus sets SIF weights: drop --no-sif", key="weighting")
    if teacher is None:
        width = check_before_loading(cfg.model, cfg.device)  # the device and --pca-dims, before the slow load
        if width is not None:
            check_pca_dims(cfg.pca_dims, width, width)
        phase("Loading the teacher")
        teacher = load_teacher(
            cfg.model,
            cfg.device,
            cfg.dtype,
            trust_remote_code=cfg.trust_remote_code,
            decoder_ok=cfg.pooling is Pooling.LAST,
        )
    if from_corpus and corpus_texts is not None:
        phase("Counting the corpus's words")
        words = corpus_word_list(str(cfg.vocabulary), list(corpus_texts), teacher.tokenizer)
    vocab = build_vocabulary(cfg, teacher, words)
    check_pca_dims(cfg.pca_dims, teacher.dim, len(vocab.tokens))  # before the long forward pass
    lap("load")
    phase("Embedding tokens")
    vectors = embed(teacher, vocab.teacher_ids, cfg.pooling, batch_size=cfg.batch_size, on_progress=progress)
    lap("forward")
    phase("PCA and weighting")
    vectors = reduce_dims(vectors, cfg.pca_dims)
    if cfg.sif_coefficient is not None:
        counts = None
        if cfg.weighting is Weighting.CORPUS and corpus_texts is not None:
            phase("Counting the corpus's tokens")
            counts = token_counts(vocab, corpus_texts)
        vectors *= row_weights(vocab, float(cfg.sif_coefficient), cfg.weighting, counts)[:, None]
    table, scale = quantize(vectors, Quantize.FLOAT32 if keep_float else cfg.quantize)
    model = StaticEmbedder(table, vocab.tokenizer_json, config=model_config(cfg, teacher, table.shape[1], scale))
    lap("pca")
    result = DistillResult(
        model=model,
        teacher=teacher.name,
        teacher_dim=teacher.dim,
        vocab_size=len(vocab.tokens),
        added=vocab.added,
        normalized=vocab.normalized,
        skipped={k: v for k, v in vocab.skipped.items() if v},
        dims=int(table.shape[1]),
        device=teacher.device,
        precision=teacher.precision,
        timings=timings,
    )
    if cfg.save_path:
        save_result(result, cfg.save_path, force=cfg.force, on_phase=phase)
    return result


def token_counts(vocab: Vocabulary, texts: Sequence[str], batch: int = 4096) -> np.ndarray:
    """How often each row of ``vocab`` occurs in ``texts``, tokenized as the finished model tokenizes them
    (added words matched whole, no length cut)."""
    rows = len(vocab.tokens)
    tokenizer_only = StaticEmbedder(np.zeros((rows, 1), dtype=np.float32), vocab.tokenizer_json)
    counts = np.zeros(rows, dtype=np.int64)
    for start in range(0, len(texts), batch):
        ids = tokenizer_only.tokenize(list(texts[start : start + batch]), max_length=None)
        if ids:
            counts += np.bincount(np.concatenate([np.asarray(t, dtype=np.int64) for t in ids]), minlength=rows)[:rows]
    return counts


def distill_reads(cfg: DistillConfig) -> list[str | None]:
    """The local files and folders a distillation reads (its save path must be none of them): the teacher,
    the word file."""
    teacher = local_path(cfg.model) if cfg.model else str(packaged_teacher().path)
    vocabulary = cfg.vocabulary if cfg.vocabulary and ":" not in cfg.vocabulary else None
    return [teacher, local_path(vocabulary)]


def save_result(result: DistillResult, save_path: str, *, force: bool, on_phase: OnMessage | None = None) -> None:
    """Save ``result.model`` to ``save_path`` and record where, its size and the time it took."""
    if on_phase is not None:
        on_phase("Saving")
    clock = time.perf_counter()
    result.model.save_pretrained(save_path, force=force)
    result.timings["save"] = time.perf_counter() - clock
    result.save_path = str(save_path)
    result.bytes_on_disk = folder_bytes(Path(save_path))


def model_config(cfg: DistillConfig, teacher: LoadedTeacher, dims: int, scale: float | None) -> dict[str, Any]:
    """config.json of a distilled model: model2vec's keys plus the effective m2v settings."""
    config: dict[str, Any] = {
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "tokenizer_name": teacher.name,
        "apply_pca": cfg.pca_dims,
        "sif_coefficient": cfg.sif_coefficient,
        "hidden_dim": dims,
        "seq_length": 1000000,
        "normalize": cfg.normalize,
        "pooling": "mean",
        "max_length": 512,
        "m2v_version": __version__,
        "distillation": {
            "teacher": teacher.name,
            "precision": teacher.precision,
            "quantize": cfg.quantize.value,
            "token_remove_pattern": cfg.token_remove_pattern,
            "vocabulary": cfg.vocabulary or "teacher",
            "weighting": cfg.weighting.value,
            "pooling": cfg.pooling.value,
        },
    }
    if scale is not None:
        config["embedding_scale"] = scale
    return config
