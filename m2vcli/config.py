"""Settings helpers shared by every command: each feature's frozen dataclass holds its defaults, and YAML
files and flags override them.

Precedence: a command-line flag beats the YAML file, which beats the default. Unknown keys in a file
are an error, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from m2vcli.errors import ConfigError

E = TypeVar("E", bound=Enum)


def enum_value(name: str, value: Any, enum: type[E]) -> E:
    """``value`` as a member of ``enum``, or a one-line error that lists the choices.

    >>> from m2vcli.encoding import OutputFormat
    >>> enum_value("format", "jsonl", OutputFormat)
    <OutputFormat.jsonl: 'jsonl'>
    """
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError as exc:
        choices = ", ".join(str(m.value) for m in enum)
        raise ConfigError(f"{name} must be one of {choices}, got {value!r}") from exc


def coerce_enum(obj: Any, name: str, enum: type[Enum]) -> None:
    """Turn the field ``name`` of a frozen dataclass into a member of ``enum`` (None stays None)."""
    value = getattr(obj, name)
    if value is not None:
        object.__setattr__(obj, name, enum_value(name, value, enum))


T = TypeVar("T")


def read_yaml(path: str | Path, what: str = "config file") -> tuple[Any, str]:
    """The document in a YAML file (``yaml.safe_load``) and its text; ``what`` names the file in errors,
    which say the line of a syntax error."""
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        return yaml.safe_load(text), text
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} {file} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {file}: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{what} {file} is not valid YAML{where}") from exc


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping of settings; keys may use dashes or underscores."""
    file = Path(path)
    data, _ = read_yaml(file)
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
