"""A table's storage type: float32, float16, or int8 with one scale (so magnitudes round-trip)."""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np

from m2vcli.errors import OutputError


class Quantize(str, Enum):
    FLOAT32 = "float32"
    FLOAT16 = "float16"
    INT8 = "int8"


def quantize(table: np.ndarray, how: Quantize) -> tuple[np.ndarray, float | None]:
    """Store the table in float32, float16, or int8 with one scale (so magnitudes round-trip)."""
    if how is Quantize.FLOAT32:
        return table.astype(np.float32), None
    if how is Quantize.FLOAT16:
        largest = float(np.abs(table).max()) if table.size else 0.0
        if np.isfinite(largest) and largest > float(np.finfo(np.float16).max):
            raise OutputError(
                f"the table holds {largest:.6g}, beyond float16's range (+-65504): "
                "use --quantize float32 or int8 (int8 keeps a scale)"
            )
        return table.astype(np.float16), None
    scale = float(np.abs(table).max() / 127.0) or 1.0
    return np.clip(np.rint(table / scale), -127, 127).astype(np.int8), scale


def storage_type(dtype: Any) -> Quantize:
    """The storage type of a table of ``dtype`` (float16 for one that is none of them, such as float64).

    >>> storage_type("int8").value, storage_type("float64").value
    ('int8', 'float16')
    """
    name = np.dtype(dtype).name
    return Quantize(name) if name in {q.value for q in Quantize} else Quantize.FLOAT16
