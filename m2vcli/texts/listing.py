"""The files an input names, with one rule for every command: a file; a folder (its input files,
recursively, sorted); a glob; or a URI that pyarrow can open (``s3://bucket/data/``, ``file:///data/*.csv``).

In a folder, or a URI folder, a file counts when its extension names an input format (``SUFFIXES``), or
any file when the format is given explicitly; names starting with ``.`` or ``_`` (hidden files, ``_SUCCESS``
markers) are skipped at every depth. A glob takes every regular file it matches. Importing this module does
not import pyarrow.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from pathlib import Path
from typing import Any, BinaryIO

from m2vcli.errors import InputError, first_line
from m2vcli.extras import require
from m2vcli.texts.formats import SUFFIXES

WILDCARDS = "*?["


def is_uri(path: str) -> bool:
    return "://" in path


def is_pattern(path: str) -> bool:
    return any(c in path for c in WILDCARDS)


def filesystem(uri: str) -> tuple[Any, str]:
    require("parquet", f"reading {uri.split('://', 1)[0]}:// URIs")
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(uri)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError and others for a bad URI
        raise InputError(f"cannot open {uri}: {first_line(exc)}") from exc


def _counts(relative: str, any_file: bool) -> bool:
    parts = relative.replace("\\", "/").split("/")
    if any(part.startswith((".", "_")) for part in parts):
        return False
    return any_file or Path(parts[-1]).suffix.lower() in SUFFIXES


def list_inputs(source: str, *, any_file: bool = False, what: str = "input") -> list[str]:
    """The files ``source`` names, as absolute paths (or URIs), sorted; ``any_file`` takes every file of a
    folder, not only those whose extension names a format (the format was given)."""
    if is_uri(source):
        return _list_uri(source, any_file, what)
    path = Path(source).expanduser()
    if is_pattern(source) and not path.exists():
        found = sorted(p for p in glob.glob(str(path), recursive=True) if os.path.isfile(p))
        if not found:
            raise InputError(f"{what} pattern {source} matches no file")
        return [os.path.abspath(p) for p in found]
    if path.is_dir():
        found = sorted(str(p) for p in path.rglob("*") if p.is_file() and _counts(str(p.relative_to(path)), any_file))
        if not found:
            kinds = "files" if any_file else f"{', '.join(SUFFIXES)} files"
            raise InputError(f"{what} folder {source} holds no {kinds}")
        return [os.path.abspath(p) for p in found]
    if path.exists():
        return [os.path.abspath(path)]
    raise InputError(f"{what} {source} does not exist (give a file, a folder or a glob)")


def _list_uri(pattern: str, any_file: bool, what: str) -> list[str]:
    import pyarrow.fs as pafs

    scheme = pattern.split("://", 1)[0]
    wild = is_pattern(pattern)
    base = pattern.rsplit("/", 1)[0] if wild else pattern
    fs, root = filesystem(base)
    try:
        info = fs.get_file_info(root)
        if info.type == pafs.FileType.File and not wild:
            return [pattern]
        if info.type != pafs.FileType.Directory:
            raise InputError(f"{what} {pattern} does not exist")
        entries = fs.get_file_info(pafs.FileSelector(root, recursive=not wild))
    except OSError as exc:
        raise InputError(f"cannot list {pattern}: {first_line(exc)}") from exc
    name_pattern = pattern.rsplit("/", 1)[1] if wild else None
    found = sorted(
        e.path
        for e in entries
        if e.type == pafs.FileType.File
        and (
            fnmatch.fnmatch(e.base_name, name_pattern)
            if name_pattern is not None
            else _counts(e.path[len(root.rstrip("/")) + 1 :], any_file)
        )
    )
    if not found:
        raise InputError(f"no {what} files match {pattern}")
    return [f"{scheme}://{p}" if scheme != "file" else f"file://{p}" for p in found]


def open_input(path: str, what: str = "input") -> BinaryIO:
    """A binary stream for a local path or a URI; a folder or a missing file is a one-line error."""
    if is_uri(path):
        fs, inner = filesystem(path)
        try:
            return fs.open_input_file(inner)
        except OSError as exc:
            raise InputError(f"cannot read {what} {path}: {first_line(exc)}") from exc
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{what} {path} is a directory, not a file")
    try:
        return target.open("rb")
    except FileNotFoundError as exc:
        raise InputError(f"{what} {path} does not exist") from exc
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
