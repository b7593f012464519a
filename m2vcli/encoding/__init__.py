"""The ``m2v encode`` job: texts in (plain lines, JSON lines, CSV, TSV, Parquet), one vector per text out,
streamed to npy, JSON lines, safetensors or Parquet, on this machine or on a Ray cluster
(``m2vcli.encoding.ray_engine``, which needs the ``ray`` extra). Nothing here imports torch, transformers,
mteb, scikit-learn or ray."""

from __future__ import annotations

from m2vcli.encoding.job import encode_lines
from m2vcli.encoding.settings import EncodeConfig, EncodeResult, Engine, InputErrors
from m2vcli.encoding.vector_io import OutputFormat, VectorDType
from m2vcli.texts import InputFormat

__all__ = [
    "EncodeConfig",
    "EncodeResult",
    "Engine",
    "InputErrors",
    "InputFormat",
    "OutputFormat",
    "VectorDType",
    "encode_lines",
]
