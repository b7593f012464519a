"""A table in another storage type or with fewer dimensions (``StaticEmbedder.quantize``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from m2vcli.errors import ConfigError
from m2vcli.model.quantization import Quantize, quantize


def quantized_table(
    table: np.ndarray, stored_as: Any, config: dict[str, Any], dtype: str | None, dims: int | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """``table`` (float32, scale applied) stored as ``dtype`` (None: ``stored_as``, the dtype it has now)
    and cut to its first ``dims`` columns, with the config that goes with it (its ``embedding_scale``)."""
    width = table.shape[1]
    if dims is not None and (isinstance(dims, bool) or not isinstance(dims, (int, np.integer)) or dims < 1):
        raise ConfigError(f"dims must be a whole number of at least 1, not {dims!r}", key="dims")
    if dims is not None and dims > width:
        raise ConfigError(f"dims {dims} is more than the model's {width}: a model can only lose dimensions")
    known = {q.value for q in Quantize}
    name = np.dtype(stored_as).name
    wanted = str(dtype.value if isinstance(dtype, Quantize) else dtype) if dtype is not None else None
    if wanted is not None and wanted not in known:
        raise ConfigError(f"dtype must be one of {', '.join(sorted(known))}, not {dtype!r}", key="dtype")
    how = Quantize(wanted or (name if name in known else "float32"))
    stored, scale = quantize(table[:, : dims or width], how)
    out = dict(config)
    out.pop("embedding_scale", None)
    if scale is not None:
        out["embedding_scale"] = scale
    if isinstance(out.get("distillation"), dict):
        out["distillation"] = {**out["distillation"], "quantize": how.value}
    return stored, out
