"""m2v: turn any Sentence Transformer into a tiny, fast static-embedding model.

``from m2vcli import StaticEmbedder, distill, refine, Index, train_classifier, StaticClassifier``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from m2vcli.errors import M2VError
from m2vcli.model import StaticEmbedder
from m2vcli.version import __version__

if TYPE_CHECKING:
    from m2vcli.api import distill, import_vectors, refine
    from m2vcli.classify import StaticClassifier
    from m2vcli.classify.api import train_classifier
    from m2vcli.search import Index

__all__ = [
    "Index",
    "M2VError",
    "StaticClassifier",
    "StaticEmbedder",
    "__version__",
    "distill",
    "encode_dataset",
    "import_vectors",
    "refine",
    "train_classifier",
]


def __getattr__(name: str) -> Any:
    """``distill``, ``refine`` (``m2vcli.api``), ``Index`` (``m2vcli.search``), ``StaticClassifier`` and
    ``train_classifier`` (``m2vcli.classify``), loaded on first use:
    ``import m2vcli`` for ``StaticEmbedder`` stays light."""
    if name in ("distill", "refine", "import_vectors"):
        from m2vcli import api

        return getattr(api, name)
    if name == "Index":
        from m2vcli.search import Index

        return Index
    if name == "StaticClassifier":
        from m2vcli.classify import StaticClassifier

        return StaticClassifier
    if name == "train_classifier":
        from m2vcli.classify.api import train_classifier

        return train_classifier
    raise AttributeError(f"module 'm2vcli' has no attribute {name!r}")


def encode_dataset(dataset: Any, model: str, **settings: Any) -> Any:
    """``dataset`` (a ``ray.data.Dataset`` with a ``text`` column) with a ``vector`` column added by actors
    that each load the static model ``model`` (a folder or hub id) once. Lazy, as Ray Data is.

    The settings are those of ``m2vcli.encoding.ray_workers.encode_dataset`` (``column``, ``output_column``,
    ``batch_size``, ``concurrency``, ``normalize``, ``max_length``, ``dtype``). Needs the ``ray`` extra.
    """
    from m2vcli.encoding.ray_workers import encode_dataset as run

    return run(dataset, model, **settings)
