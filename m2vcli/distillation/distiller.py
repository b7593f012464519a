"""Distillation: every token through the teacher once, PCA, SIF weighting, one vector per token.

The teacher sees each token alone between its own special tokens (``[CLS] token [SEP]`` for BERT) and
the outputs at the token's own positions are averaged (see ``Pooling``). Inputs are never padded
beyond a batch's longest item: single tokens all have the same length, so each batch is a dense tensor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from m2vcli.callbacks import OnProgress
from m2vcli.config import coerce_enum
from m2vcli.distillation.numerics import (
    Pooling,
    Quantize,
    Weighting,
    check_pca_dims,
    pooling_weights,
    quantize,
    reduce_dims,
    row_weights,
)
from m2vcli.distillation.teacher import Device, LoadedTeacher, Precision, load_teacher
from m2vcli.distillation.vocabulary import Vocabulary, extend_vocabulary, teacher_vocabulary
from m2vcli.distillation.wordlists import CORPUS_PREFIX, WordList, corpus_word_list, load_word_list
from m2vcli.errors import ConfigError
from m2vcli.files import folder_bytes
from m2vcli.model import StaticEmbedder
from m2vcli.model.persistence import check_model_target
from m2vcli.version import __version__

if TYPE_CHECKING:
    from m2vcli.refinement import RefineResult

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
    corpus: str | None = None  # refine on these texts after distilling (see m2vcli.refinement)
    text_field: str = "text"
    max_texts: int | None = None

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
            raise ConfigError(f"sif_coefficient must be between 0 and 1 (exclusive), got {self.sif_coefficient}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size!r}")
        if self.max_texts is not None and (not isinstance(self.max_texts, int) or self.max_texts < 1):
            raise ConfigError(f"max_texts must be a whole number of at least 1, got {self.max_texts!r}")


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
        raise ConfigError(f"pca_dims must be a whole number, a fraction in (0, 1) or none, got {value!r}") from exc
    if number.is_integer() and number >= 1:
        return int(number)
    if 0 < number < 1:
        return number
    raise ConfigError(f"pca_dims must be a whole number >= 1, a fraction in (0, 1) or none, got {value!r}")


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
    refinement: RefineResult | None = None


def embed_items(
    teacher: LoadedTeacher, items: list[list[int]], batch_size: int, on_progress: OnProgress, pooling: Pooling
) -> np.ndarray:
    """Pooled teacher outputs for each item (token ids between the teacher's special tokens).

    Items are sorted by length and batched, so a batch pads to its own longest item only; the default
    vocabulary (one token per item) needs no padding at all.
    """
    import torch

    order = sorted(range(len(items)), key=lambda i: len(items[i]))
    out = np.empty((len(items), teacher.dim), dtype=np.float32)
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(teacher.precision)
    autocast = torch.autocast(device_type=teacher.device, dtype=dtype) if dtype is not None else nullcontext()
    done = 0
    with torch.inference_mode(), autocast:
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            out[chosen] = pooled_outputs(teacher, [items[i] for i in chosen], pooling)
            done += len(chosen)
            on_progress(done, len(items))
    return out


def pooled_outputs(
    teacher: LoadedTeacher, batch: Sequence[Sequence[int]], pooling: Pooling, width: int | None = None
) -> np.ndarray:
    """One teacher forward pass over ``batch`` (token ids without special tokens), padded to its longest
    item (or to ``width`` positions), pooled over the positions ``pooling`` names. Call it under
    ``torch.inference_mode()``."""
    import torch

    lengths = [len(item) for item in batch]
    weights = torch.from_numpy(pooling_weights(lengths, len(teacher.prefix), len(teacher.suffix), pooling, width))
    ids = torch.full(weights.shape, teacher.pad_id, dtype=torch.long)
    mask = torch.zeros(weights.shape, dtype=torch.long)
    for row, item in enumerate(batch):
        seq = [*teacher.prefix, *item, *teacher.suffix]
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    ids, mask, weights = ids.to(teacher.device), mask.to(teacher.device), weights.to(teacher.device)
    hidden = teacher.encoder(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    pooled = (hidden * weights[..., None]).sum(dim=1) / weights.sum(dim=1, keepdim=True)
    return np.asarray(pooled.cpu().numpy(), dtype=np.float32)


def build_vocabulary(cfg: DistillConfig, teacher: LoadedTeacher, words: WordList | None = None) -> Vocabulary:
    """The teacher's tokens (less ``token_remove_pattern``), extended with ``words`` when given."""
    base = teacher_vocabulary(teacher.tokenizer_json, cfg.token_remove_pattern)
    if words is None:
        return base
    return extend_vocabulary(base, words, teacher.tokenizer, teacher.max_tokens)


def distill(
    config: DistillConfig | None = None,
    *,
    on_progress: OnProgress | None = None,
    on_phase: Callable[[str], None] | None = None,
    on_corpus_progress: OnProgress | None = None,
    on_step: Callable[[dict[str, float]], None] | None = None,
    **settings: Any,
) -> DistillResult:
    """Distill a static model from a teacher; with ``corpus``, refine it on those texts with the same
    teacher (``m2vcli.refinement``); save it when ``save_path`` is set.

    ``on_progress`` hears the tokens embedded, ``on_corpus_progress`` the corpus texts featurized and
    ``on_step`` each training epoch's losses."""
    cfg = config or DistillConfig(**settings)
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
        check_model_target(Path(cfg.save_path), force=cfg.force)
    words = load_word_list(cfg.vocabulary) if cfg.vocabulary is not None else None  # before the slow teacher load
    from_corpus = cfg.vocabulary is not None and cfg.vocabulary.startswith(CORPUS_PREFIX)
    if from_corpus and not cfg.corpus:
        raise ConfigError(f"--vocabulary {cfg.vocabulary} takes its words from the corpus: give --corpus too")
    corpus = None
    if cfg.corpus:
        from m2vcli.refinement import read_corpus

        phase("Reading the corpus")
        corpus = read_corpus(cfg.corpus, field=cfg.text_field, max_texts=cfg.max_texts)
    phase("Loading the teacher")
    teacher = load_teacher(
        cfg.model,
        cfg.device,
        cfg.dtype,
        trust_remote_code=cfg.trust_remote_code,
        decoder_ok=cfg.pooling is Pooling.LAST,
    )
    if from_corpus and corpus is not None:
        phase("Counting the corpus's words")
        words = corpus_word_list(str(cfg.vocabulary), corpus.texts, teacher.tokenizer)
    vocab = build_vocabulary(cfg, teacher, words)
    check_pca_dims(cfg.pca_dims, teacher.dim, len(vocab.tokens))  # before the long forward pass
    lap("load")
    phase("Embedding tokens")
    vectors = embed_items(teacher, vocab.teacher_ids, cfg.batch_size, progress, cfg.pooling)
    lap("forward")
    phase("PCA and weighting")
    vectors = reduce_dims(vectors, cfg.pca_dims)
    if cfg.sif_coefficient is not None:
        vectors *= row_weights(vocab, float(cfg.sif_coefficient), cfg.weighting)[:, None]
    table, scale = quantize(vectors, Quantize.FLOAT32 if corpus else cfg.quantize)
    model = StaticEmbedder(table, vocab.tokenizer_json, config=model_config(cfg, teacher, table.shape[1], scale))
    lap("pca")
    refined = None
    if corpus is not None:
        from m2vcli.refinement import RefineSettings, refine_model

        refine_settings = RefineSettings(corpus=cfg.corpus, text_field=cfg.text_field, max_texts=cfg.max_texts)
        refined = refine_model(
            model,
            teacher,
            corpus,
            refine_settings,
            quantize_to=cfg.quantize,
            on_progress=on_corpus_progress,
            on_phase=phase,
            on_step=on_step,
        )
        model = refined.model
        timings.update(refined.timings)
        clock = time.perf_counter()
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
        refinement=refined,
    )
    if cfg.save_path:
        phase("Saving")
        model.save_pretrained(cfg.save_path, force=cfg.force)
        lap("save")
        result.save_path = str(cfg.save_path)
        result.bytes_on_disk = folder_bytes(Path(cfg.save_path))
    return result


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
