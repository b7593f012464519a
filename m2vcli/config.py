"""Settings for every command: frozen dataclasses hold the defaults, YAML files and flags override them.

Precedence: a command-line flag beats the YAML file, which beats the default. Unknown keys in a file
are an error, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from m2vcli.errors import ConfigError
from m2vcli.model import DEFAULT_BATCH_SIZE
from m2vcli.vector_io import OutputFormat


class InputErrors(str, Enum):
    """What to do with input bytes that are not valid UTF-8."""

    STRICT = "strict"
    REPLACE = "replace"


@dataclasses.dataclass(frozen=True)
class EncodeConfig:
    """Settings of ``m2v encode``."""

    model: str | None = None
    input: str | None = None
    output: str | None = None
    format: OutputFormat | None = None
    normalize: bool | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    max_length: int | None = None
    errors: InputErrors = InputErrors.STRICT

    def __post_init__(self) -> None:
        coerce_enum(self, "format", OutputFormat)
        coerce_enum(self, "errors", InputErrors)
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a whole number of at least 1, got {self.batch_size!r}")
        if self.max_length is not None and (not isinstance(self.max_length, int) or self.max_length < 0):
            raise ConfigError(f"max_length must be 0 (no limit) or a positive whole number, got {self.max_length!r}")
        if not self.model:
            raise ConfigError("no model given: pass --model PATH (a model folder or hub id)")


def coerce_enum(obj: Any, name: str, enum: type[Enum]) -> None:
    value = getattr(obj, name)
    if value is None or isinstance(value, enum):
        return
    try:
        object.__setattr__(obj, name, enum(value))
    except ValueError:
        choices = ", ".join(str(m.value) for m in enum)
        raise ConfigError(f"{name} must be one of {choices}, got {value!r}") from None


T = TypeVar("T")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with ``yaml.safe_load``; keys may use dashes or underscores."""
    import yaml

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {file}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {file} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {file} must hold a mapping of settings, got {type(data).__name__}")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def build_config(cls: type[T], config_file: str | Path | None, flags: dict[str, Any]) -> T:
    """Merge defaults < YAML file < flags (flags that are None were not given) into ``cls``."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values = load_yaml(config_file) if config_file else {}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} in {config_file}; valid keys: {', '.join(names)}")
    values.update({k: v for k, v in flags.items() if v is not None})
    return cls(**values)
