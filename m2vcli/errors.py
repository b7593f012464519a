"""The errors m2v raises on purpose.

Every expected failure (bad input, a missing file, an unreachable hub) is an ``M2VError``: the CLI shows
its message as one line and exits with code 1. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class M2VError(Exception):
    """Base class of every error that m2v reports to the user as a one-line message."""


class ModelLoadError(M2VError):
    """A model folder or hub id could not be loaded."""


class ModelFormatError(ModelLoadError):
    """A model folder exists but its files are missing, corrupt or disagree with each other."""


class HubError(ModelLoadError):
    """A hub id could not be resolved (offline and not cached, or not found)."""


class InputError(M2VError):
    """Input text or an input file is unusable."""


class RefinementError(M2VError):
    """A refinement that learned nothing: its model is not saved."""


class OutputError(M2VError):
    """An output path cannot be written."""


class MissingExtraError(M2VError):
    """A command or function needs an optional part of m2v (an extra) that is not installed."""


class ConfigError(M2VError):
    """A configuration value or file is invalid; ``key``: the setting at fault, where there is one."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class MissingValueError(ConfigError):
    """A required setting was given neither as a flag nor in the config file. The CLI reports it as a
    usage error (exit code 2) naming ``option``."""

    def __init__(self, message: str, *, option: str) -> None:
        super().__init__(message)
        self.option = option


def debug_enabled() -> bool:
    """``M2V_DEBUG=1``: show full tracebacks, with the library errors that caused them."""
    import os

    return os.environ.get("M2V_DEBUG", "").strip().lower() not in {"", "0", "false", "no"}


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (or its type's name), for one-line reports.

    >>> first_line(ValueError("bad value\\nmore detail"))
    'bad value'
    """
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]
