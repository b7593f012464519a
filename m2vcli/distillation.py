"""Distillation: every token through the teacher once, PCA, SIF weighting, one vector per token.

The teacher sees each token alone between its own special tokens (``[CLS] token [SEP]`` for BERT) and
the output is mean-pooled over those positions. Inputs are never padded: single tokens all have the
same length, so each batch is a dense tensor and no work is spent on padding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.config import coerce_enum
from m2vcli.errors import ConfigError, ModelLoadError
from m2vcli.model import StaticEmbedder
from m2vcli.persistence import check_model_target
from m2vcli.teacher import Device, Precision
from m2vcli.version import __version__

ProgressCallback = Callable[[int, int], None]
UNUSED_PATTERN = r"\[unused\d+\]"


class Quantize(str, Enum):
    FLOAT32 = "float32"
    FLOAT16 = "float16"
    INT8 = "int8"


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
    batch_size: int = 1024
    normalize: bool = True
    trust_remote_code: bool = False
    force: bool = False

    def __post_init__(self) -> None:
        for name, enum in (("device", Device), ("dtype", Precision), ("quantize", Quantize)):
            coerce_enum(self, name, enum)
        object.__setattr__(self, "pca_dims", parse_pca_dims(self.pca_dims))
        if self.sif_coefficient is not None and not 0 < float(self.sif_coefficient) < 1:
            raise ConfigError(f"sif_coefficient must be between 0 and 1 (exclusive), got {self.sif_coefficient}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size!r}")


def parse_pca_dims(value: Any) -> int | float | None:
    """``256`` keeps 256 components, ``0.9`` keeps 90% of the variance, ``none`` skips PCA.

    >>> parse_pca_dims("128"), parse_pca_dims("0.95"), parse_pca_dims("none")
    (128, 0.95, None)
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in {"none", "null", ""}):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"pca_dims must be a whole number, a fraction in (0, 1) or none, got {value!r}") from None
    if number.is_integer() and number >= 1:
        return int(number)
    if 0 < number < 1:
        return number
    raise ConfigError(f"pca_dims must be a whole number >= 1, a fraction in (0, 1) or none, got {value!r}")


def sif_weights(n: int, coefficient: float) -> np.ndarray:
    """SIF weights ``a / (a + p)`` with ``p`` the Zipf probability of each rank (id order stands for rank).

    Under Zipf's law the token of rank ``r`` (from 1) has probability ``p = 1 / (r * H_n)``, ``H_n`` the
    n-th harmonic number. Frequent tokens get small weights, rare ones weights near 1. With n = 3,
    H = 1.8333, so p = 0.5455, 0.2727, 0.1818 and, for a = 0.1:

    >>> [round(float(w), 4) for w in sif_weights(3, 0.1)]
    [0.1549, 0.2683, 0.3548]
    """
    ranks = np.arange(1, n + 1, dtype=np.float64)
    p = 1.0 / (ranks * np.sum(1.0 / ranks))
    return (coefficient / (coefficient + p)).astype(np.float32)


@dataclass
class DistillResult:
    model: StaticEmbedder
    teacher: str
    teacher_dim: int
    vocab_size: int
    skipped: dict[str, int]
    dims: int
    device: str
    precision: str
    timings: dict[str, float] = field(default_factory=dict)
    bytes_on_disk: int | None = None
    save_path: str | None = None


def _wrap_ids(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The teacher's special tokens before and after a single token (``[CLS]`` / ``[SEP]`` for BERT)."""
    plain = tokenizer.encode("a", add_special_tokens=False).ids
    full = tokenizer.encode("a", add_special_tokens=True).ids
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return full[:start], full[start + len(plain) :]
    return [], []


def embed_tokens(
    encoder: Any,
    teacher_tokenizer: Any,
    token_ids: list[int],
    *,
    device: str,
    precision: str,
    batch_size: int,
    on_progress: ProgressCallback,
) -> np.ndarray:
    """Mean-pooled teacher outputs for each token id, as float32 ``(len(token_ids), teacher_dim)``."""
    import torch

    prefix, suffix = _wrap_ids(teacher_tokenizer)
    ids = torch.tensor([[*prefix, i, *suffix] for i in token_ids], dtype=torch.long)
    out = np.empty((len(token_ids), encoder.config.hidden_size), dtype=np.float32)
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(precision)
    autocast = torch.autocast(device_type=device, dtype=dtype) if dtype is not None else _null()
    with torch.inference_mode(), autocast:
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size].to(device)
            hidden = encoder(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
            out[start : start + len(batch)] = hidden.float().mean(dim=1).cpu().numpy()
            on_progress(min(start + batch_size, len(ids)), len(ids))
    return out


def _null() -> Any:
    from contextlib import nullcontext

    return nullcontext()


def reduce_dims(vectors: np.ndarray, pca_dims: int | float | None) -> np.ndarray:
    """PCA to ``pca_dims`` components (or the share of variance), centred, in float32."""
    if pca_dims is None:
        return vectors
    n, dim = vectors.shape
    if isinstance(pca_dims, int) and pca_dims > min(n, dim):
        raise ConfigError(
            f"pca_dims must be between 1 and {min(n, dim)} (the teacher's dimension and the vocabulary size), "
            f"got {pca_dims}"
        )
    from sklearn.decomposition import PCA

    return PCA(n_components=pca_dims, svd_solver="full").fit_transform(vectors).astype(np.float32)


def quantize(table: np.ndarray, how: Quantize) -> tuple[np.ndarray, float | None]:
    """Store the table in float32, float16, or int8 with one scale (so magnitudes round-trip)."""
    if how is Quantize.FLOAT32:
        return table.astype(np.float32), None
    if how is Quantize.FLOAT16:
        return table.astype(np.float16), None
    scale = float(np.abs(table).max() / 127.0) or 1.0
    return np.clip(np.rint(table / scale), -127, 127).astype(np.int8), scale


def distill(
    config: DistillConfig | None = None,
    *,
    on_progress: ProgressCallback | None = None,
    on_phase: Callable[[str], None] | None = None,
    **settings: Any,
) -> DistillResult:
    """Distill a static model from a teacher; save it when ``save_path`` is set."""
    from tokenizers import Tokenizer

    from m2vcli import teacher as teachers
    from m2vcli.vocabulary import teacher_vocabulary

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
    phase("Loading the teacher")
    teacher = teachers.find_teacher(cfg.model)
    folder = teachers.transformer_folder(teacher)
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        tokenizer_file = teacher.path / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise ModelLoadError(f"{teacher.path} has no tokenizer.json (m2v needs a fast tokenizer)")
    tokenizer_json = tokenizer_file.read_text(encoding="utf-8")
    teacher_tokenizer = Tokenizer.from_str(tokenizer_json)
    teacher_tokenizer.no_padding()
    teacher_tokenizer.no_truncation()
    vocab = teacher_vocabulary(tokenizer_json, cfg.token_remove_pattern)
    device = teachers.pick_device(cfg.device)
    precision = teachers.pick_precision(cfg.dtype, device)
    encoder = teachers.load_encoder(folder, device, trust_remote_code=cfg.trust_remote_code)
    teacher_dim = int(encoder.config.hidden_size)
    if isinstance(cfg.pca_dims, int) and cfg.pca_dims > min(teacher_dim, len(vocab.tokens)):
        raise ConfigError(
            f"pca_dims must be between 1 and {min(teacher_dim, len(vocab.tokens))} (the teacher's dimension "
            f"and the vocabulary size), got {cfg.pca_dims}"
        )
    lap("load")
    phase("Embedding tokens")
    vectors = embed_tokens(
        encoder,
        teacher_tokenizer,
        vocab.teacher_ids,
        device=device,
        precision=precision,
        batch_size=cfg.batch_size,
        on_progress=progress,
    )
    lap("forward")
    phase("PCA and weighting")
    vectors = reduce_dims(vectors, cfg.pca_dims)
    if cfg.sif_coefficient is not None:
        vectors *= sif_weights(len(vectors), float(cfg.sif_coefficient))[:, None]
    table, scale = quantize(vectors, cfg.quantize)
    model_config: dict[str, Any] = {
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "tokenizer_name": teacher.name,
        "apply_pca": cfg.pca_dims,
        "sif_coefficient": cfg.sif_coefficient,
        "hidden_dim": int(table.shape[1]),
        "seq_length": 1000000,
        "normalize": cfg.normalize,
        "pooling": "mean",
        "max_length": 512,
        "m2v_version": __version__,
        "distillation": {
            "teacher": teacher.name,
            "precision": precision,
            "quantize": cfg.quantize.value,
            "token_remove_pattern": cfg.token_remove_pattern,
            "vocabulary": "teacher",
        },
    }
    if scale is not None:
        model_config["embedding_scale"] = scale
    model = StaticEmbedder(table, vocab.tokenizer_json, config=model_config)
    lap("pca")
    result = DistillResult(
        model=model,
        teacher=teacher.name,
        teacher_dim=teacher_dim,
        vocab_size=len(vocab.tokens),
        skipped=vocab.skipped,
        dims=int(table.shape[1]),
        device=device,
        precision=precision,
        timings=timings,
    )
    if cfg.save_path:
        phase("Saving")
        model.save_pretrained(cfg.save_path, force=cfg.force)
        lap("save")
        result.save_path = str(cfg.save_path)
        result.bytes_on_disk = sum(p.stat().st_size for p in Path(cfg.save_path).iterdir() if p.is_file())
    return result
