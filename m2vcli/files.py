"""Reading input files and writing output files, with one-line errors and atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from m2vcli.errors import InputError, OutputError


def read_bytes(path: Path, what: str) -> bytes:
    """The bytes of ``path``; ``what`` names the file in errors (e.g. "corpus file")."""
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory, not a text file")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def read_text(path: Path, what: str) -> str:
    """A UTF-8 text file (a leading BOM dropped); binary or undecodable content is a one-line error.

    The error for invalid UTF-8 names the line, counted from 1.
    """
    data = read_bytes(path, what)
    if b"\x00" in data:
        raise InputError(f"{what} {path} is binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{what} {path} line {line} is not valid UTF-8") from None


def folder_bytes(path: Path | None) -> int | None:
    """Total size of the files under ``path``, or None when it is not a folder."""
    if path is None or not path.is_dir():
        return None
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def check_output_file(path: str | Path, what: str = "output") -> Path:
    """Fail early, before any work, when ``path`` cannot be written as a file."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{what} {target} is a directory; give a file name")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {target}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise OutputError(f"cannot write {target}: permission denied")
    return target


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` only if the block finishes without error."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
