"""Folder swaps: two paths exchanged in one step, and an old folder's entries carried into a new one."""

from __future__ import annotations

import errno
import functools
import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def link_missing(old: Path, new: Path, skip: Iterable[str] = ()) -> None:
    """Entries of ``old`` that ``new`` lacks (but those named in ``skip``), hard-linked into ``new``
    (copied where a link fails)."""
    have = {entry.name for entry in new.iterdir()} | set(skip)
    for entry in old.iterdir():
        if entry.name in have:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, new / entry.name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, new / entry.name)


def _link_or_copy(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    try:
        os.link(source, dest, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, dest, follow_symlinks=False)


RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


@functools.cache
def _renameat2() -> Any:
    """libc's ``renameat2`` (glibc >= 2.28), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


def exchange_paths(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step. False, having done nothing, where the system or the file
    system cannot; any other failure is an ``OSError``."""
    func = _renameat2()
    if func is None:
        return False
    import ctypes

    if func(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))
