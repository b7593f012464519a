"""The model under evaluation in MTEB's encoder protocol, with the metadata its results carry."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.adapters import TRANSFORMER_BATCH_SIZE, Encoder, LoadedModel, load_model, wrap_model
from m2vcli.callbacks import OnEncode
from m2vcli.errors import ConfigError
from m2vcli.files import folder_bytes


@dataclass
class EvaluatedModel:
    name: str
    encoder: Any  # MTEB's encoder protocol
    meta: dict[str, Any]


def for_mteb(loaded: LoadedModel) -> EvaluatedModel:
    """Wrap a loaded model for MTEB: m2v's own encoder for a static model, MTEB's for a Sentence Transformer."""
    from m2vcli.evaluation.mteb_adapter import SentenceTransformerEncoderWrapper, static_encoder

    meta: dict[str, Any] = {
        "kind": loaded.encoder.value,
        "parameters": loaded.parameters,
        "dims": loaded.dims,
        "fingerprint": loaded.fingerprint,
    }
    if loaded.encoder is Encoder.SENTENCE_TRANSFORMER:
        encoder = SentenceTransformerEncoderWrapper(loaded.model)
    else:
        model = loaded.model
        if loaded.release_date:
            meta["release_date"] = loaded.release_date
        encoder = static_encoder(
            model.encode,
            loaded.name,
            parameters=loaded.parameters,
            memory_mb=round(model.embeddings.nbytes / 2**20, 2),
            max_tokens=model.max_length,
            dims=loaded.dims,
            release_date=loaded.release_date,
        )
    if loaded.path is not None:
        meta["bytes_on_disk"] = folder_bytes(loaded.path)
        meta["path"] = str(loaded.path)
    return EvaluatedModel(loaded.name, encoder, meta)


def evaluated_model(
    model: Any, name: str | None = None, batch_size: int | None = None, *, device: str = "cpu"
) -> EvaluatedModel:
    """A model for MTEB from a path or hub id, a ``StaticEmbedder`` or a ``SentenceTransformer``; a
    Sentence Transformer loaded from a path runs on ``device`` (torch's name: cpu, cuda, mps)."""
    if isinstance(model, (str, Path)):
        size = batch_size or TRANSFORMER_BATCH_SIZE
        return for_mteb(load_model(model, name=name, batch_size=size, device=device))
    if not name:
        raise ConfigError("a model given as an object needs a name= (its results folder and leaderboard row)")
    return for_mteb(wrap_model(model, name))


CHUNK_TEXTS = 1024
FIRST_CHUNK = 64
PART_SECONDS = 1.0


class CountingEncoder:
    """MTEB's encoder protocol around another encoder, for progress and settings.

    With ``on_encode``, a call of more than ``first`` texts is encoded a part at a time and
    ``on_encode(n, seconds)`` hears after each part, so a task moves steadily whatever the model's speed:
    the first part has ``first`` texts, and each later one as many as took about ``part_seconds`` at the
    rate measured so far, between ``first`` and ``chunk``. A teacher at 17 texts/s reports every couple of
    seconds, a static model every 1,024 texts. The vectors are the same as from one call.
    ``batch_size``, when given, is the number of texts a Sentence Transformer encodes at a time (a static
    model's encoder ignores it).
    """

    def __init__(
        self,
        inner: Any,
        on_encode: OnEncode | None = None,
        *,
        batch_size: int | None = None,
        chunk: int = CHUNK_TEXTS,
        first: int = FIRST_CHUNK,
        part_seconds: float = PART_SECONDS,
    ) -> None:
        self.inner = inner
        self.on_encode = on_encode
        self.batch_size = batch_size
        self.chunk = chunk
        self.first = min(first, chunk)
        self.part_seconds = part_seconds
        self.mteb_model_meta = inner.mteb_model_meta

    def encode(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if self.batch_size is not None:
            kwargs["batch_size"] = self.batch_size
        if self.on_encode is None:
            return self.inner.encode(inputs, *args, **kwargs)
        parts = []
        size = self.first
        texts, seconds = 0, 0.0

        def next_size() -> int:
            return size

        for part in split_inputs(inputs, next_size):
            start = time.perf_counter()
            vectors = self.inner.encode(part, *args, **kwargs)
            took = time.perf_counter() - start
            self.on_encode(len(vectors), took)
            texts, seconds = texts + len(vectors), seconds + took
            rate = texts / seconds if seconds > 0 else float("inf")
            size = int(min(self.chunk, max(self.first, rate * self.part_seconds)))
            parts.append(vectors)
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([np.asarray(p) for p in parts], axis=0)

    def __getattr__(self, name: str) -> Any:  # similarity functions and the rest of MTEB's protocol
        return getattr(self.inner, name)


def split_inputs(inputs: Any, size: Callable[[], int]) -> Iterator[Any]:
    """MTEB's input (a torch ``DataLoader`` over a ``datasets.Dataset``) as loaders of ``size()`` rows
    each (asked before each part), in order; anything else, or a loader no larger than the first part,
    as it is."""
    dataset = getattr(inputs, "dataset", None)
    if dataset is None or not hasattr(dataset, "select") or len(dataset) <= size():
        yield inputs
        return
    loader = type(inputs)  # torch's DataLoader, taken from the input so that torch is imported only by mteb
    start = 0
    while start < len(dataset):
        stop = min(start + max(size(), 1), len(dataset))
        rows = dataset.select(range(start, stop))
        yield loader(rows, batch_size=inputs.batch_size, collate_fn=inputs.collate_fn, num_workers=inputs.num_workers)
        start = stop
