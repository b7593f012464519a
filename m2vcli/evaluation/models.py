"""The model under evaluation in MTEB's encoder protocol, with the metadata its results carry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from m2vcli.adapters import Encoder, LoadedModel, load_model, wrap_model
from m2vcli.callbacks import OnCount
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


def evaluated_model(model: Any, name: str | None = None) -> EvaluatedModel:
    """A model for MTEB from a path or hub id, a ``StaticEmbedder`` or a ``SentenceTransformer``."""
    if isinstance(model, (str, Path)):
        return for_mteb(load_model(model, name=name))
    if not name:
        raise ConfigError("a model given as an object needs a name= (its results folder and leaderboard row)")
    return for_mteb(wrap_model(model, name))


class CountingEncoder:
    """An MTEB encoder that tells ``on_encode`` how many texts each call encoded."""

    def __init__(self, inner: Any, on_encode: OnCount) -> None:
        self.inner = inner
        self.on_encode = on_encode
        self.mteb_model_meta = inner.mteb_model_meta

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        vectors = self.inner.encode(*args, **kwargs)
        self.on_encode(len(vectors))
        return vectors

    def __getattr__(self, name: str) -> Any:  # similarity functions and the rest of MTEB's protocol
        return getattr(self.inner, name)
