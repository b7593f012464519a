"""Inputs of ``m2v encode --engine ray``: listing files (local paths, folders, globs, URIs), planning one
read task per text file or Parquet row group, and a Ray Data datasource that reads them with m2v's own
readers, so every text keeps its input file and position. Importing this module does not import ray."""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import glob
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from m2vcli.encoding.sources import InputFormat, ReadSettings, choose_input_format, read_chunks, read_parquet
from m2vcli.errors import InputError, first_line


def is_uri(path: str) -> bool:
    return "://" in path


def filesystem(uri: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(uri)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError and others for a bad URI
        raise InputError(f"cannot open {uri}: {first_line(exc)}") from exc


def list_inputs(pattern: str) -> list[str]:
    """The files an input names: a file, a folder (its files, recursively, sorted), or a glob; a URI
    (``s3://bucket/data/``, ``s3://bucket/data/*.parquet``) is listed through its pyarrow filesystem."""
    if not is_uri(pattern):
        if any(c in pattern for c in "*?["):
            found = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
        elif os.path.isdir(pattern):
            found = sorted(
                str(p) for p in Path(pattern).rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
            )
        elif os.path.isfile(pattern):
            found = [pattern]
        else:
            raise InputError(f"input {pattern} does not exist")
        if not found:
            raise InputError(f"no input files match {pattern}")
        return [os.path.abspath(p) for p in found]
    import pyarrow.fs as pafs

    scheme = pattern.split("://", 1)[0]
    wild = any(c in pattern for c in "*?[")
    base = pattern.rsplit("/", 1)[0] if wild else pattern
    fs, root = filesystem(base)
    try:
        info = fs.get_file_info(root)
        if info.type == pafs.FileType.File and not wild:
            return [pattern]
        if info.type != pafs.FileType.Directory:
            raise InputError(f"input {pattern} does not exist")
        entries = fs.get_file_info(pafs.FileSelector(root, recursive=not wild))
    except OSError as exc:
        raise InputError(f"cannot list {pattern}: {first_line(exc)}") from exc
    name_pattern = pattern.rsplit("/", 1)[1] if wild else None
    found = sorted(
        e.path
        for e in entries
        if e.type == pafs.FileType.File
        and not e.base_name.startswith((".", "_"))
        and (name_pattern is None or fnmatch.fnmatch(e.base_name, name_pattern))
    )
    if not found:
        raise InputError(f"no input files match {pattern}")
    return [f"{scheme}://{p}" if scheme != "file" else f"file://{p}" for p in found]


def _open(path: str) -> Any:
    """A binary input stream for a local path or a URI."""
    if not is_uri(path):
        return open(path, "rb")
    fs, inner = filesystem(path)
    return fs.open_input_file(inner)


@dataclass(frozen=True)
class Unit:
    """One read task: a file, or some row groups of a Parquet file."""

    path: str
    index: int  # the file's place among the inputs
    row_groups: tuple[int, ...] | None = None
    rows: int | None = None  # known ahead for Parquet


def plan_units(paths: list[str], settings: ReadSettings) -> list[Unit]:
    """One unit per file; a Parquet file gives one per row group, so one large file is read in parallel."""
    units = []
    for index, path in enumerate(paths):
        fmt = choose_input_format(None, path, False) if settings.format is None else settings.format
        if fmt is not InputFormat.parquet:
            units.append(Unit(path, index))
            continue
        with contextlib.closing(_open(path)) as stream:
            import pyarrow.parquet as pq

            try:
                meta = pq.ParquetFile(stream).metadata
            except Exception as exc:  # pyarrow raises ArrowInvalid and OSError for a broken file
                raise InputError(f"input {path} is not a readable Parquet file: {first_line(exc)}") from exc
        units.extend(Unit(path, index, (g,), meta.row_group(g).num_rows) for g in range(meta.num_row_groups))
    return units


def read_unit(unit: Unit, settings: ReadSettings) -> Any:
    """Yield pyarrow tables of ``file``, ``row``, ``text`` and ``id`` (when asked) for one unit."""
    import pyarrow as pa

    named = replace(settings, name=f"input {unit.path}")
    with contextlib.closing(_open(unit.path)) as stream:
        if unit.row_groups is not None:
            chunks = read_parquet(stream, named, row_groups=list(unit.row_groups))
        else:
            chunks = read_chunks(stream, named)
        for chunk in chunks:
            columns: dict[str, Any] = {
                "file": pa.array([unit.index] * len(chunk), pa.int32()),
                "row": pa.array(chunk.positions, pa.int64()),
                "text": pa.array(chunk.texts, pa.large_string()),
            }
            if chunk.ids is not None:
                columns["id"] = pa.array(chunk.ids)
            yield pa.table(columns)


def text_source(units: list[Unit], settings: ReadSettings) -> Any:
    """A Ray Data datasource reading ``units`` (built here so that this module imports without ray)."""
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask

    class TextSource(Datasource):
        def get_name(self) -> str:
            return "M2VTexts"

        def estimate_inmemory_data_size(self) -> int | None:
            return None

        def get_read_tasks(
            self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None
        ) -> list[Any]:
            tasks = []
            for unit in units:
                meta = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=(unit.path,))
                tasks.append(ReadTask(functools.partial(read_unit, unit, settings), meta))
            return tasks

    return TextSource()
