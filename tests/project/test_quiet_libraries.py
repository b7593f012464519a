"""The libraries m2v runs keep their own noise (progress bars, load reports, deprecation warnings) off the
terminal in a CLI run, unless the user asks for it."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from m2vcli.console import LIBRARY_VERBOSITY, quiet_libraries
from m2vcli.hub import PACKAGED_TEACHER

NOISE = [
    "Loading weights",  # transformers' progress bar
    "LOAD REPORT",  # transformers' table of unexpected checkpoint keys
    "UNEXPECTED",
    "FutureWarning",  # mteb calling sentence-transformers' renamed get_sentence_embedding_dimension
    "DeprecationWarning",
    "get_sentence_embedding_dimension",
]


def warn_from(module: str, message: str) -> None:
    """A FutureWarning raised by code of ``module``, as a library raises it."""
    code = compile(f"import warnings\nwarnings.warn({message!r}, FutureWarning)", "<library>", "exec")
    exec(code, {"__name__": module})


@pytest.mark.parametrize("warnoptions", [[], ["default"]])
def test_library_deprecations_are_hidden_unless_warnings_are_asked_for(
    monkeypatch: pytest.MonkeyPatch, warnoptions: list[str]
) -> None:
    monkeypatch.setattr(sys, "warnoptions", warnoptions)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_libraries()
        warn_from("mteb.models.model_meta", "from mteb")
        warn_from("sentence_transformers.models", "from sentence-transformers")
        warn_from("mtebx", "from another library")
        warn_from("m2vcli.adapters", "from m2v")
    shown = [str(w.message) for w in seen]
    if warnoptions:  # python -W default or PYTHONWARNINGS: the user's choice wins
        assert shown == ["from mteb", "from sentence-transformers", "from another library", "from m2v"]
    else:
        assert shown == ["from another library", "from m2v"]


def test_a_library_setting_the_user_made_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "0")
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "info")
    monkeypatch.delenv("DATASETS_VERBOSITY", raising=False)
    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    monkeypatch.setenv("LRU_CACHE_CAPACITY", "16")
    with warnings.catch_warnings():
        quiet_libraries()
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "64"  # bounded kernel cache: flat featurizing memory
    assert os.environ["LRU_CACHE_CAPACITY"] == "16"
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "0"
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "info"
    assert os.environ["DATASETS_VERBOSITY"] == LIBRARY_VERBOSITY["DATASETS_VERBOSITY"]


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.subprocess
def test_evaluating_a_sentence_transformer_shows_scores_and_no_library_noise(tmp_path: Path) -> None:
    # The settings this test process made for itself are taken away: the m2v process must make its own.
    env = {k: v for k, v in os.environ.items() if k not in LIBRARY_VERBOSITY and k != "PYTHONWARNINGS"}
    env["HF_HUB_OFFLINE"] = "1"
    command = ["evaluate", "-m", PACKAGED_TEACHER, "--tasks", "SimLex999", "-o", str(tmp_path / "results")]
    proc = subprocess.run(
        [sys.executable, "-m", "m2vcli", *command], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert [noise for noise in NOISE if noise in proc.stderr] == [], proc.stderr
    assert "all-MiniLM-L6-v2" in proc.stdout  # the packaged teacher, named by its short name
    row = next(line for line in proc.stdout.splitlines() if "SimLex999" in line)
    assert "done" in row and any(cell.replace(".", "").isdigit() for cell in row.replace("│", " ").split())
