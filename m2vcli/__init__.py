"""m2v: turn any Sentence Transformer into a tiny, fast static-embedding model.

``from m2vcli import StaticEmbedder, distill, refine, encode_dataset``
"""

from __future__ import annotations

from typing import Any

from m2vcli.errors import M2VError
from m2vcli.model import StaticEmbedder
from m2vcli.version import __version__

__all__ = ["M2VError", "StaticEmbedder", "__version__", "distill", "encode_dataset", "refine"]


def distill(**settings: Any) -> StaticEmbedder:
    """Distill a static model and return it (also saved when ``save_path`` is given).

    The settings are those of ``m2vcli.distillation.DistillConfig``; with none, the packaged
    all-MiniLM-L6-v2 is the teacher. ``m2vcli.distillation.distill`` also returns vocabulary and timing
    details.
    """
    from m2vcli.refinement import distill_and_refine

    return distill_and_refine(**settings).model


def refine(model: str, corpus: str, save_path: str | None = None, **settings: Any) -> StaticEmbedder:
    """Refine the static model ``model`` (a folder or hub id) on ``corpus`` (a text, JSONL, CSV or Parquet
    file, a folder, a glob, or ``hf:ORG/NAME``) with its teacher, and return the refined model (also saved
    when ``save_path`` is given).

    The settings are those of ``m2vcli.refinement.RefineConfig`` (``teacher``, ``max_texts``, ``epochs``,
    ...); ``m2vcli.refinement.refine`` also returns the training details. ``distill(corpus=...)`` distills
    and refines in one step.
    """
    import tempfile

    from m2vcli.refinement import refine as run

    if save_path is not None:
        return run(model=model, corpus=corpus, save_path=save_path, **settings).model
    with tempfile.TemporaryDirectory() as folder:  # the command's path saves; here the model is returned
        return run(model=model, corpus=corpus, save_path=f"{folder}/model", **settings).model


def encode_dataset(dataset: Any, model: str, **settings: Any) -> Any:
    """``dataset`` (a ``ray.data.Dataset`` with a ``text`` column) with a ``vector`` column added by actors
    that each load the static model ``model`` (a folder or hub id) once. Lazy, as Ray Data is.

    The settings are those of ``m2vcli.encoding.ray_workers.encode_dataset`` (``column``, ``output_column``,
    ``batch_size``, ``concurrency``, ``normalize``, ``max_length``, ``dtype``). Needs the ``ray`` extra.
    """
    from m2vcli.encoding.ray_workers import encode_dataset as run

    return run(dataset, model, **settings)
