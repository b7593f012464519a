"""Refinement: a static model trained on an unlabeled corpus to reproduce its teacher's text vectors.

``m2v refine MODEL --corpus texts.txt -o refined`` (and ``m2v distill --corpus``): featurize the corpus
with the teacher (cached, resumable), reduce the teacher's vectors by PCA to the model's dimensions, train
the token table (see ``train``), save a normal static model folder whose config records the corpus, the
teacher, the steps, the losses and the times.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.callbacks import OnProgress
from m2vcli.config import coerce_enum
from m2vcli.errors import (
    ConfigError,
    InputError,
    MissingValueError,
    ModelFormatError,
    ModelLoadError,
    OutputError,
    RefinementError,
)
from m2vcli.extras import require
from m2vcli.files import folder_bytes, local_path
from m2vcli.model import StaticEmbedder
from m2vcli.model.folder import is_classifier, teacher_of
from m2vcli.model.persistence import check_model_target
from m2vcli.model.quantization import Quantize, quantize, storage_type
from m2vcli.refinement.corpus import Corpus, corpus_reads, read_corpus
from m2vcli.refinement.features import (
    FeatureKey,
    cache_folder,
    default_cache_root,
    featurize,
    teacher_fingerprint,
)
from m2vcli.refinement.pieces import split_long
from m2vcli.refinement.storage import Ragged, RaggedBuilder, RowFile
from m2vcli.refinement.train import (
    Loss,
    OnStep,
    TrainResult,
    TrainSettings,
    needed_texts,
    pca_targets,
    split_validation,
    train_table,
)
from m2vcli.teacher import Device, LoadedTeacher, Pooling, Precision
from m2vcli.version import __version__

OnPhase = Callable[[str], None]
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class RefineSettings:
    """How a model is refined (shared by ``m2v refine`` and ``m2v distill --corpus``)."""

    corpus: str | None = None
    text_field: str = "text"
    max_texts: int | None = None
    pooling: Pooling = Pooling.MEAN  # the teacher's own sentence pooling; measured better than tokens
    loss: Loss = Loss.COSINE
    epochs: int = 10
    learning_rate: float = 1e-3
    batch_size: int = 256
    patience: int = 2
    seed: int = 0
    anchor: float = 0.1  # chosen by measurement: see the README
    cache_dir: str | None = None  # default: $M2V_CACHE or ~/.cache/m2v/features
    cache: bool = True

    def __post_init__(self) -> None:
        coerce_enum(self, "pooling", Pooling)
        coerce_enum(self, "loss", Loss)
        check_refine_values(self)

    def train_settings(self) -> TrainSettings:
        return TrainSettings(
            epochs=self.epochs,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            patience=self.patience,
            loss=self.loss,
            seed=self.seed,
            anchor=float(self.anchor),
        )


def check_refine_values(cfg: Any) -> None:
    """The refinement values of ``cfg`` (a ``RefineSettings``, ``RefineConfig`` or ``DistillConfig``)."""
    for name, low in (("epochs", 1), ("batch_size", 1), ("patience", 1), ("seed", 0), ("max_texts", 1)):
        value = getattr(cfg, name, low)
        if value is None and name == "max_texts":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{name} must be a whole number of at least {low}, got {value!r}", key=name)
    if (getattr(cfg, "max_texts", None) or 10**9) < (need := needed_texts(TrainSettings())):
        raise ConfigError(
            f"max_texts must be at least {need} (to hold out texts), got {cfg.max_texts}", key="max_texts"
        )
    seed = getattr(cfg, "seed", 0)
    if seed > MAX_SEED:  # numpy and torch take seeds up to 2**32 - 1; a larger one fails later, with a traceback
        raise ConfigError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}", key="seed")
    anchor = getattr(cfg, "anchor", 0.0)
    if isinstance(anchor, bool) or not isinstance(anchor, (int, float)) or not 0 <= float(anchor) <= 1e6:
        raise ConfigError(f"anchor must be a number from 0 to 1000000, got {anchor!r}", key="anchor")
    rate = getattr(cfg, "learning_rate", 1e-3)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < float(rate) < 1:
        raise ConfigError(f"learning_rate must be between 0 and 1 (exclusive), got {rate!r}", key="learning_rate")


@dataclass(frozen=True)
class RefineConfig(RefineSettings):
    """Settings of ``m2v refine``: the static model to refine, its teacher, where to save."""

    model: str | None = None
    save_path: str | None = None
    teacher: str | None = None  # default: the teacher the model's config names
    device: Device = Device.AUTO
    dtype: Precision = Precision.AUTO
    quantize: Quantize | None = None  # None: the input model's storage type (float16 when it has none)
    force: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, enum in (("device", Device), ("dtype", Precision), ("quantize", Quantize)):
            coerce_enum(self, name, enum)
        if not self.model:
            raise MissingValueError(
                "no model given: pass the static model to refine (a folder or hub id)", option="MODEL"
            )
        if not self.corpus:
            raise MissingValueError(
                "no corpus given: pass --corpus FILE, FOLDER, GLOB or hf:DATASET", option="--corpus"
            )
        if not self.save_path:
            raise MissingValueError("no output folder given: pass --save-path/-o FOLDER", option="--save-path")

    def settings(self) -> RefineSettings:
        names = RefineSettings.__dataclass_fields__
        return RefineSettings(**{name: getattr(self, name) for name in names})


@dataclass
class RefineResult:
    model: StaticEmbedder
    teacher: str
    corpus: str
    texts: int
    pieces: int
    training: TrainResult
    timings: dict[str, float] = field(default_factory=dict)
    cache: str | None = None
    cached_texts: int = 0
    cache_dropped: list[str] = field(default_factory=list)  # bad cache entries removed and recomputed
    save_path: str | None = None
    bytes_on_disk: int | None = None


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """A private temporary folder (in ``$TMPDIR``), removed afterwards whatever happens."""
    try:
        folder = tempfile.mkdtemp(prefix="m2v-refine-")
    except OSError as exc:
        raise OutputError(f"cannot make a temporary folder: {exc.strerror or exc}") from exc
    try:
        yield Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def refine_model(
    model: StaticEmbedder,
    teacher: LoadedTeacher,
    corpus: Corpus,
    settings: RefineSettings,
    *,
    quantize_to: Quantize = Quantize.FLOAT16,
    on_progress: OnProgress | None = None,
    on_phase: OnPhase | None = None,
    on_step: OnStep | None = None,
) -> RefineResult:
    """``model`` trained on ``corpus`` to reproduce ``teacher``'s text vectors (an in-memory model; the
    caller saves it)."""
    phase = on_phase or (lambda name: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    base = model.float_table()
    if model.weights is not None and model.mapping is not None:
        raise ConfigError("cannot refine a model with both token weights and a vocabulary mapping")
    if model.weights is not None:  # one weight per token = per row without a mapping: fold it in
        base = base * model.weights[: len(base), None]
    if base.shape[1] > teacher.dim:
        raise ConfigError(
            f"the model has {base.shape[1]} dims, more than its teacher's {teacher.dim}: refinement trains it "
            "toward the teacher's vectors, so it needs at most as many (distill with a smaller --pca-dims)"
        )
    phase("Tokenizing the corpus")
    pieces, ids = split_long(corpus.texts, teacher)
    student_rows = RaggedBuilder()
    for start in range(0, len(pieces), 4096):
        student_rows.extend(model.table_rows(pieces[start : start + 4096]))
    rows, count = student_rows.build(), len(pieces)
    check_signal(pieces, rows, settings)  # before the teacher's pass: a corpus that can teach nothing fails now
    del pieces
    timings["tokenize"] = time.perf_counter() - clock
    key = FeatureKey(
        teacher=teacher_fingerprint(teacher),
        pooling=settings.pooling.value,
        precision=teacher.precision,
        max_tokens=teacher.max_tokens,
    )
    folder = Path(settings.cache_dir or default_cache_root()) / key.folder_name if settings.cache else None
    # Feature shards (without the cache) and the training targets live in a scratch folder, not in memory.
    with scratch_folder() as scratch:
        phase("Featurizing the corpus with the teacher")
        clock = time.perf_counter()
        vectors = featurize(teacher, ids, settings.pooling, folder or scratch / "features", on_progress)
        del ids
        timings["featurize"] = time.perf_counter() - clock
        phase("Training")
        clock = time.perf_counter()
        train_settings = settings.train_settings()
        train, held = split_validation(count, train_settings)
        if not len(train):  # split_validation refuses that; kept as the last word before training
            raise InputError("the corpus left no text to train on")
        targets = RowFile(scratch / "targets.f32", count, min(base.shape[1], teacher.dim))
        try:
            pca_targets(vectors, train, base.shape[1], out=targets)
            result = train_table(base, rows, targets, train_settings, train, held, on_step)
        finally:
            targets.close()
        timings["train"] = time.perf_counter() - clock
    check_learned(result, rows)
    table, scale = quantize(result.table, quantize_to)
    config = {k: v for k, v in model.config.items() if k not in ("embedding_scale", "embedding_dtype")}
    config["m2v_version"] = __version__
    config["normalize"] = True
    config["refinement"] = refinement_record(corpus, count, teacher.name, settings, result, timings)
    if isinstance(config.get("distillation"), dict):  # what m2v info shows as the storage type, kept true
        config["distillation"] = {**config["distillation"], "quantize": Quantize(quantize_to).value}
    if scale is not None:
        config["embedding_scale"] = scale
    refined = StaticEmbedder(
        table, model.tokenizer_json, config=config, mapping=model.mapping, normalize=True, max_length=model.max_length
    )
    return RefineResult(
        model=refined,
        teacher=teacher.name,
        corpus=corpus.name,
        texts=len(corpus),
        pieces=count,
        training=result,
        timings=timings,
        cache=str(folder) if folder else None,
        cached_texts=vectors.cached,
        cache_dropped=vectors.dropped,
    )


def check_cache_root(settings: RefineSettings) -> None:
    """The feature cache's root can be made and written, checked before the teacher loads (its folder
    for one teacher is made, and checked again, when featurizing starts)."""
    if settings.cache:
        cache_folder(Path(settings.cache_dir or default_cache_root()))


def check_count(pieces: list[str], settings: RefineSettings) -> int:
    """Enough texts (pieces of texts), and enough distinct ones, to train and hold some out; the number
    needed. ``distill --corpus`` checks it before distilling, ``check_signal`` again with the model's tokens."""
    need = needed_texts(settings.train_settings())
    split_validation(len(pieces), settings.train_settings())  # the count alone, named as before
    distinct = len(set(pieces))
    if distinct < need:
        raise InputError(
            f"the corpus has {len(pieces):,} texts but only {distinct:,} distinct ones; "
            f"refining needs at least {need:,}"
        )
    return need


def check_signal(pieces: list[str], rows: Ragged, settings: RefineSettings) -> None:
    """A corpus must hold enough distinct texts with a token the model knows to train and hold some out:
    one text repeated, or texts of unknown tokens only, would train nothing (or a model of one direction)."""
    need = check_count(pieces, settings)
    distinct = len({piece for i, piece in enumerate(pieces) if len(rows[i])})
    if distinct < need:
        raise InputError(
            f"the corpus has {len(pieces):,} texts but only {distinct:,} distinct ones with a token the model "
            f"knows; refining needs at least {need:,}"
        )


def check_learned(result: TrainResult, rows: Ragged, sample: int = 4096) -> None:
    """A run that learned nothing fails instead of saving: no training step taken, or a table whose trained
    rows are all zero or all point one way (rank 1 or less)."""
    if result.steps == 0:
        raise RefinementError("refinement learned nothing (no training step was taken); the model is not saved")
    used = np.unique(rows.flat)
    if len(used) > sample:
        used = np.random.default_rng(0).choice(used, sample, replace=False)
    trained = result.table[used].astype(np.float64)
    if not np.isfinite(trained).all() or np.linalg.matrix_rank(trained) <= 1:
        raise RefinementError(
            "refinement learned nothing usable (the trained rows are zero or all point one way); the model is not saved"
        )


def refinement_record(
    corpus: Corpus, pieces: int, teacher: str, settings: RefineSettings, result: TrainResult, timings: dict[str, float]
) -> dict[str, Any]:
    """What config.json says of a refinement: enough to know what the model saw and to do it again."""
    return {
        "teacher": teacher,
        "corpus": {"name": corpus.name, "texts": len(corpus), "pieces": pieces, "sha256": corpus.content_hash},
        "max_texts": settings.max_texts,
        "text_field": settings.text_field,
        "pooling": settings.pooling.value,
        "loss": settings.loss.value,
        "learning_rate": settings.learning_rate,
        "batch_size": settings.batch_size,
        "seed": settings.seed,
        "epochs": len(result.history),
        "steps": result.steps,
        "best_step": result.best_step,
        "train_loss": round(result.train_loss, 6),
        "validation_loss": round(result.validation_loss, 6),
        "initial_validation_loss": round(result.initial_validation_loss, 6),
        "texts": result.texts,
        "tokens_seen": result.tokens_seen,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
    }


def run_refinement(
    config: RefineConfig | None = None,
    *,
    on_progress: OnProgress | None = None,
    on_phase: OnPhase | None = None,
    on_step: OnStep | None = None,
    **settings: Any,
) -> RefineResult:
    """``m2v refine``: load a static model and its teacher, refine the model on the corpus, save it."""
    from m2vcli.teacher import load_teacher
    from m2vcli.teacher.loading import pick_device

    require("distill", "refining a model")
    cfg = config or RefineConfig(**settings)
    phase = on_phase or (lambda name: None)
    target = Path(str(cfg.save_path))
    # the model itself may be refined in place (it is read whole first); its corpus and teacher never replaced
    check_model_target(target, force=cfg.force, reads=[*corpus_reads(str(cfg.corpus)), local_path(cfg.teacher)])
    check_cache_root(cfg.settings())
    pick_device(cfg.device)  # before the model, the corpus and the teacher load
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    phase("Loading the model and the corpus")
    if is_classifier(Path(str(cfg.model))):
        raise ModelFormatError(f"{cfg.model} is a classifier; refining would drop its head: refine its static model")
    model = StaticEmbedder.from_pretrained(str(cfg.model))
    corpus = read_corpus(str(cfg.corpus), field=cfg.text_field, max_texts=cfg.max_texts, seed=cfg.seed)
    teacher_name = cfg.teacher or teacher_of(model.config)
    if teacher_name is None:
        raise ConfigError(f"{cfg.model} does not name its teacher in config.json; pass --teacher MODEL")
    phase("Loading the teacher")
    try:
        teacher = load_teacher(teacher_name, cfg.device, cfg.dtype, trust_remote_code=False)
    except ModelLoadError as exc:
        if cfg.teacher:
            raise
        raise ModelLoadError(f"the model's teacher cannot be loaded ({exc}); pass --teacher MODEL") from exc
    timings["load"] = time.perf_counter() - clock
    result = refine_model(
        model,
        teacher,
        corpus,
        cfg.settings(),
        quantize_to=cfg.quantize or storage_type(model.embeddings.dtype),
        on_progress=on_progress,
        on_phase=phase,
        on_step=on_step,
    )
    phase("Saving")
    clock = time.perf_counter()
    result.model.save_pretrained(target, force=cfg.force)
    result.timings = {**timings, **result.timings, "save": time.perf_counter() - clock}
    result.save_path = str(target)
    result.bytes_on_disk = folder_bytes(target)
    return result
