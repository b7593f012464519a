from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from m2vcli import StaticEmbedder
from m2vcli.adapters import Encoder
from m2vcli.benchmark.runner import BenchReport, ModelReport, percentile, read_corpus, run_bench
from m2vcli.benchmark.settings import FULL, BenchConfig
from m2vcli.benchmark.targets import Target
from m2vcli.cli import app
from m2vcli.commands.bench import bench_table
from m2vcli.errors import ConfigError, InputError, ModelLoadError, OutputError
from m2vcli.tables import render, shorten
from tests.helpers import run_m2v

TEXTS = [f"sentence number {i} about a cat" for i in range(40)]


@dataclass
class SleepyModel:
    """Encodes in ``seconds_per_text`` per text: its report must say so."""

    name: str
    seconds_per_text: float
    path: Path | None = None
    encoder: Encoder = Encoder.STATIC

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
        app, ["bench", "-m", str(tiny_model_dir), "--n", "50", "--repeats", "1", "--output", str(out), "--reference"]
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
    args = ["bench", "-m", str(tmp_path / "missing"), "-m", str(tiny_model_dir), "--quick", "--output", str(out)]
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
            run_bench(BenchConfig(output=str(bad)), [], TEXTS)


def test_percentile() -> None:
    assert percentile([5.0], 99) == 5.0
    assert percentile([float(i) for i in range(1, 201)], 99) == 198.0


@pytest.mark.slow
def test_default_run_times_the_teacher_and_a_distilled_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--quick", "-o", str(out)])
    assert result.exit_code == 0, result.output
    teacher, static = json.loads(out.read_text())["models"]
    assert teacher["kind"] == "sentence-transformer" and static["kind"] == "static"
    assert (teacher["name"], teacher["teacher"], static["name"], static["teacher"]) == (
        "all-MiniLM-L6-v2",
        True,
        "m2v default",
        False,
    )
    assert static["speedup_vs_teacher"] > 5


LONG = "an-organisation/a-static-model-name-of-41"  # 41 characters: shortened in the middle on a terminal
FORTY = "a-static-model-name-of-exactly-forty-chr"


def sample_report(*, quick: bool = False, repeats: int = 3) -> BenchReport:
    machine = {"cpu": "AMD EPYC 7763 64-Core Processor", "cores": 2, "threads": 2, "python": "3.11"}
    settings = {"n": 5000, "batch_size": 64, "repeats": repeats, "quick": quick}
    teacher = ModelReport(
        name="all-MiniLM-L6-v2",
        kind="sentence-transformer",
        teacher=True,
        sentences_per_s={"median": 87.4, "min": 80.1, "max": 90.2},
        tokens_per_s=2790.0,
        latency_ms={"p50": 9.5, "p99": 14.25},
        batch_latency_ms=1185.891,
        cold_start_s=3.2,
        peak_mib=612.0,
        bytes_on_disk=91_600_000,
        parameters=22_713_216,
        dims=384,
        speedup_vs_teacher=1.0,
    )
    static = ModelReport(
        name=FORTY,
        kind="static",
        sentences_per_s={"median": 23788.2, "min": 22001.0, "max": 24410.9},
        tokens_per_s=713634.0,
        latency_ms={"p50": 0.076, "p99": 0.205},
        batch_latency_ms=2.69,
        cold_start_s=0.41,
        peak_mib=95.0,
        bytes_on_disk=15_600_000,
        parameters=7_600_000,
        dims=256,
        speedup_vs_teacher=272.2,
    )
    failed = ModelReport(name=LONG, kind="static", error="cannot load it:\nthe weights are corrupt " + "x" * 200)
    return BenchReport(machine, {"m2v": "0.1.0"}, settings, [teacher, static, failed])


def test_bench_table_fits_80_columns_with_names_whole_and_the_teacher_marked() -> None:
    text = render(bench_table(sample_report()), "table", width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    assert FORTY in text and LONG not in text and shorten(LONG) in text
    assert "corrupt" not in text  # a failure's reason goes to stderr, not down a cell
    teacher_rows = [line for line in lines if line.startswith("all-MiniLM-L6-v2")]
    assert teacher_rows and "teacher" in teacher_rows[0] and "failed" in text
    first_part = text.split("\n\n")[1].splitlines()
    header = first_part[0].split()
    assert header[:3] == ["model", "role", "status"]
    assert "80-90" in text and "22,001-24,411" in text  # three passes: the slowest and fastest


def test_bench_table_quick_says_rough_and_has_no_range_for_one_pass() -> None:
    table = bench_table(sample_report(quick=True, repeats=1))
    text = render(table, "table", width=120)
    assert "rough figures" in text.splitlines()[0]
    assert "range" not in text and "87-87" not in text and "(87" not in text
    assert max(len(line) for line in text.splitlines()) <= 120


def test_bench_formats_json_is_the_whole_report_and_csv_numbers_are_plain() -> None:
    report = sample_report()
    csv_rows = list(csv.DictReader(io.StringIO(render(bench_table(report, "csv"), "csv"))))
    assert csv_rows[1]["model"] == FORTY and csv_rows[1]["sent/s"] == "23788" and csv_rows[1]["params"] == "7600000"
    assert csv_rows[0]["role"] == "teacher" and csv_rows[2]["status"] == "failed" and csv_rows[2]["sent/s"] == ""
    markdown = render(bench_table(report, "markdown"), "markdown")
    assert markdown.startswith("| model | role | status | sent/s |")
    data = json.loads(report.to_json())
    assert [m["teacher"] for m in data["models"]] == [True, False, False]
    assert data["settings"]["repeats"] == 3 and data["machine"]["cores"] == 2


def test_bench_cli_formats_and_the_failure_reason_on_stderr(tiny_model_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    ran = run_m2v("bench", "-m", str(missing), "-m", str(tiny_model_dir), "--quick", "--no-teacher")
    out, err = ran.stdout.decode(), ran.stderr.decode()
    assert ran.returncode == 0, err
    assert out.splitlines()[0] == "m2v bench: 64 texts, 1 timed pass (--quick: rough figures)"
    assert "tiny_model" in out and "does not exist" not in out
    assert err.count("does not exist") == 1 and f"missing failed: model path {missing} does not exist" in err
    as_json = run_m2v("bench", "-m", str(tiny_model_dir), "--quick", "-f", "json", "-o", str(tmp_path / "r.json"))
    assert as_json.returncode == 0, as_json.stderr.decode()
    printed = json.loads(as_json.stdout)
    assert printed["models"][0]["name"] == "tiny_model" and printed["models"][0]["teacher"] is False
    assert json.loads((tmp_path / "r.json").read_text())["models"][0]["name"] == "tiny_model"


def test_bench_says_each_phase_off_a_terminal(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli.benchmark import runner

    monkeypatch.setattr(runner, "cold_start", lambda *args: (0.5, 64.0))
    ran = run_m2v("bench", "-m", str(tiny_model_dir), "-n", "20", "--repeats", "2", "--batch-size", "8")
    assert ran.returncode == 0, ran.stderr.decode()
    lines = ran.stderr.decode().splitlines()
    assert lines[:6] == [
        "tiny_model: loading...",
        "tiny_model: throughput pass 1 of 2 (20 texts)...",
        "tiny_model: throughput pass 2 of 2 (20 texts)...",
        f"tiny_model: latency ({FULL['latency_calls']} single-text calls)...",
        "tiny_model: batch latency (2 passes over 8 texts)...",
        "tiny_model: cold start (a fresh process)...",
    ]


def test_default_run_distils_once_with_phase_and_progress_lines(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import m2vcli.distillation

    seen: list[str] = []

    def fake_distill(*, save_path: str, force: bool, on_progress: Any, on_phase: Any) -> None:
        seen.append(save_path)
        on_phase("Loading the teacher")
        on_phase("Embedding tokens")
        for done in range(0, 101, 10):
            on_progress(done, 100)
        on_phase("Saving")
        shutil.copytree(tiny_model_dir, save_path)

    monkeypatch.setattr(m2vcli.distillation, "run_distillation", fake_distill)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    ran = run_m2v("bench", "--quick", "--no-teacher", env=env)
    assert ran.returncode == 0, ran.stderr.decode()
    assert ran.stderr.decode().splitlines()[:9] == [
        "Distilling the default model (once, cached)...",
        "  Loading the teacher...",
        "  Embedding tokens...",
        "Embedding tokens: 30 of 100 tokens (25%)",
        "Embedding tokens: 50 of 100 tokens (50%)",
        "Embedding tokens: 80 of 100 tokens (75%)",
        "Embedding tokens: 100 of 100 tokens (100%)",
        "  Saving...",
        "m2v default: loading...",
    ]
    assert run_m2v("bench", "--quick", "--no-teacher", env=env).returncode == 0
    assert len(seen) == 1  # cached


def test_models_are_named_as_evaluate_names_them_and_the_teacher_is_flagged(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from m2vcli.adapters import display_name
    from m2vcli.benchmark.targets import resolve_targets
    from m2vcli.packaged_data import teacher_folder
    from m2vcli.teacher import DEFAULT_TEACHER

    config = json.loads((tiny_model_dir / "config.json").read_text())
    (tiny_model_dir / "config.json").write_text(json.dumps({**config, "tokenizer_name": DEFAULT_TEACHER}))
    targets = resolve_targets(BenchConfig(models=(str(tiny_model_dir),), reference=True))
    assert [(t.name, t.is_teacher) for t in targets] == [
        ("all-MiniLM-L6-v2", True),
        ("tiny_model", False),
        ("tiny_model (model2vec encode)", False),
    ]
    assert targets[0].name == display_name(DEFAULT_TEACHER, teacher_folder())
    assert targets[1].name == display_name(str(tiny_model_dir), tiny_model_dir)  # what evaluate calls it
    models = {n: SleepyModel(n, 0.0001) for n in ("all-MiniLM-L6-v2", "tiny_model")}
    report = run_bench(BenchConfig(quick=True), targets[:2], TEXTS, loader=fake_loader(models))
    assert [(m.name, m.teacher) for m in report.models] == [("all-MiniLM-L6-v2", True), ("tiny_model", False)]
    assert report.models[0].speedup_vs_teacher == 1.0
