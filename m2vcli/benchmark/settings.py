"""Settings of ``m2v bench``: ``BenchConfig`` and the two presets it fills unset values from. A leaf: the
runner and the target finder both import it."""

from __future__ import annotations

from dataclasses import dataclass

from m2vcli.config import coerce_enum
from m2vcli.errors import ConfigError
from m2vcli.tables import TableFormat

FULL = {"n": 5000, "repeats": 3, "latency_calls": 200, "cold_start": True}
QUICK = {"n": 64, "repeats": 1, "latency_calls": 10, "cold_start": False}


@dataclass(frozen=True)
class BenchConfig:
    """Settings of ``m2v bench``. A setting left at None takes its value from ``FULL``, or from ``QUICK``
    with ``quick``; a value given explicitly always wins."""

    models: tuple[str, ...] = ()
    corpus: str | None = None
    n: int | None = None
    batch_size: int = 64
    repeats: int | None = None
    latency_calls: int | None = None
    quick: bool = False
    reference: bool = False
    cold_start: bool | None = None
    output: str | None = None  # the JSON report
    teacher: bool = True  # time the static models' teacher beside them
    format: TableFormat = TableFormat.TABLE  # how the command shows the report

    def __post_init__(self) -> None:
        if isinstance(self.models, str):
            object.__setattr__(self, "models", (self.models,))
        object.__setattr__(self, "models", tuple(self.models or ()))
        coerce_enum(self, "format", TableFormat)
        for name, value in (QUICK if self.quick else FULL).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        for name in ("n", "batch_size", "repeats", "latency_calls"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}", key=name)
        if not isinstance(self.cold_start, bool):
            raise ConfigError(f"cold_start must be true or false, got {self.cold_start!r}", key="cold_start")

    @property
    def texts(self) -> int:
        assert self.n is not None  # filled by __post_init__
        return self.n
