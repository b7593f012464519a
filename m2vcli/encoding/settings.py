"""Settings of ``m2v encode`` (``EncodeConfig``) and what it returns, for both engines."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

from m2vcli.config import coerce_enum
from m2vcli.encoding.vector_io import OutputFormat, VectorDType
from m2vcli.errors import ConfigError, MissingValueError
from m2vcli.model import DEFAULT_BATCH_SIZE
from m2vcli.texts import InputFormat, ReadSettings

NO_MODEL = "no model given: pass --model PATH (a model folder or hub id)"


class InputErrors(str, Enum):
    """What to do with input bytes that are not valid UTF-8."""

    STRICT = "strict"
    REPLACE = "replace"


class Engine(str, Enum):
    """Where the work runs: this process, or a Ray cluster (a local one when no address is given)."""

    local = "local"
    ray = "ray"


@dataclasses.dataclass(frozen=True)
class EncodeConfig:
    """Settings of ``m2v encode``."""

    model: str | None = None
    input: str | None = None
    output: str | None = None
    format: OutputFormat | None = None
    input_format: InputFormat | None = None
    field: str | None = None  # the text's JSON field or CSV/Parquet column (default: "text")
    id_field: str | None = None  # a field or column kept beside each vector
    dtype: VectorDType = VectorDType.float32
    normalize: bool | None = None
    batch_size: int | None = None  # texts per batch (default: DEFAULT_BATCH_SIZE; RAY_BATCH_SIZE on Ray)
    max_length: int | None = None
    errors: InputErrors = InputErrors.STRICT
    texts: tuple[str, ...] = ()  # texts given on the command line instead of an input
    engine: Engine = Engine.local
    address: str | None = None  # a Ray cluster to join: "auto", "ray://host:port"
    concurrency: int | None = None  # Ray: model copies (actors); default one per CPU
    force: bool = False  # Ray: replace an existing output folder

    def __post_init__(self) -> None:
        if isinstance(self.texts, str):
            object.__setattr__(self, "texts", (self.texts,))
        object.__setattr__(self, "texts", tuple(self.texts or ()))
        if self.texts and self.input not in (None, "-"):
            raise ConfigError("give texts (--text) or an input file, not both")
        for name, enum in (
            ("format", OutputFormat),
            ("input_format", InputFormat),
            ("errors", InputErrors),
            ("dtype", VectorDType),
            ("engine", Engine),
        ):
            coerce_enum(self, name, enum)
        if self.batch_size is not None and (not isinstance(self.batch_size, int) or self.batch_size < 1):
            raise ConfigError(
                f"batch_size must be a whole number of at least 1, got {self.batch_size!r}", key="batch_size"
            )
        if self.max_length is not None and (not isinstance(self.max_length, int) or self.max_length < 0):
            raise ConfigError(
                f"max_length must be 0 (no limit) or a positive whole number, got {self.max_length!r}", key="max_length"
            )
        if self.concurrency is not None and (not isinstance(self.concurrency, int) or self.concurrency < 1):
            raise ConfigError(
                f"concurrency must be a whole number of at least 1, got {self.concurrency!r}", key="concurrency"
            )
        for name in ("field", "id_field"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(f"{name} must be a non-empty name, got {value!r}", key=name)
        if not self.model:
            raise MissingValueError(NO_MODEL, option="--model")

    def read_settings(
        self, fmt: InputFormat, max_chars: int | None, name: str, rows: int | None = None
    ) -> ReadSettings:
        return ReadSettings(
            format=fmt,
            field=self.field or "text",
            id_field=self.id_field,
            errors=self.errors.value,
            max_chars=max_chars,
            rows=rows or self.batch_size or DEFAULT_BATCH_SIZE,
            name=name,
        )


@dataclass(frozen=True)
class EncodeResult:
    rows: int
    dim: int
    format: OutputFormat
    output: str
