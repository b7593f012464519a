"""Closed choices are str Enums, and every member is a valid setting where it is used."""

from __future__ import annotations

import pytest

from m2vcli.adapters import Encoder
from m2vcli.benchmark.settings import BenchConfig
from m2vcli.encoding import EncodeConfig, InputErrors, OutputFormat
from m2vcli.errors import ConfigError
from m2vcli.evaluation import Category, EvaluateConfig, Suite, TaskStatus, get_tasks
from m2vcli.evaluation.leaderboard import CATEGORIES, MTEB_CATEGORIES, LeaderboardConfig, TableFormat
from m2vcli.hub import Fetch


def test_every_output_format_and_input_error_rule() -> None:
    for fmt in OutputFormat:
        assert EncodeConfig(model="m", format=fmt.value).format is fmt
    for rule in InputErrors:
        assert EncodeConfig(model="m", errors=rule.value).errors is rule


def test_every_suite_builds_its_tasks() -> None:
    for suite in Suite:
        assert EvaluateConfig(model="m", suite=suite.value).suite is suite
        assert get_tasks(suite=suite), suite
    with pytest.raises(ConfigError, match="suite must be one of offline, pearl, seed-classification"):
        EvaluateConfig(model="m", suite="nope")


def test_every_table_format_and_category() -> None:
    for fmt in TableFormat:
        assert LeaderboardConfig(results=("r",), format=fmt.value).format is fmt
    assert [c.value for c in Category] == CATEGORIES
    assert MTEB_CATEGORIES == ["Class", "Clust", "PairClass", "Rank", "Ret", "STS", "Sum"]
    assert {Category.of_mteb_type(t) for t in ("Classification", "Retrieval", "Summarization")} == {
        Category.CLASS,
        Category.RET,
        Category.SUM,
    }


def test_task_statuses_encoders_and_fetch_kinds_are_strings() -> None:
    assert [s.value for s in TaskStatus] == ["running", "done", "skipped", "failed"]
    assert [e.value for e in Encoder] == ["static", "model2vec", "sentence-transformer"]
    for fetch in Fetch:
        assert fetch.patterns and "*" not in fetch.patterns and "*.json" in fetch.patterns
    assert BenchConfig(quick=True).cold_start is False and BenchConfig().cold_start is True
