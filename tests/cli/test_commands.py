"""Each command translates its flags (and a YAML file) into its config and calls one core function.

The core function is patched with a fake that records the config it received, so these tests check the
translation alone: flag names and aliases, the flag > file > default precedence, environment fallbacks,
and the defaults that ``--help`` shows.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from m2vcli.benchmark.runner import BenchReport
from m2vcli.benchmark.settings import FULL, QUICK, BenchConfig
from m2vcli.classify.job import TrainConfig
from m2vcli.classify.predict import PredictConfig
from m2vcli.cli import app
from m2vcli.distillation import DistillConfig
from m2vcli.encoding import EncodeConfig
from m2vcli.evaluation import EvaluateConfig, EvaluationReport, Suite
from m2vcli.evaluation.leaderboard import LeaderboardConfig, TableFormat, make_leaderboard
from m2vcli.export import ExportConfig
from m2vcli.importing import ImportConfig
from m2vcli.model.info import InfoConfig
from m2vcli.model.sharing import PushConfig
from m2vcli.refinement import RefineConfig
from m2vcli.search import IndexConfig
from m2vcli.search.query import SearchConfig
from tests.helpers import help_option_rows, run_m2v


@pytest.fixture
def evaluate_calls(monkeypatch: pytest.MonkeyPatch) -> list[EvaluateConfig]:
    calls: list[EvaluateConfig] = []

    def fake(cfg: EvaluateConfig, **kwargs: Any) -> EvaluationReport:
        calls.append(cfg)
        return EvaluationReport(model="x", meta={}, outcomes=[])

    monkeypatch.setattr("m2vcli.commands.evaluate.evaluate", fake)
    return calls


@pytest.fixture
def bench_calls(monkeypatch: pytest.MonkeyPatch) -> list[BenchConfig]:
    calls: list[BenchConfig] = []

    def fake(cfg: BenchConfig, **kwargs: Any) -> BenchReport:
        calls.append(cfg)
        machine = {"cpu": "test cpu", "cores": 2, "threads": 2}
        return BenchReport(machine=machine, versions={}, settings={"n": cfg.n}, models=[])

    monkeypatch.setattr("m2vcli.commands.bench.bench", fake)
    return calls


@pytest.fixture
def leaderboard_calls(monkeypatch: pytest.MonkeyPatch) -> list[LeaderboardConfig]:
    calls: list[LeaderboardConfig] = []

    def fake(cfg: LeaderboardConfig, **kwargs: Any) -> list[Any]:
        calls.append(cfg)
        return []

    monkeypatch.setattr("m2vcli.commands.leaderboard.leaderboard", fake)
    return calls


def test_evaluate_flags_reach_the_config(evaluate_calls: list[EvaluateConfig]) -> None:
    ran = run_m2v(
        *("evaluate", "-m", "my_model", "--tasks", "WordSim353, SimLex999", "--suite", "pearl"),
        *("--task-file", "tasks.yaml", "-o", "out", "--overwrite", "--pearl-data", "pearl_dir"),
    )
    assert ran.returncode == 0, ran.stderr
    assert evaluate_calls == [
        EvaluateConfig(
            model="my_model",
            tasks=("WordSim353", "SimLex999"),
            suite=Suite.PEARL,
            task_file="tasks.yaml",
            output_dir="out",
            overwrite=True,
            pearl_data="pearl_dir",
        )
    ]


def test_evaluate_flag_beats_the_config_file_which_beats_the_default(
    evaluate_calls: list[EvaluateConfig], tmp_path: Path
) -> None:
    config = tmp_path / "evaluate.yaml"
    config.write_text("model: file_model\ntasks: [LeeDocSim]\noutput-dir: file_out\noverwrite: true\n")
    ran = run_m2v("evaluate", "--config", str(config), "-o", "flag_out")
    assert ran.returncode == 0, ran.stderr
    assert evaluate_calls == [
        EvaluateConfig(model="file_model", tasks=("LeeDocSim",), output_dir="flag_out", overwrite=True)
    ]


def test_evaluate_pearl_data_falls_back_to_the_environment(
    evaluate_calls: list[EvaluateConfig], tmp_path: Path
) -> None:
    env = {"M2V_PEARL_DATA": str(tmp_path / "from_env")}
    assert run_m2v("evaluate", "-m", "m", env=env).returncode == 0
    assert run_m2v("evaluate", "-m", "m", "--pearl-data", "from_flag", env=env).returncode == 0
    assert run_m2v("evaluate", "-m", "m").returncode == 0
    assert [c.pearl_data for c in evaluate_calls] == [str(tmp_path / "from_env"), "from_flag", None]
    assert evaluate_calls[0] == EvaluateConfig(model="m", pearl_data=str(tmp_path / "from_env"))


def test_bench_flags_and_config_file_reach_the_config(bench_calls: list[BenchConfig], tmp_path: Path) -> None:
    config = tmp_path / "bench.yaml"
    config.write_text("models: [file_model]\nrepeats: 2\nbatch-size: 16\ncorpus: file.txt\n")
    ran = run_m2v(
        *("bench", "--config", str(config), "-m", "a", "-m", "b", "--batch-size", "32"),
        *("-o", "out.json", "--reference", "-f", "csv"),
    )
    assert ran.returncode == 0, ran.stderr
    assert bench_calls == [
        BenchConfig(
            models=("a", "b"),
            corpus="file.txt",
            batch_size=32,
            repeats=2,
            output="out.json",
            reference=True,
            format=TableFormat.CSV,
        )
    ]
    (cfg,) = bench_calls
    assert (cfg.n, cfg.latency_calls, cfg.cold_start, cfg.quick) == (
        FULL["n"],
        FULL["latency_calls"],
        FULL["cold_start"],
        False,
    )


def test_bench_writes_its_report_with_output_only(bench_calls: list[BenchConfig], tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("json_path: from_file.json\n")
    assert run_m2v("bench", "-m", "a", "--output", "flag.json").returncode == 0
    assert [c.output for c in bench_calls] == ["flag.json"]
    gone = run_m2v("bench", "-m", "a", "--json", "alias.json")
    assert gone.returncode == 2 and "No such option: --json" in gone.stderr.decode()
    key = run_m2v("bench", "-m", "a", "--config", str(old))
    assert key.returncode == 1 and "unknown key 'json_path'" in key.stderr.decode()
    assert len(bench_calls) == 1  # neither ran
    options = flat_help("bench").split(" Options ", 1)[1]
    assert "-o, --output" in options and "--json" not in options


def test_evaluate_batch_size_and_format_reach_the_config(evaluate_calls: list[EvaluateConfig], tmp_path: Path) -> None:
    config = tmp_path / "evaluate.yaml"
    config.write_text("model: m\nbatch_size: 8\nformat: json\n")
    assert run_m2v("evaluate", "-m", "m", "--batch-size", "16", "-f", "csv").returncode == 0
    assert run_m2v("evaluate", "--config", str(config)).returncode == 0
    assert evaluate_calls == [
        EvaluateConfig(model="m", batch_size=16, format=TableFormat.CSV),
        EvaluateConfig(model="m", batch_size=8, format=TableFormat.JSON),
    ]
    assert run_m2v("evaluate", "-m", "m", "--batch-size", "0").returncode == 2
    config.write_text("model: m\nbatch_size: 0\n")
    ran = run_m2v("evaluate", "--config", str(config))
    assert ran.returncode == 1 and "batch_size must be a whole number of at least 1, got 0" in ran.stderr.decode()


def test_help_says_what_batch_size_counts_and_which_options_are_required() -> None:
    evaluate_options = flat_help("evaluate").split(" Options ", 1)[1]
    assert "Model folder or Hugging Face hub id (required)" in evaluate_options
    assert "Texts per encoder call of a Sentence Transformer; a static model encodes in its own batches" in (
        evaluate_options
    )
    bench_options = flat_help("bench").split(" Options ", 1)[1]
    assert "Texts per batch: the batch-latency figure times one batch of this many texts" in bench_options
    assert "-f, --format" in evaluate_options and "-f, --format" in bench_options


def test_bench_quick_fills_only_the_fields_not_given(bench_calls: list[BenchConfig]) -> None:
    assert run_m2v("bench", "-m", "a", "--quick", "--texts", "500").returncode == 0
    (cfg,) = bench_calls
    assert cfg == BenchConfig(models=("a",), n=500, quick=True)
    assert cfg.n == 500 and QUICK["n"] != 500
    assert (cfg.repeats, cfg.latency_calls, cfg.cold_start) == (1, QUICK["latency_calls"], False)


@pytest.mark.parametrize("flag", ["-n", "--n", "--texts"])
def test_bench_text_count_aliases(bench_calls: list[BenchConfig], flag: str) -> None:
    assert run_m2v("bench", "-m", "a", flag, "7").returncode == 0
    (cfg,) = bench_calls
    assert cfg == BenchConfig(models=("a",), n=7)
    assert cfg.repeats == FULL["repeats"]


def test_leaderboard_format_flag(leaderboard_calls: list[LeaderboardConfig]) -> None:
    ran = run_m2v("leaderboard", "r1", "r2", "--format", "csv")
    assert ran.returncode == 0, ran.stderr
    assert leaderboard_calls == [LeaderboardConfig(results=("r1", "r2"), format=TableFormat.CSV)]
    assert ran.stdout.decode() == make_leaderboard([], "csv")
    assert ran.stdout.decode().startswith("Model,Avg (All),Avg (MTEB),")


def test_leaderboard_config_file_gives_results_and_flags_beat_it(
    leaderboard_calls: list[LeaderboardConfig], tmp_path: Path
) -> None:
    config = tmp_path / "leaderboard.yaml"
    config.write_text("results: [dir_a, dir_b]\nformat: markdown\n")
    first = run_m2v("leaderboard", "--config", str(config))
    second = run_m2v("leaderboard", "dir_c", "-f", "json", "--config", str(config))
    assert first.returncode == second.returncode == 0, (first.stderr, second.stderr)
    assert leaderboard_calls == [
        LeaderboardConfig(results=("dir_a", "dir_b"), format=TableFormat.MARKDOWN),
        LeaderboardConfig(results=("dir_c",), format=TableFormat.JSON),
    ]
    assert first.stdout.decode() == make_leaderboard([], "markdown")
    assert second.stdout.decode().strip() == "[]"


def command_names() -> list[str]:
    return [str(c.name) for c in app.registered_commands]


def flat_help(*args: str) -> str:
    """``m2v ARGS --help`` as one line: rich's box characters dropped, whitespace collapsed."""
    ran = run_m2v(*args, "--help")
    assert ran.returncode == 0, ran.stderr
    text = re.sub(r"[\u2500-\u257f]", " ", ran.stdout.decode())
    return " ".join(text.split())


def test_every_command_is_registered_and_its_help_shows_examples() -> None:
    assert sorted(command_names()) == [
        "bench", "distill", "encode", "evaluate", "export", "import", "index", "info", "leaderboard", "predict",
        "push", "refine", "search", "train",
    ]  # fmt: skip
    for name in command_names():
        text = flat_help(name)
        assert f"Usage: m2v {name}" in text
        assert "Examples: " in text and f"m2v {name}" in text.split("Examples: ", 1)[1], name


CONFIGS: dict[str, type[Any]] = {
    "distill": DistillConfig,
    "refine": RefineConfig,
    "encode": EncodeConfig,
    "evaluate": EvaluateConfig,
    "bench": BenchConfig,
    "leaderboard": LeaderboardConfig,
    "info": InfoConfig,
    "index": IndexConfig,
    "search": SearchConfig,
    "push": PushConfig,
    "train": TrainConfig,
    "predict": PredictConfig,
    "export": ExportConfig,
    "import": ImportConfig,
}


def option_rows(command: str) -> dict[str, str]:
    """``m2v COMMAND --help``'s options: each row's long option names (``--field,--column``) -> its text."""
    return {",".join(names): text for names, text in help_option_rows(command).items()}


def value_defaults(cls: type[Any]) -> dict[str, str]:
    """The config's defaults that are values (not None, a flag or an empty list), as ``--help`` writes them."""
    defaults = {}
    for field in dataclasses.fields(cls):
        value = field.default
        if value is dataclasses.MISSING or value is None or isinstance(value, (bool, tuple)):
            continue
        defaults[field.name] = str(value.value if isinstance(value, Enum) else value)
    return defaults


@pytest.mark.parametrize("command", command_names())
def test_help_defaults_are_the_config_defaults(command: str) -> None:
    """Every option whose config field has a value for its default shows that value (a default that depends on
    something else, such as encode's batch size, is described in words and checked below)."""
    assert sorted(CONFIGS) == sorted(command_names())
    defaults = value_defaults(CONFIGS[command])
    checked = []
    for names, text in option_rows(command).items():
        fields = [name.removeprefix("--").replace("-", "_") for name in names.split(",")]
        field = next((name for name in fields if name in defaults), None)
        if field is None:
            continue
        shown = re.findall(r"\(default: ([^)]*)\)", text)
        assert shown, f"{command} {names}: no default shown"
        assert re.match(re.escape(defaults[field]) + r"($|[ ;])", shown[0]), (command, names, shown[0])
        checked.append(field)
    assert checked or not defaults, f"{command}: no option shows a config default"


def test_encode_help_shows_the_batch_size_of_each_engine() -> None:
    from m2vcli.encoding.ray_workers import RAY_BATCH_SIZE
    from m2vcli.model import DEFAULT_BATCH_SIZE

    options = flat_help("encode").split(" Options ", 1)[1]
    assert f"(default: {DEFAULT_BATCH_SIZE:,}; {RAY_BATCH_SIZE:,} with --engine ray" in options


def test_bench_help_shows_the_full_and_quick_counts() -> None:
    options = flat_help("bench").split(" Options ", 1)[1]
    assert f"Texts to encode (default: {FULL['n']}; {QUICK['n']} with --quick)" in options
    assert f"(default: {FULL['repeats']}; {QUICK['repeats']} with --quick)" in options


def test_scripts_can_rely_on_exit_codes(tmp_path: Path, tiny_model_dir: Path) -> None:
    (tmp_path / "empty").mkdir()
    ran = run_m2v("leaderboard", str(tmp_path / "empty"))
    assert ran.returncode == 1 and "no m2v evaluate results" in ran.stderr.decode()
    ran = run_m2v("bench", "-m", str(tmp_path / "missing"), "--quick")
    assert ran.returncode == 1 and "failed" in ran.stdout.decode()  # the table says which, stderr why
    assert f"missing failed: model path {tmp_path / 'missing'} does not exist" in ran.stderr.decode()
    ran = run_m2v("encode", "-m", str(tiny_model_dir), "-o", str(tmp_path / "vectors.txt"), stdin=b"hi\n")
    assert ran.returncode == 1 and "pass --format" in ran.stderr.decode()
    assert not (tmp_path / "vectors.txt").exists()


def test_a_task_named_twice_runs_once() -> None:
    from m2vcli.evaluation import get_tasks

    names = [t.metadata.name for t in get_tasks(["SimLex999", "SimLex999"], suite="offline")]
    assert names.count("SimLex999") == 1 and len(names) == len(set(names))


def test_a_markup_like_default_shows_in_help() -> None:
    ran = run_m2v("distill", "--help", env={"COLUMNS": "200"})
    assert "(default: \\[unused\\d+\\])" in ran.stdout.decode()


def test_evaluate_name_sets_the_results_folder_and_leaderboard_row(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli import packaged_data

    monkeypatch.setattr(
        packaged_data, "word_pairs", lambda name: [("cat", "dog", 1.0), ("the", "mat", 2.0), ("a", "sat", 3.0)]
    )
    ran = run_m2v(
        "evaluate", "-m", str(tiny_model_dir), "--tasks", "WordSim353", "-o", str(tmp_path), "--name", "d2-64"
    )
    assert ran.returncode == 0, ran.stderr.decode()
    import json

    saved = json.loads((tmp_path / "d2-64" / "WordSim353.json").read_text())["m2v"]
    assert saved["model"] == "d2-64"


def test_encode_text_gives_json_lines_of_the_given_texts(tiny_model_dir: Path, tmp_path: Path) -> None:
    import json

    import numpy as np

    from m2vcli import StaticEmbedder

    ran = run_m2v("encode", "-m", str(tiny_model_dir), "--text", "hello world", "-t", "")
    assert ran.returncode == 0, ran.stderr.decode()
    rows = [json.loads(line) for line in ran.stdout.decode().splitlines()]
    expected = StaticEmbedder.from_pretrained(tiny_model_dir).encode(["hello world", ""])
    np.testing.assert_allclose(np.array(rows, dtype=np.float32), expected, rtol=1e-6)
    (tmp_path / "in.txt").write_text("x\n")
    both = run_m2v("encode", "-m", str(tiny_model_dir), str(tmp_path / "in.txt"), "--text", "hello")
    assert both.returncode == 1 and "not both" in both.stderr.decode()


def test_shell_completion_completes_commands_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_M2V_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "m2v encode --form")
    monkeypatch.setenv("COMP_CWORD", "2")
    ran = run_m2v()
    assert ran.returncode == 0 and ran.stdout.decode().split() == ["--format"]
    monkeypatch.delenv("_M2V_COMPLETE")
    shown = run_m2v("--show-completion", "bash")
    assert "_m2v_completion" in shown.stdout.decode()
