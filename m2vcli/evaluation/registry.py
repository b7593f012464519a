"""Which tasks exist: the built-in suites and task lookup by name (the result categories are
``categories``).

Importing this module is light; mteb and the task modules load when tasks are asked for.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from enum import Enum
from typing import Any


class Suite(str, Enum):
    """The built-in task suites."""

    OFFLINE = "offline"
    PEARL = "pearl"
    SEED_CLASSIFICATION = "seed-classification"


def suite_tasks(suite: Suite | str) -> dict[str, Any]:
    """The task classes of a built-in suite, by name."""
    from m2vcli.config import enum_value
    from m2vcli.evaluation.tasks.offline import OFFLINE_SUITE, SEED_CLASSIFICATION
    from m2vcli.evaluation.tasks.pearl import PEARL_TASKS, PEARLAutoFJ

    chosen = enum_value("suite", suite, Suite)
    suites = {
        Suite.OFFLINE: {**OFFLINE_SUITE, "PEARLAutoFJ": PEARLAutoFJ},
        Suite.PEARL: PEARL_TASKS,
        Suite.SEED_CLASSIFICATION: SEED_CLASSIFICATION,
    }
    return suites[chosen]


def describe_tasks() -> list[dict[str, str]]:
    """m2v's own tasks, suite by suite: name, category, data source and description."""
    return [
        {
            "suite": suite.value,
            "task": name,
            "category": str(cls.m2v_category.value),
            "data": cls.metadata.dataset["path"],
            "description": cls.metadata.description,
        }
        for suite in Suite
        for name, cls in suite_tasks(suite).items()
    ]


def local_tasks() -> dict[str, Any]:
    """m2v's own tasks (every suite's), by name."""
    return {name: cls for suite in Suite for name, cls in suite_tasks(suite).items()}


def all_task_names() -> list[str]:
    from m2vcli.evaluation.mteb_adapter import mteb_task_names

    return [*local_tasks(), *mteb_task_names()]


def get_tasks(
    names: Sequence[str] = (), suite: Suite | str | None = None, *, pearl_data: str | None = None
) -> list[Any]:
    """Task objects: a built-in suite (``offline``, the default when nothing is named; ``pearl``, the PEARL
    phrase benchmark; ``seed-classification``, SST-2, IMDB, TREC, AG News from the hub) and/or tasks by
    name (m2v's or any MTEB task). ``pearl_data``: a folder holding a local copy of PEARL's hub data."""
    chosen = suite or (Suite.OFFLINE if not names else None)
    tasks: list[Any] = [cls() for cls in suite_tasks(chosen).values()] if chosen else []
    if names:
        from m2vcli.errors import ConfigError
        from m2vcli.evaluation.mteb_adapter import mteb_tasks

        local = local_tasks()
        known: list[str] = []
        for name in names:
            if name in {task.metadata.name for task in tasks}:
                continue  # named twice, or already in the suite: run once
            if name in local:
                tasks.append(local[name]())
                continue
            known = known or all_task_names()  # MTEB's whole registry, built only when a name is not m2v's
            if name not in known:
                close = difflib.get_close_matches(name, known, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ConfigError(f"unknown task {name!r}{hint}")
            tasks += mteb_tasks(name)
    if pearl_data:
        for task in tasks:
            if hasattr(task, "data_dir"):
                task.data_dir = pearl_data
    return tasks
