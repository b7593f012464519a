"""``m2v distill``: every token of a vocabulary through a Sentence Transformer once, PCA, SIF weighting,
one vector per token.

- ``distiller``: ``distill`` and its settings, phase by phase;
- ``teacher``: find and load the teacher (torch and transformers are imported there, and only there);
- ``vocabulary`` and ``wordlists``: the teacher's tokens, and whole words added to them;
- ``numerics``: pooling weights, PCA, SIF weights, storage type.
"""

from __future__ import annotations

from m2vcli.distillation.distiller import DistillConfig, DistillResult, distill
from m2vcli.distillation.numerics import Pooling, Quantize, Weighting
from m2vcli.distillation.teacher import Device, Precision

__all__ = ["Device", "DistillConfig", "DistillResult", "Pooling", "Precision", "Quantize", "Weighting", "distill"]
