"""The ``m2v encode`` job: lines of text in, one vector per line out, streamed to npy, JSON lines or
safetensors. Nothing here imports torch, transformers, mteb or scikit-learn."""

from __future__ import annotations

from m2vcli.encoding.job import EncodeConfig, EncodeResult, InputErrors, encode_lines
from m2vcli.encoding.vector_io import OutputFormat

__all__ = ["EncodeConfig", "EncodeResult", "InputErrors", "OutputFormat", "encode_lines"]
