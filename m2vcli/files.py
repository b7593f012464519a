"""Reading input files and writing output files, with one-line errors and atomic writes."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from m2vcli.errors import InputError, M2VError, OutputError
from m2vcli.swap import exchange_paths, link_missing


def read_bytes(path: Path, what: str, limit: int | None = None) -> bytes:
    """The bytes of ``path``; ``what`` names the file in errors (e.g. "corpus file"); with ``limit``, a
    larger file is refused before it is read (``read_limited``)."""
    if limit is not None:
        return read_limited(path, what, limit)
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory, not a text file")
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{what} {path} does not exist") from exc
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def _megabytes(size: int) -> str:
    return f"{size / 1024**2:,.1f} MB"


def file_size(path: Path, what: str, limit: int, error: type[M2VError] = InputError) -> int:
    """The size of the file ``path``, refused with a one-line ``error`` when it is over ``limit`` bytes, a
    folder, or missing."""
    try:
        if path.is_dir():
            raise error(f"{what} {path} is a directory, not a file")
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise error(f"{what} {path} does not exist") from exc
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if size > limit:
        raise error(f"{what} {path} is {_megabytes(size)}, more than the {_megabytes(limit)} limit")
    return size


def read_limited(path: Path, what: str, limit: int, error: type[M2VError] = InputError) -> bytes:
    """The bytes of ``path``, refused with a one-line ``error`` when it holds more than ``limit`` bytes.

    The size is checked before reading, and the read stops at ``limit + 1`` bytes either way (a FIFO or a
    file that grows meanwhile cannot make it unbounded).
    """
    size = file_size(path, what, limit, error)
    try:
        with path.open("rb") as handle:
            data = handle.read(size + 1)  # read(n) reserves n bytes first: not the limit, for a small file
            if len(data) > size:  # it grew meanwhile
                data += handle.read(limit + 1 - len(data))
    except FileNotFoundError as exc:
        raise error(f"{what} {path} does not exist") from exc
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise error(f"{what} {path} holds more than the {_megabytes(limit)} limit")
    return data


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
        raise utf8_error(what, data.count(b"\n", 0, exc.start) + 1, data[exc.start], hint) from exc


def utf8_error(what: str, line: int, byte: int, hint: str = "") -> InputError:
    """The one-line error for invalid UTF-8 on ``line`` (counted from 1) of ``what``, at ``byte``.

    >>> str(utf8_error("input", 3, 0xFF))
    'input line 3 is not valid UTF-8 (byte 0xff)'
    """
    message = f"{what} line {line} is not valid UTF-8 (byte {byte:#04x})"
    return InputError(f"{message}; {hint}" if hint else message)


def read_text(path: Path, what: str, limit: int | None = None) -> str:
    """A UTF-8 text file (a leading BOM dropped); binary or undecodable content is a one-line error
    (see ``decode_utf8``); with ``limit``, a larger file is refused before it is read."""
    data = read_bytes(path, what, limit)
    if b"\x00" in data:
        raise InputError(f"{what} {path} is binary, not text")
    return decode_utf8(data, f"{what} {path}")


def folder_bytes(path: Path | None) -> int | None:
    """Total size of the files under ``path``, or None when it is not a folder."""
    if path is None or not path.is_dir():
        return None
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def check_output_file(
    path: str | Path, what: str = "output", *, inputs: Iterable[str | os.PathLike[str] | int | None] = ()
) -> Path:
    """Fail early, before any work, when ``path`` cannot be written as a file.

    A FIFO or a character device (``/dev/null``) is fine: ``atomic_file`` writes to it directly. A
    directory, a socket or a block device is refused, and so is a regular file that is one of ``inputs``
    (paths, or file descriptors such as standard input's), through a link or not. A symlink is followed.
    """
    target = Path(path)
    found = _existing(target, what)
    if found is not None and _is_stream(found):
        if not os.access(target, os.W_OK):
            raise OutputError(f"cannot write {what} {target}: permission denied")
        return target
    real = Path(os.path.realpath(target))
    if not real.parent.is_dir():
        folder = real.parent if target.is_symlink() else (target.parent if str(target.parent) else Path("."))
        raise OutputError(f"cannot write {target}: folder {folder} does not exist")
    if not os.access(real.parent, os.W_OK) or (found is not None and not os.access(real, os.W_OK)):
        raise OutputError(f"cannot write {target}: permission denied")
    if found is not None:
        for source in inputs:
            if _same_file(found, source):
                name = "standard input" if isinstance(source, int) else f"input {source}"
                raise OutputError(f"{what} {target} is the same file as {name}; choose another output")
    return target


def _real(path: str | os.PathLike[str]) -> Path | None:
    try:
        return Path(os.path.realpath(os.fspath(path)))
    except (OSError, ValueError):
        return None


def check_not_read(
    target: str | os.PathLike[str], reads: Iterable[str | os.PathLike[str] | int | None], what: str = "output"
) -> None:
    """Refuse an output that would replace or write into something the command reads: ``target`` (a file or
    a folder, links followed) must not be one of ``reads``, hold one of them, or lie inside one of them (a
    model folder, an input folder). A file descriptor (standard input) is compared as a file.

    >>> check_not_read("/tmp/out", ["/tmp/other.txt", None])
    >>> check_not_read("/tmp/out", ["/tmp/out/in.txt"])
    Traceback (most recent call last):
    ...
    m2vcli.errors.OutputError: output /tmp/out holds /tmp/out/in.txt, which this command reads; choose another output
    """
    real_target = _real(target)
    if real_target is None:
        return
    for source in reads:
        if source is None or source == "-" or isinstance(source, int) or "://" in str(source):
            continue
        real = _real(source)
        if real is None:
            continue
        if real == real_target:
            raise OutputError(f"{what} {target} is {source}, which this command reads; choose another output")
        if real_target in real.parents:
            raise OutputError(f"{what} {target} holds {source}, which this command reads; choose another output")
        if real in real_target.parents:
            raise OutputError(f"{what} {target} is inside {source}, which this command reads; choose another output")


def local_path(name: str | None) -> str | None:
    """``name`` when it names something on this machine (a path, or a ``file://`` URI), else None (a hub id,
    another URI): what the output guard compares."""
    if not name or name == "-":
        return None
    if name.startswith("file://"):
        return name[len("file://") :]
    if "://" in name:
        return None
    return name if os.path.lexists(os.path.expanduser(name)) else None


def stdout_path(stream: Any) -> str | None:
    """The file standard output is redirected to (``> file``), where the system tells (Linux's ``/proc``)."""
    try:
        fd = int(stream.fileno())
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.readlink(f"/proc/self/fd/{fd}")
    except (AttributeError, OSError, ValueError):
        return None


def _existing(path: Path, what: str) -> os.stat_result | None:
    """What ``path`` names, links followed; None when nothing is there. Kinds never written are refused."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    except ValueError as exc:  # an embedded NUL byte
        raise OutputError(f"cannot write {what} {path!r}: the name contains a NUL byte") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {what} {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(found.st_mode):
        raise OutputError(f"{what} {path} is a directory; give a file name")
    if stat.S_ISSOCK(found.st_mode) or stat.S_ISBLK(found.st_mode):
        kind = "a socket" if stat.S_ISSOCK(found.st_mode) else "a block device"
        raise OutputError(f"{what} {path} is {kind}, not a file; give a file name")
    return found


def _is_stream(found: os.stat_result) -> bool:
    """A FIFO or a character device: written to directly, never replaced."""
    return stat.S_ISFIFO(found.st_mode) or stat.S_ISCHR(found.st_mode)


def _same_file(found: os.stat_result, source: str | os.PathLike[str] | int | None) -> bool:
    if source is None or source == "-" or not stat.S_ISREG(found.st_mode):
        return False
    try:
        other = os.stat(source)
    except (OSError, ValueError):
        return False
    return (other.st_dev, other.st_ino) == (found.st_dev, found.st_ino)


def _temp_prefix(name: str) -> str:
    """The prefix of a temporary sibling of ``name``: short, so that a legal 255-byte name still leaves room.

    >>> _temp_prefix("vectors.npy"), len(_temp_prefix("x" * 250))
    ('.vectors.npy.', 42)
    """
    return f".{name[:40]}."


def _write_error(path: Path, exc: OSError) -> OutputError:
    if isinstance(exc, FileNotFoundError) and not os.path.isdir(os.path.dirname(os.path.realpath(path))):
        return OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    return OutputError(f"cannot write {path}: {exc.strerror or exc}")


def umask_mode(mode: int) -> int:
    """``mode`` less the process's umask: what ``open`` or ``mkdir`` would give (0o666 for files, 0o777
    for folders). Temporary files and folders are created private, so outputs built in one are set to this
    before they are renamed into place.

    The umask is read without setting it where the system allows (see ``process.current_umask``).
    """
    from m2vcli.process import current_umask

    return mode & ~current_umask()


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` only if the block finishes without error, with the mode the
    umask gives. It is built in a temporary sibling and renamed into place; a symlink is followed (the file it
    names is replaced, the link stays). A FIFO or a character device is written to directly. An ``OSError``
    (a full disk, a folder that cannot be written) becomes a one-line ``OutputError``.
    """
    path = Path(path)
    found = _existing(path, "output")
    if found is not None and _is_stream(found):
        try:
            with os.fdopen(os.open(path, os.O_WRONLY), "wb") as stream:
                yield stream
        except OSError as exc:
            raise _write_error(path, exc) from exc
        return
    real = Path(os.path.realpath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(real.name), suffix=".partial", dir=real.parent)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.chmod(tmp, umask_mode(0o666))
        os.replace(tmp, real)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from exc
        raise


def atomic_folder(
    target: Path, fill: Callable[[Path], None], *, keep_existing: bool = False, never_keep: tuple[str, ...] = ()
) -> None:
    """Build a folder with ``fill(tmp)`` in a sibling temporary folder, then put it in place at ``target``.

    An existing folder is swapped with the new one in one step where the system can (Linux's
    ``renameat2(RENAME_EXCHANGE)``), else moved aside and back should the second rename fail: at every
    instant the real name holds the old folder or the new one. With ``keep_existing``, entries of the old
    folder that ``fill`` did not write (but those in ``never_keep``) are linked (or copied) into the new one
    first, so the old folder is intact until the swap. A symlink is followed: the folder it names is
    replaced, the link stays. If
    ``fill`` fails or is interrupted, nothing hidden is left and ``target`` is as it was; an ``OSError``
    becomes a one-line ``OutputError``.
    """
    target = Path(target)
    real = Path(os.path.realpath(target))
    if os.path.lexists(real) and not real.is_dir():
        raise OutputError(f"{target} exists and is not a folder")
    parent = real.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(real.name), suffix=".partial", dir=parent))
    except (FileExistsError, NotADirectoryError) as exc:
        raise OutputError(f"cannot write {target}: {parent} is not a folder") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    backup: Path | None = None
    try:
        fill(tmp)
        if keep_existing and real.is_dir():
            link_missing(real, tmp, never_keep)
        tmp.chmod(umask_mode(0o777))  # mkdtemp made it private
        if not real.exists():
            tmp.rename(real)
        elif not exchange_paths(tmp, real):  # on success tmp holds the old folder, removed below
            backup = Path(tempfile.mkdtemp(prefix=_temp_prefix(real.name), suffix=".old", dir=parent))
            backup.rmdir()
            real.rename(backup)
            tmp.rename(real)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if backup is not None and backup.exists() and not os.path.lexists(real):
            backup.rename(real)
        for leftover in (tmp, backup):
            if leftover is not None and leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)
