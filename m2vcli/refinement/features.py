"""Featurizing: the teacher's vector for every corpus text, cached on disk in shards.

A text's vector is the teacher's output at the text's positions averaged as ``Pooling`` says (``tokens``:
the text's own positions, special tokens left out). Texts are batched by length with a token budget, so
a batch pads only to its own longest text. Shards of ``SHARD_TEXTS`` texts are written as they are done
(atomically), so memory stays flat whatever the corpus size and an interrupted run resumes at the first
missing shard. The cache folder is keyed by the teacher, the corpus content and every setting that
changes a vector: a cache made by another teacher or other settings is never read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from m2vcli.callbacks import OnProgress
from m2vcli.distillation.distiller import pooled_outputs
from m2vcli.distillation.numerics import Pooling
from m2vcli.distillation.teacher import LoadedTeacher
from m2vcli.errors import OutputError
from m2vcli.files import atomic_file

SHARD_TEXTS = 4096
BATCH_TOKENS = 8192  # padded tokens per teacher batch
FORMAT_VERSION = 1
TokenLists = Sequence[Sequence[int]] | Sequence[np.ndarray]


def default_cache_root() -> Path:
    """``$M2V_CACHE`` or ``$XDG_CACHE_HOME/m2v/features`` (``~/.cache/m2v/features``)."""
    root = os.environ.get("M2V_CACHE")
    if root:
        return Path(root).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "m2v" / "features"


def teacher_fingerprint(teacher: LoadedTeacher) -> str:
    """A hash of the teacher's weights and tokenizer: two teachers with one name never share a cache."""
    import torch

    digest = hashlib.sha256(teacher.tokenizer_json.encode())
    with torch.no_grad():
        for key, tensor in sorted(teacher.encoder.state_dict().items()):
            digest.update(key.encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:24]


@dataclass(frozen=True)
class FeatureKey:
    """Everything that decides a text's vector."""

    teacher: str  # teacher_fingerprint
    corpus: str  # Corpus.content_hash
    pooling: str
    precision: str
    max_tokens: int

    @property
    def folder_name(self) -> str:
        text = json.dumps({**self.__dict__, "format": FORMAT_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def shard_path(folder: Path, index: int) -> Path:
    return folder / f"shard-{index:05d}.npy"


def cached_shards(folder: Path, texts: int, dim: int) -> set[int]:
    """Indexes of the shards already complete in ``folder`` (right shape and dtype; others are redone)."""
    done = set()
    for index in range((texts + SHARD_TEXTS - 1) // SHARD_TEXTS):
        path = shard_path(folder, index)
        if not path.is_file():
            continue
        try:
            array = np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            continue
        if array.dtype == np.float32 and array.shape == (_shard_size(index, texts), dim):
            done.add(index)
    return done


def _shard_size(index: int, texts: int) -> int:
    return min(SHARD_TEXTS, texts - index * SHARD_TEXTS)


def featurize(
    teacher: LoadedTeacher,
    token_ids: TokenLists,
    pooling: Pooling,
    folder: Path | None,
    on_progress: OnProgress | None = None,
) -> tuple[np.ndarray, int]:
    """The teacher's vector for each text (``token_ids``: each text's ids without special tokens, at most
    ``teacher.max_tokens``), float32 ``(len(token_ids), teacher.dim)``, and how many were read from the
    cache. With a ``folder`` the shards are read from and written to it."""
    progress = on_progress or (lambda done, total: None)
    n = len(token_ids)
    shards = (n + SHARD_TEXTS - 1) // SHARD_TEXTS
    if folder is None:
        out = np.empty((n, teacher.dim), dtype=np.float32)
        for index in range(shards):
            start = index * SHARD_TEXTS
            out[start : start + SHARD_TEXTS] = _embed(teacher, token_ids[start : start + SHARD_TEXTS], pooling)
            progress(min(n, start + SHARD_TEXTS), n)
        return out, 0
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make the feature cache folder {folder}: {exc.strerror or exc}") from exc
    done = cached_shards(folder, n, teacher.dim)
    finished = cached = sum(_shard_size(i, n) for i in done)
    progress(finished, n)
    for index in range(shards):
        if index in done:
            continue
        start = index * SHARD_TEXTS
        vectors = _embed(teacher, token_ids[start : start + SHARD_TEXTS], pooling)
        with atomic_file(shard_path(folder, index)) as handle:
            np.save(handle, vectors)
        finished += len(vectors)
        progress(finished, n)
    return join_shards(folder, n, teacher.dim), cached


def join_shards(folder: Path, texts: int, dim: int) -> np.ndarray:
    """All shards as one array (read shard by shard; the cache stays the only copy on disk)."""
    out = np.empty((texts, dim), dtype=np.float32)
    for index in range((texts + SHARD_TEXTS - 1) // SHARD_TEXTS):
        start = index * SHARD_TEXTS
        out[start : start + SHARD_TEXTS] = np.load(shard_path(folder, index))
    return out


def _embed(
    teacher: LoadedTeacher, items: Sequence[Sequence[int]] | Sequence[np.ndarray], pooling: Pooling
) -> np.ndarray:
    """Pooled teacher outputs for ``items``, batched by length under a padded-token budget."""
    import torch

    order = sorted(range(len(items)), key=lambda i: len(items[i]))
    out = np.empty((len(items), teacher.dim), dtype=np.float32)
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(teacher.precision)
    autocast = torch.autocast(device_type=teacher.device, dtype=dtype) if dtype is not None else nullcontext()
    wrap = len(teacher.prefix) + len(teacher.suffix)
    with torch.inference_mode(), autocast:
        start = 0
        while start < len(order):
            stop = start + 1
            while stop < len(order) and (stop - start + 1) * (len(items[order[stop]]) + wrap) <= BATCH_TOKENS:
                stop += 1
            chosen = order[start:stop]
            start = stop
            out[chosen] = pooled_outputs(teacher, [list(items[i]) or [teacher.pad_id] for i in chosen], pooling)
    return out
