"""``m2v distill``: every token of a vocabulary through a Sentence Transformer once, PCA, SIF weighting,
one vector per token.

- ``distiller``: ``distill`` and its settings, phase by phase;
- ``vocabulary`` and ``wordlists``: the teacher's tokens, and whole words added to them;
- ``numerics``: PCA, SIF weights, storage type.

The teacher (loading it, its forward pass) is ``m2vcli.teacher``; distilling then refining on a corpus
is ``m2vcli.refinement.pipeline``.
"""

from __future__ import annotations

from m2vcli.distillation.distiller import DistillConfig, DistillResult, run_distillation
from m2vcli.distillation.numerics import Weighting
from m2vcli.model.quantization import Quantize
from m2vcli.teacher import Device, Pooling, Precision

__all__ = [
    "Device",
    "DistillConfig",
    "DistillResult",
    "Pooling",
    "Precision",
    "Quantize",
    "Weighting",
    "run_distillation",
]
