"""Inputs of ``m2v encode --engine ray``: planning one read task per text file or Parquet row group (the
files listed by ``m2vcli.texts.list_inputs``), and a Ray Data datasource that reads them with m2v's own
readers, so every text keeps its input file and position. Importing this module does not import ray."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, replace
from typing import Any

from m2vcli.texts import (
    InputFormat,
    ReadSettings,
    choose_input_format,
    open_input,
    parquet_file,
    read_chunks,
    read_parquet,
)


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
        with contextlib.closing(open_input(path)) as stream:
            meta = parquet_file(stream, replace(settings, name=f"input {path}")).metadata
        units.extend(Unit(path, index, (g,), meta.row_group(g).num_rows) for g in range(meta.num_row_groups))
    return units


def read_unit(unit: Unit, settings: ReadSettings) -> Any:
    """Yield pyarrow tables of ``file``, ``row``, ``text`` and ``id`` (when asked) for one unit."""
    import pyarrow as pa

    named = replace(settings, name=f"input {unit.path}")
    with contextlib.closing(open_input(unit.path)) as stream:
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
