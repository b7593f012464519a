"""Settings helpers shared by every command: each feature's frozen dataclass holds its defaults, and YAML
files and flags override them.

Precedence: a command-line flag beats the YAML file, which beats the default. Unknown keys in a file
are an error, so a typo never silently falls back to a default. Every value a file gives is checked
against the field's type before the dataclass sees it: ``force: "false"`` is an error, not ``True``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from m2vcli.errors import ConfigError, MissingValueError
from m2vcli.files import read_limited

E = TypeVar("E", bound=Enum)

MAX_YAML_BYTES = 4 * 1024 * 1024  # a config or task file; far more than any real one needs


def clip(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to about ``limit`` characters, for error messages that show a value from a file.

    >>> clip("x" * 200, 12)
    "'xxx...xxxx'"
    >>> clip(10**5000)
    'a whole number with about 5001 digits'
    """
    import reprlib

    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"a whole number with about {int(value.bit_length() * 0.30103) + 1} digits"
    short = reprlib.Repr()
    short.maxstring, short.maxother, short.maxlong, short.maxlist, short.maxdict = limit, limit, limit, 8, 8
    try:
        text = short.repr(value)
    except ValueError:  # an int too long for str()
        text = type(value).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    except (ValueError, TypeError) as exc:
        choices = ", ".join(str(m.value) for m in enum)
        raise ConfigError(f"{name} must be one of {choices}, got {clip(value)}") from exc


def coerce_enum(obj: Any, name: str, enum: type[Enum]) -> None:
    """Turn the field ``name`` of a frozen dataclass into a member of ``enum`` (None stays None)."""
    value = getattr(obj, name)
    if value is not None:
        object.__setattr__(obj, name, enum_value(name, value, enum))


T = TypeVar("T")

# YAML 1.1 (PyYAML) reads 1e-4 as a string; YAML 1.2 and every user read it as a number.
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _AliasFound(Exception):
    def __init__(self, anchor: str, line: int) -> None:
        super().__init__(anchor)
        self.anchor, self.line = anchor, line


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line


@functools.cache
def yaml_loader() -> type[Any]:
    """``yaml.SafeLoader`` that refuses aliases (``*name``: a 1 KB file could expand to gigabytes) and
    repeated keys, and reads ``1e-4`` as a number."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise _AliasFound(str(event.anchor), event.start_mark.line + 1)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[str] = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        raise _DuplicateKey(key.value, key.start_mark.line + 1)
                    seen.add(key.value)
            return super().construct_mapping(node, deep=deep)

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
    return Loader


def read_yaml(path: str | Path, what: str = "config file") -> tuple[Any, str]:
    """The document in a YAML file (safe: no tags, no aliases) and its text; ``what`` names the file in
    errors, which say the line at fault. A file over ``MAX_YAML_BYTES`` is refused before it is read."""
    import yaml

    file = Path(path)
    data = read_limited(file, what, MAX_YAML_BYTES, ConfigError)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{what} {file} line {line} is not valid UTF-8") from exc
    try:
        return yaml.load(text, Loader=yaml_loader()), text  # a SafeLoader subclass
    except _AliasFound as exc:
        raise ConfigError(
            f"{what} {file} line {exc.line}: YAML aliases (*{exc.anchor[:40]}) are not allowed; write the value out"
        ) from exc
    except _DuplicateKey as exc:
        raise ConfigError(f"{what} {file} line {exc.line}: key {clip(exc.key, 40)} is given twice") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{what} {file} is not valid YAML{where}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{what} {file} is nested too deeply") from exc
    except ValueError as exc:  # a date that does not exist, an integer with thousands of digits
        raise ConfigError(f"{what} {file} holds a value YAML cannot read: {clip(str(exc))}") from exc


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping of settings; keys may use dashes or underscores."""
    file = Path(path)
    data, _ = read_yaml(file)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {file} must hold a mapping of settings, got {type(data).__name__}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name in values:
            raise ConfigError(f"config file {file}: key {clip(name, 40)} is given twice (with - and with _)")
        values[name] = value
    return values


def describe_type(hint: Any) -> str:
    """How an error message names the values a field annotation allows.

    >>> describe_type(int | float | None), describe_type(bool | None), describe_type(tuple[str, ...])
    ('a finite number or null', 'true, false or null', 'a list of strings')
    """
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None) and not (a is int and float in get_args(hint))]
        words: list[str] = []
        for arg in args:
            if arg is bool:
                words += ["true", "false"]
            elif isinstance(arg, type) and issubclass(arg, Enum):
                words += [str(m.value) for m in arg]
            else:
                words.append(describe_type(arg))
        words += ["null"] if type(None) in get_args(hint) else []
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return "one of " + ", ".join(str(m.value) for m in hint)
    names = {bool: "true or false", int: "a whole number", float: "a finite number", str: "a string"}
    if hint in names:
        return names[hint]
    if get_origin(hint) is tuple:
        return "a list of strings"
    raise TypeError(f"no check for the annotation {hint!r}")


def typed_value(value: Any, hint: Any) -> tuple[bool, Any]:
    """``(True, value)`` (an Enum member for an Enum, a tuple for a list) when ``value`` fits ``hint``,
    else ``(False, None)``. A bool is not an int, an int is a float, a float must be finite.

    >>> typed_value("false", bool), typed_value(True, int), typed_value(3, float), typed_value(["a"], tuple[str, ...])
    ((False, None), (False, None), (True, 3), (True, ('a',)))
    """
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = get_args(hint)
        for arg in args:
            ok, converted = typed_value(value, arg)
            if ok:
                return True, converted
        spelled_none = isinstance(value, str) and value.strip().lower() in {"none", "null"}
        return (True, None) if spelled_none and type(None) in args and str not in args else (False, None)
    if hint is type(None):
        return value is None, None
    if hint is bool:
        return (True, value) if isinstance(value, bool) else (False, None)
    if hint is int:
        return (True, value) if isinstance(value, int) and not isinstance(value, bool) else (False, None)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False, None
        try:
            return (True, value) if math.isfinite(value) else (False, None)
        except OverflowError:  # an int too large for a float
            return False, None
    if hint is str:
        return (True, value) if isinstance(value, str) else (False, None)
    if origin is tuple:
        if isinstance(value, str):
            return True, value
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return (True, tuple(value)) if ok else (False, None)
    if isinstance(hint, type) and issubclass(hint, Enum):
        members = [m for m in hint if isinstance(value, str) and m.value == value]
        return (True, members[0]) if members else (False, None)
    raise TypeError(f"no check for the annotation {hint!r}")


def check_values(cls: type[Any], values: dict[str, Any], where: str) -> dict[str, Any]:
    """``values`` checked against the annotations of the dataclass ``cls`` (see ``typed_value``); a value of
    the wrong type is a ``ConfigError`` that starts with ``where`` and names the key."""
    hints = get_type_hints(cls)
    checked = {}
    for name, value in values.items():
        ok, converted = typed_value(value, hints[name])
        if not ok:
            raise ConfigError(f"{where}: {name} must be {describe_type(hints[name])}, got {clip(value)}")
        checked[name] = converted
    return checked


def build_config(cls: type[T], config_file: str | Path | None, flags: dict[str, Any]) -> T:
    """Merge defaults < YAML file < flags (flags that are None were not given) into ``cls``. Values from
    the file are checked against the field types (flags are typed by the CLI already)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values = load_yaml(config_file) if config_file else {}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"unknown key {clip(unknown[0], 40)} in {config_file}; valid keys: {', '.join(names)}")
    where = f"config file {config_file}"
    values = check_values(cls, values, where)
    from_file = set(values)
    given = {k: v for k, v in flags.items() if v is not None}
    values.update(given)
    try:
        return cls(**values)
    except MissingValueError:
        raise
    except ConfigError as exc:
        if exc.key in from_file and exc.key not in given:  # a range check on a value the file gave
            raise ConfigError(f"{where}: {exc}", key=exc.key) from exc
        if exc.key in given and str(exc).startswith(f"{exc.key} "):  # name the flag, as it was typed
            flag = "--" + exc.key.replace("_", "-")
            raise ConfigError(flag + str(exc)[len(exc.key) :], key=exc.key) from exc
        raise
