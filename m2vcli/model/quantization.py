"""A table's storage type: float32, float16, or int8 with one scale (so magnitudes round-trip)."""

from __future__ import annotations

from enum import Enum

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
