"""m2v: turn any Sentence Transformer into a tiny, fast static-embedding model.

``from m2vcli import StaticEmbedder, distill``
"""

from __future__ import annotations

from typing import Any

from m2vcli.errors import M2VError
from m2vcli.model import StaticEmbedder
from m2vcli.version import __version__

__all__ = ["M2VError", "StaticEmbedder", "__version__", "distill"]


def distill(**settings: Any) -> StaticEmbedder:
    """Distill a static model and return it (also saved when ``save_path`` is given).

    The settings are those of ``m2vcli.distillation.DistillConfig``; with none, the packaged
    all-MiniLM-L6-v2 is the teacher. ``m2vcli.distillation.distill`` also returns vocabulary and timing
    details.
    """
    from m2vcli.distillation import distill as run

    return run(**settings).model
