"""The teacher: finding and loading a Sentence Transformer or transformers encoder (``loading``), which
of its outputs are pooled (``pooling``), and its batched forward pass (``forward``), shared by
distillation and refinement. torch and transformers are imported only when a teacher is loaded."""

from __future__ import annotations

from m2vcli.teacher.forward import embed, pooled_outputs
from m2vcli.teacher.loading import (
    DEFAULT_TEACHER,
    Device,
    LoadedTeacher,
    Precision,
    check_before_loading,
    find_teacher,
    load_teacher,
    packaged_teacher,
)
from m2vcli.teacher.pooling import Pooling, pooling_weights

__all__ = [
    "DEFAULT_TEACHER",
    "Device",
    "LoadedTeacher",
    "Pooling",
    "Precision",
    "check_before_loading",
    "embed",
    "find_teacher",
    "load_teacher",
    "packaged_teacher",
    "pooled_outputs",
    "pooling_weights",
]
