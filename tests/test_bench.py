from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from m2vcli import StaticEmbedder
from m2vcli.adapters import Encoder
from m2vcli.benchmark.runner import BenchConfig, percentile, read_corpus, run_bench
from m2vcli.benchmark.targets import Target
from m2vcli.cli import app
from m2vcli.errors import ConfigError, InputError, ModelLoadError, OutputError

TEXTS = [f"sentence number {i} about a cat" for i in range(40)]


@dataclass
class SleepyModel:
    """Encodes in ``seconds_per_text`` per text: its report must say so."""

    name: str
    seconds_per_text: float
    path: Path | None = None
    kind: Encoder = Encoder.STATIC

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(self.seconds_per_text * len(texts))
        return np.zeros((len(texts), 4), dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> int:
        return 5 * len(texts)

    @property
    def parameters(self) -> int:
        return 100

    @property
    def dims(self) -> int:
        return 4


def fake_loader(models: dict[str, SleepyModel]):  # type: ignore[no-untyped-def]
    def load(target: Target, batch_size: int) -> SleepyModel:
        if target.name not in models:
            raise ModelLoadError(f"cannot load {target.name}")
        return models[target.name]

    return load


def test_figures_come_from_real_timing(tmp_path: Path) -> None:
    models = {"teacher": SleepyModel("teacher", 0.002), "fast": SleepyModel("fast", 0.0005)}
    targets = [
        Target("teacher", tmp_path, Encoder.SENTENCE_TRANSFORMER, is_teacher=True),
        Target("fast", tmp_path, Encoder.STATIC),
        Target("broken", tmp_path, Encoder.STATIC),
    ]
    cfg = BenchConfig(repeats=2, latency_calls=5, batch_size=8)
    report = run_bench(cfg, targets, TEXTS, loader=fake_loader(models))
    teacher, fast, broken = report.models
    assert teacher.sentences_per_s["median"] == pytest.approx(500, rel=0.25)
    assert fast.sentences_per_s["median"] == pytest.approx(2000, rel=0.25)
    assert fast.speedup_vs_teacher == pytest.approx(4, rel=0.3)
    assert fast.tokens_per_s == pytest.approx(5 * fast.sentences_per_s["median"], rel=0.3)
    assert teacher.latency_ms["p50"] == pytest.approx(2, rel=0.5)
    assert teacher.batch_latency_ms == pytest.approx(16, rel=0.3)
    assert broken.error == "cannot load broken" and not broken.sentences_per_s


@pytest.mark.subprocess
def test_real_static_model_report_and_json(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app, ["bench", "-m", str(tiny_model_dir), "--n", "50", "--repeats", "1", "--json", str(out), "--reference"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    ours, reference = data["models"]
    assert ours["error"] is None and reference["error"] is None, (ours["error"], reference["error"])
    assert ours["kind"] == "static" and reference["kind"] == "model2vec"
    assert ours["sentences_per_s"]["median"] > 0 and ours["cold_start_s"] > 0 and ours["peak_mib"] > 10
    table = StaticEmbedder.from_pretrained(tiny_model_dir).embeddings
    assert ours["parameters"] == table.size and ours["dims"] == table.shape[1] == 8 and ours["bytes_on_disk"] > 0
    assert data["machine"]["cores"] == os.cpu_count() and "m2v" in data["versions"]


def test_a_model_that_cannot_be_found_is_a_failed_row(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["bench", "-m", str(tmp_path / "missing"), "-m", str(tiny_model_dir), "--quick", "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    missing, tiny = json.loads(out.read_text())["models"]
    assert "does not exist" in missing["error"] and tiny["sentences_per_s"]["median"] > 0


def test_bad_inputs(tmp_path: Path, tiny_model_dir: Path) -> None:
    (tmp_path / "empty.txt").write_text("\n\n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01abc")
    with pytest.raises(InputError, match="has no text"):
        read_corpus(str(tmp_path / "empty.txt"))
    with pytest.raises(InputError, match="binary"):
        read_corpus(str(tmp_path / "binary.txt"))
    with pytest.raises(ConfigError, match="n must be"):
        BenchConfig(n=0)
    assert CliRunner().invoke(app, ["bench", "--n", "-3"]).exit_code == 2
    for bad in (tmp_path / "missing" / "out.json", tmp_path):
        with pytest.raises(OutputError):
            run_bench(BenchConfig(json_path=str(bad)), [], TEXTS)


def test_percentile() -> None:
    assert percentile([5.0], 99) == 5.0
    assert percentile([float(i) for i in range(1, 201)], 99) == 198.0


@pytest.mark.slow
def test_default_run_times_the_teacher_and_a_distilled_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--quick", "--json", str(out)])
    assert result.exit_code == 0, result.output
    teacher, static = json.loads(out.read_text())["models"]
    assert teacher["kind"] == "sentence-transformer" and static["kind"] == "static"
    assert static["speedup_vs_teacher"] > 5
