"""Every YAML example parses into its command's settings, with no unknown key."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import yaml

from m2vcli.benchmark import BenchConfig
from m2vcli.classify.job import TrainConfig
from m2vcli.classify.predict import PredictConfig
from m2vcli.config import build_config
from m2vcli.distillation import DistillConfig
from m2vcli.encoding import EncodeConfig
from m2vcli.evaluation import EvaluateConfig
from m2vcli.evaluation.leaderboard import LeaderboardConfig
from m2vcli.export import ExportConfig
from m2vcli.importing import ImportConfig
from m2vcli.model.info import InfoConfig
from m2vcli.refinement import RefineConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("encode.yaml", EncodeConfig),
        ("distill.yaml", DistillConfig),
        ("bench.yaml", BenchConfig),
        ("evaluate.yaml", EvaluateConfig),
        ("leaderboard.yaml", LeaderboardConfig),
        ("info.yaml", InfoConfig),
        ("refine.yaml", RefineConfig),
        ("train.yaml", TrainConfig),
        ("predict.yaml", PredictConfig),
        ("export.yaml", ExportConfig),
        ("import.yaml", ImportConfig),
    ],
)
def test_yaml_examples_parse(name: str, cls: type) -> None:
    given = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    settings = build_config(cls, EXAMPLES / name, {})
    assert given and {key: plain(getattr(settings, key)) for key in given} == given


def plain(value: Any) -> Any:
    """A settings value as YAML writes it: an enum as its value, a tuple as a list."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    return value


def test_every_command_takes_a_config_file_and_has_a_yaml_example() -> None:
    import inspect

    from m2vcli.cli import app

    commands = {c.name: c.callback for c in app.registered_commands}
    assert sorted(commands) == [
        "bench", "distill", "encode", "evaluate", "export", "import", "index", "info", "leaderboard", "predict",
        "push", "refine", "search", "train",
    ]  # fmt: skip
    assert all(callback and "config" in inspect.signature(callback).parameters for callback in commands.values())
    assert {f"{c}.yaml" for c in commands} <= {p.name for p in EXAMPLES.glob("*.yaml")}
