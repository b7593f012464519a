"""Process-wide settings that m2v needs for a while, set for the duration of a ``with`` block and put
back afterwards, so that calling m2v from Python leaves the host process as it found it. (The ``m2v``
executable sets its own for the whole run, in ``m2vcli.console.quiet_libraries``.)"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress

# torch's CPU kernel caches: oneDNN's and ideep's hold a compiled kernel per input shape; unbounded, they
# grow with a corpus's shapes. Both are read when the first kernel runs.
KERNEL_CACHE_LIMITS = {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "64", "LRU_CACHE_CAPACITY": "64"}


@contextmanager
def environment_defaults(values: Mapping[str, str]) -> Iterator[None]:
    """Set each variable of ``values`` that is not set already, and remove it again on leaving (a
    variable the user set is never touched).

    >>> import os
    >>> with environment_defaults({"M2V_DOCTEST_VARIABLE": "1"}):
    ...     os.environ["M2V_DOCTEST_VARIABLE"]
    '1'
    >>> "M2V_DOCTEST_VARIABLE" in os.environ
    False
    """
    added = [name for name in values if name not in os.environ]
    for name in added:
        os.environ[name] = values[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


@contextmanager
def logger_levels(names: Sequence[str], level: int) -> Iterator[None]:
    """The loggers ``names`` at ``level`` inside the block, at their own levels again after it."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, old in zip(loggers, saved, strict=True):
            logger.setLevel(old)


def current_umask() -> int:
    """The process's umask, read without changing it where the system tells (Linux's ``/proc``); else
    read by setting it to 0o077 (private, should another thread create a file meanwhile) and back."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


def descendants(root: int | None = None) -> dict[int, str]:
    """Every process under ``root`` (this one by default), children of children included, each with its
    start time as ``/proc`` gives it (so a reused pid is never taken for it); empty where there is no
    ``/proc``."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(name))
        started[int(name)] = fields[19]
    found: dict[int, str] = {}
    waiting = list(children.get(os.getpid() if root is None else root, []))
    while waiting:
        pid = waiting.pop()
        if pid not in found:
            found[pid] = started[pid]
            waiting.extend(children.get(pid, []))
    return found


def end_processes(processes: Mapping[int, str], grace: float = 3.0) -> int:
    """Stop the processes of ``processes`` (from ``descendants``) that still run: SIGTERM, then SIGKILL
    after ``grace`` seconds. The number that had to be stopped."""
    import signal
    import time

    def alive() -> list[int]:
        return [pid for pid, start in processes.items() if process_start(pid) == start]

    left = alive()
    for pid in left:
        with suppress(ProcessLookupError, PermissionError):  # ended meanwhile, or not ours
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in alive():
        with suppress(ProcessLookupError, PermissionError):  # ended meanwhile, or not ours
            os.kill(pid, signal.SIGKILL)
    return len(left)


def process_start(pid: int) -> str | None:
    """A running process's start time (``/proc``), None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]
