"""One adapter for a loaded model, whatever encodes it: m2v's ``StaticEmbedder``, model2vec's
``StaticModel`` (for ``m2v bench --reference``) or a Sentence Transformer. ``m2v evaluate`` and
``m2v bench`` both load models through it, so they agree on names, parameters and dimensions.

The heavy libraries are imported only by the encoder that needs them.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.errors import ConfigError, ModelLoadError, first_line
from m2vcli.extras import require
from m2vcli.hub import Fetch, packaged_hub_id, resolve_model
from m2vcli.model import StaticEmbedder
from m2vcli.model.folder import ModelKind, model_kind

TRANSFORMER_BATCH_SIZE = 64


class Encoder(str, Enum):
    """The code that encodes a model's texts."""

    STATIC = "static"  # m2v's StaticEmbedder
    REFERENCE = "model2vec"  # model2vec's StaticModel, on the same folder
    SENTENCE_TRANSFORMER = "sentence-transformer"

    @classmethod
    def for_folder(cls, folder: Path) -> Encoder:
        """The code that encodes the model in ``folder`` by default: m2v's for a static model."""
        return cls.STATIC if model_kind(folder) is ModelKind.STATIC else cls.SENTENCE_TRANSFORMER


@dataclass
class LoadedModel:
    """A model ready to encode, with the facts both evaluate and bench report."""

    name: str
    encoder: Encoder
    model: Any
    path: Path | None = None
    batch_size: int = TRANSFORMER_BATCH_SIZE

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.encoder is not Encoder.SENTENCE_TRANSFORMER:  # m2v's and model2vec's encode alike
            return np.asarray(self.model.encode(list(texts)))
        return np.asarray(
            self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
        )

    def count_tokens(self, texts: Sequence[str]) -> int:
        if self.encoder is Encoder.SENTENCE_TRANSFORMER:
            tokenize = getattr(self.model, "preprocess", None) or self.model.tokenize
            return int(tokenize(list(texts))["attention_mask"].sum())
        return sum(len(ids) for ids in self.model.tokenize(list(texts)))

    @property
    def parameters(self) -> int:
        if self.encoder is Encoder.STATIC:
            return int(self.model.embeddings.size)
        if self.encoder is Encoder.REFERENCE:
            return int(self.model.embedding.size)
        return int(sum(p.numel() for p in self.model.parameters()))

    @property
    def dims(self) -> int:
        if self.encoder is Encoder.SENTENCE_TRANSFORMER:
            getter = getattr(self.model, "get_embedding_dimension", None)
            getter = getter or self.model.get_sentence_embedding_dimension
            return int(getter() or 0)
        return int(self.model.dim)

    @property
    def fingerprint(self) -> str:
        """A hash of what decides the model's vectors (weights, tokenizer, encoding settings), so results
        computed for one model are never reported for another of the same name.

        >>> from m2vcli.model import StaticEmbedder
        >>> import numpy as np
        >>> from tokenizers import Tokenizer, models
        >>> tok = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]")).to_str()
        >>> one = LoadedModel("x", Encoder.STATIC, StaticEmbedder(np.eye(2, dtype=np.float32), tok))
        >>> two = LoadedModel("x", Encoder.STATIC, StaticEmbedder(2 * np.eye(2, dtype=np.float32), tok))
        >>> same = LoadedModel("y", Encoder.STATIC, one.model)
        >>> one.fingerprint == same.fingerprint, one.fingerprint == two.fingerprint
        (True, False)
        """
        import hashlib
        import json

        digest = hashlib.sha256(self.encoder.value.encode())
        if self.encoder is Encoder.SENTENCE_TRANSFORMER:
            for key, tensor in sorted(self.model.state_dict().items()):
                digest.update(key.encode())
                digest.update(tensor.detach().cpu().numpy().tobytes())
            return digest.hexdigest()[:16]
        model = self.model if self.encoder is Encoder.STATIC else None
        if model is None:  # model2vec's encoder: its folder's files decide
            for path in sorted(self.path.rglob("*")) if self.path else []:
                if path.is_file():
                    digest.update(path.name.encode())
                    digest.update(path.read_bytes())
            return digest.hexdigest()[:16]
        for array in (model.embeddings, model.weights, model.mapping):
            digest.update(b"-" if array is None else np.ascontiguousarray(array).tobytes())
        digest.update(model.tokenizer_json.encode())
        settings = {"normalize": model.normalize, "max_length": model.max_length, "config": model.config}
        digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
        return digest.hexdigest()[:16]

    @property
    def release_date(self) -> str | None:
        """The day (UTC) a local static model's weights were written."""
        if self.encoder is Encoder.SENTENCE_TRANSFORMER or self.path is None:
            return None
        weights = [self.path / "model.safetensors", *sorted(self.path.glob("*/model.safetensors"))]
        found = [w for w in weights if w.is_file()]
        if not found:
            return None
        written = datetime.datetime.fromtimestamp(found[0].stat().st_mtime, tz=datetime.timezone.utc)
        return written.date().isoformat()


def display_name(name_or_path: str | os.PathLike[str], folder: Path) -> str:
    """A model's name in reports: its folder's name for a path, the id for a hub id, and the teacher's
    short name for the packaged teacher, whether named by its hub id or by its folder.

    >>> display_name("org/name", Path("/cache/snapshots/abc123"))
    'org/name'
    """
    hub_id = packaged_hub_id(folder)
    if hub_id is not None:
        return hub_id.split("/")[-1]
    return folder.name if Path(name_or_path).exists() else str(name_or_path)


def load_model(
    name_or_path: str | os.PathLike[str],
    *,
    name: str | None = None,
    encoder: Encoder | None = None,
    batch_size: int = TRANSFORMER_BATCH_SIZE,
    device: str = "cpu",
) -> LoadedModel:
    """Load a static model or a Sentence Transformer from a folder or hub id (``encoder``: which code
    encodes it; by default the folder decides). A Sentence Transformer runs on ``device``."""
    folder = resolve_model(name_or_path, Fetch.ANY)
    if encoder is None:
        encoder = Encoder.for_folder(folder)
    return load_folder(name or display_name(name_or_path, folder), folder, encoder, batch_size, device)


def load_folder(
    name: str, folder: Path, encoder: Encoder, batch_size: int = TRANSFORMER_BATCH_SIZE, device: str = "cpu"
) -> LoadedModel:
    """Load the model in a local ``folder`` with the given encoder (a Sentence Transformer on ``device``)."""
    if encoder is Encoder.STATIC:
        model: Any = StaticEmbedder.from_pretrained(folder)
    elif encoder is Encoder.REFERENCE:
        try:
            from model2vec import StaticModel
        except ImportError as exc:
            raise ModelLoadError("--reference needs model2vec: pip install model2vec==0.10.0") from exc
        model = StaticModel.from_pretrained(str(folder))
    else:
        require("distill", f"loading {name} as a Sentence Transformer")
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(str(folder), device=device)
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
            raise ModelLoadError(f"cannot load {name} as a Sentence Transformer: {first_line(exc, 160)}") from exc
    return LoadedModel(name, encoder, model, folder, batch_size)


def wrap_model(model: Any, name: str) -> LoadedModel:
    """A ``StaticEmbedder`` or a ``SentenceTransformer`` already in memory."""
    if isinstance(model, StaticEmbedder):
        return LoadedModel(name, Encoder.STATIC, model)
    if hasattr(model, "encode") and hasattr(model, "parameters"):  # a SentenceTransformer
        return LoadedModel(name, Encoder.SENTENCE_TRANSFORMER, model)
    raise ConfigError(f"cannot use a {type(model).__name__}: pass a path, a StaticEmbedder or a SentenceTransformer")
