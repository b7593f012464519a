from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from m2vcli import StaticEmbedder
from m2vcli.cli import app
from m2vcli.distillation import DistillConfig
from m2vcli.refinement import DistillRefineResult
from tests.helpers import run_m2v, tiny_model

ROOT = Path(__file__).resolve().parents[2]


def test_flags_and_config_file_reach_the_core(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, DistillConfig] = {}

    def fake(config: DistillConfig, **kwargs: object) -> DistillRefineResult:
        seen["config"] = config
        model = tiny_model()
        return DistillRefineResult(
            model, "teacher/x", 32, model.vocab_size, 0, 0, {}, 8, "cpu", "float32", {"load": 0.1}
        )

    monkeypatch.setattr("m2vcli.commands.distill.distill_and_refine", fake)
    cfg = tmp_path / "d.yaml"
    cfg.write_text("pca_dims: 128\nquantize: int8\nsave_path: from_file\n")
    result = CliRunner().invoke(app, ["distill", "--config", str(cfg), "-o", "out", "--no-sif", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    config = seen["config"]
    assert (config.pca_dims, config.quantize.value, config.save_path) == (128, "int8", "out")
    assert config.sif_coefficient is None and config.device.value == "cpu"
    assert "teacher/x" in result.output and "32 -> 8" in result.output  # the summary was drawn


@pytest.mark.parametrize(
    ("args", "option", "message"),
    [
        (["distill"], "--save-path", "give the folder to write the model to"),
        (["encode"], "--model", "no model given"),
        (["evaluate"], "--model", "no model given"),
        (["leaderboard"], "RESULTS", "no results given"),
    ],
)
def test_a_missing_required_value_is_a_usage_error_in_every_command(args: list[str], option: str, message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert option in result.output and message in result.output


def test_bad_pca_dims_is_one_line(tmp_path: Path) -> None:
    proc = run_m2v("distill", "-o", str(tmp_path / "m"), "--pca-dims", "abc")
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Error: --pca-dims must be" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_shell_quickstart_distills_the_packaged_teacher_and_encodes(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["bash", str(ROOT / "examples" / "quickstart.sh"), str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "3 vectors of 256 dims" in proc.stdout
    vectors = np.load(tmp_path / "vectors.npy")
    assert not vectors[2].any()  # the blank line
    model = StaticEmbedder.from_pretrained(tmp_path / "my_model")
    good, great, cat = model.encode(["a good movie", "a great film", "the cat sat on the mat"])
    assert good @ great > good @ cat + 0.1  # the distilled model carries meaning


@pytest.mark.slow
def test_python_quickstart_runs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "shape: (3, 256)" in proc.stdout


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("none", ["--model", "{tmp}/missing"], "does not exist"),
        ("none", ["--model", "org/not-cached"], "not in the Hugging Face cache"),
        ("tokenizer_only", ["--model", "{tmp}/folder"], "not a transformer model folder"),
        ("empty_words", ["--model", "{teacher}", "--vocabulary-path", "{tmp}/words.txt"], "has no words"),
        ("binary_words", ["--model", "{teacher}", "--vocabulary-path", "{tmp}/words.txt"], "is binary"),
        ("none", ["--model", "{teacher}", "--pca-dims", "64"], "Error: --pca-dims must be between 1 and 32"),
        ("none", ["--model", "{teacher}", "--device", "cuda"], "device cuda is not available"),
        ("none", ["--model", "{teacher}", "--vocabulary", "wordfreq:xx:10"], "wordfreq has no large list"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, tiny_teacher_dir: Path, setup: str, args: list[str], message: str
) -> None:
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    if setup == "tokenizer_only":
        (tmp_path / "folder").mkdir()
        (tmp_path / "folder" / "tokenizer.json").write_text((tiny_teacher_dir / "tokenizer.json").read_text())
    if setup == "empty_words":
        (tmp_path / "words.txt").write_text("\n")
    if setup == "binary_words":
        (tmp_path / "words.txt").write_bytes(b"\x00\x00\xff")
    filled = [a.format(tmp=tmp_path, teacher=tiny_teacher_dir) for a in args]
    proc = run_m2v(
        "distill",
        *filled,
        "-o",
        str(tmp_path / "out"),
        env={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "c")},
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
