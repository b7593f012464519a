"""``m2v evaluate`` and ``m2v leaderboard``: score models with MTEB's evaluators and rank them.

- ``registry``: result categories, built-in suites, task lookup;
- ``models``: the model under evaluation in MTEB's encoder protocol;
- ``runner``: run tasks, write one result file per task;
- ``mteb_adapter``: every use of mteb, in one module;
- ``tasks/``: the offline suite, PEARL, task files;
- ``leaderboard``: read result files back and build the table.

Importing this package is light: mteb, datasets and scikit-learn load when tasks are built or run.
"""

from __future__ import annotations

from m2vcli.evaluation.categories import Category
from m2vcli.evaluation.leaderboard import (
    find_result_files,
    make_leaderboard,
    parse_mteb_results,
    read_scores,
    summarize_results,
)
from m2vcli.evaluation.registry import Suite, describe_tasks, get_tasks
from m2vcli.evaluation.runner import EvaluateConfig, EvaluationReport, TaskOutcome, TaskStatus, evaluate, run_tasks

__all__ = [
    "Category",
    "EvaluateConfig",
    "EvaluationReport",
    "Suite",
    "TaskOutcome",
    "TaskStatus",
    "describe_tasks",
    "evaluate",
    "find_result_files",
    "get_tasks",
    "make_leaderboard",
    "parse_mteb_results",
    "read_scores",
    "run_tasks",
    "summarize_results",
]
