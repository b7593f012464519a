"""The models ``m2v bench`` can time: m2v static models, model2vec's reference encoder and Sentence
Transformers, behind one small interface. Heavy libraries are imported only by the kind that needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from m2vcli.errors import ModelLoadError, first_line


class ModelKind(str, Enum):
    STATIC = "static"
    REFERENCE = "model2vec"
    SENTENCE_TRANSFORMER = "sentence-transformer"


class BenchModel(Protocol):
    name: str
    kind: ModelKind
    path: Path | None

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> int: ...

    @property
    def parameters(self) -> int: ...

    @property
    def dims(self) -> int: ...


@dataclass
class StaticBench:
    name: str
    path: Path | None
    model: Any
    batch_size: int
    kind: ModelKind = ModelKind.STATIC

    @classmethod
    def load(cls, name: str, path: Path, batch_size: int) -> StaticBench:
        from m2vcli.model import StaticEmbedder

        return cls(name, path, StaticEmbedder.from_pretrained(path), batch_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode(list(texts), batch_size=max(self.batch_size, 1))

    def count_tokens(self, texts: Sequence[str]) -> int:
        return sum(len(ids) for ids in self.model.tokenize(list(texts)))

    @property
    def parameters(self) -> int:
        return int(self.model.embeddings.size)

    @property
    def dims(self) -> int:
        return int(self.model.dim)


@dataclass
class ReferenceBench:
    """model2vec's ``StaticModel`` on the same folder, for ``--reference``."""

    name: str
    path: Path | None
    model: Any
    batch_size: int
    kind: ModelKind = ModelKind.REFERENCE

    @classmethod
    def load(cls, name: str, path: Path, batch_size: int) -> ReferenceBench:
        try:
            from model2vec import StaticModel
        except ImportError as exc:
            raise ModelLoadError("--reference needs model2vec: pip install model2vec==0.10.0") from exc
        return cls(name, path, StaticModel.from_pretrained(str(path)), batch_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.encode(list(texts)))

    def count_tokens(self, texts: Sequence[str]) -> int:
        return sum(len(ids) for ids in self.model.tokenize(list(texts)))

    @property
    def parameters(self) -> int:
        return int(self.model.embedding.size)

    @property
    def dims(self) -> int:
        return int(self.model.dim)


@dataclass
class TransformerBench:
    name: str
    path: Path | None
    model: Any
    batch_size: int
    kind: ModelKind = ModelKind.SENTENCE_TRANSFORMER

    @classmethod
    def load(cls, name: str, path: Path, batch_size: int) -> TransformerBench:
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(str(path), device="cpu")
        except Exception as exc:
            raise ModelLoadError(f"cannot load {name} as a Sentence Transformer: {first_line(exc, 160)}") from exc
        return cls(name, path, model, batch_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(
            self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
        )

    def count_tokens(self, texts: Sequence[str]) -> int:
        tokenize = getattr(self.model, "preprocess", None) or self.model.tokenize
        features = tokenize(list(texts))
        return int(features["attention_mask"].sum())

    @property
    def parameters(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))

    @property
    def dims(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())


def load_bench_model(name: str, path: Path, kind: ModelKind, batch_size: int) -> BenchModel:
    loaders = {ModelKind.STATIC: StaticBench, ModelKind.REFERENCE: ReferenceBench}
    return loaders.get(kind, TransformerBench).load(name, path, batch_size)  # type: ignore[attr-defined]
