"""Reading input files and writing output files, with one-line errors and atomic writes."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from m2vcli.errors import InputError, OutputError


def read_bytes(path: Path, what: str) -> bytes:
    """The bytes of ``path``; ``what`` names the file in errors (e.g. "corpus file")."""
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory, not a text file")
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{what} {path} does not exist") from exc
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def decode_utf8(data: bytes, what: str, *, errors: str = "strict", hint: str = "") -> str:
    """UTF-8 text with a leading BOM dropped; ``errors`` is ``"strict"`` or ``"replace"``.

    Invalid UTF-8 (under ``"strict"``) is an ``InputError`` naming ``what``, the line counted from 1 and
    the first bad byte, then ``hint`` when given.

    >>> decode_utf8(b"\\xef\\xbb\\xbfok\\nbad \\xff", "input", hint="fix the input")
    Traceback (most recent call last):
    ...
    m2vcli.errors.InputError: input line 2 is not valid UTF-8 (byte 0xff); fix the input
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"{what} line {line} is not valid UTF-8 (byte {data[exc.start]:#04x})"
        raise InputError(f"{message}; {hint}" if hint else message) from exc


def read_text(path: Path, what: str) -> str:
    """A UTF-8 text file (a leading BOM dropped); binary or undecodable content is a one-line error
    (see ``decode_utf8``)."""
    data = read_bytes(path, what)
    if b"\x00" in data:
        raise InputError(f"{what} {path} is binary, not text")
    return decode_utf8(data, f"{what} {path}")


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


def umask_mode(mode: int) -> int:
    """``mode`` less the process's umask: what ``open`` or ``mkdir`` would give (0o666 for files, 0o777
    for folders). Temporary files and folders are created private, so outputs built in one are set to this
    before they are renamed into place.

    Reading the umask means setting it: it is set to 0o077 (private, should another thread create a file
    meanwhile) and back at once.
    """
    umask = os.umask(0o077)
    os.umask(umask)
    return mode & ~umask


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` only if the block finishes without error, with the mode the
    umask gives."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.chmod(tmp, umask_mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_folder(target: Path, fill: Callable[[Path], None]) -> None:
    """Build a folder with ``fill(tmp)`` in a sibling temporary folder, then move it into place at ``target``
    (replacing what is there). If ``fill`` fails or is interrupted, the temporary folder is removed and
    ``target`` is left as it was."""
    parent = target.parent if str(target.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write to {parent}: {exc.strerror or exc}") from exc
    backup: Path | None = None
    try:
        fill(tmp)
        tmp.chmod(umask_mode(0o777))  # mkdtemp made it private
        if target.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            backup.rmdir()
            target.rename(backup)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if backup is not None and backup.exists() and not target.exists():
            backup.rename(target)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
