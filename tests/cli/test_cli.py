"""``m2vcli.cli.main``: exit codes, one-line errors, stop signals and a closed output pipe."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import safetensors

from m2vcli.cli import app, main
from m2vcli.encoding import EncodeConfig
from m2vcli.errors import ModelFormatError
from m2vcli.files import atomic_file
from m2vcli.version import __version__

STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
WATCHED = [*STOP_SIGNALS, signal.SIGPIPE]


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"hello world\n")))


@pytest.fixture
def own_handlers() -> Iterator[dict[int, Any]]:
    """Handlers of our own on the stop signals while the test runs: ``main`` must put them back."""

    def ours(signum: int, frame: Any) -> None:
        raise AssertionError(f"signal {signum} reached the caller's handler, not m2v's")

    originals = {sig: signal.getsignal(sig) for sig in WATCHED}
    for sig in STOP_SIGNALS:
        signal.signal(sig, ours)
    try:
        yield {sig: signal.getsignal(sig) for sig in WATCHED}
    finally:
        for sig, handler in originals.items():
            signal.signal(sig, handler)


def test_help_exits_0_with_usage_and_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    names = [str(command.name) for command in app.registered_commands]
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: m2v" in out
    listed = out.split("Commands")[1]
    assert re.findall(r"^\u2502 (\S+) ", listed, flags=re.MULTILINE) == names  # a row per command, in order
    for name in names:
        assert main([name, "--help"]) == 0
        assert f"Usage: m2v {name} " in capsys.readouterr().out


def test_version_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"m2v {__version__}\n"


def test_an_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-option"]) == 2
    captured = capsys.readouterr()
    assert "No such option" in captured.err and "--no-such-option" in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(
    ("args", "error", "usage"),
    [
        (["distill"], "Missing option --save-path / -o: give the folder to write the model to", "m2v distill"),
        (["train", "--data", "x.jsonl"], "no model given: pass --model/-m FOLDER (a static model)", "m2v train"),
        (
            ["encode", "-m", "x", "--format", "csv"],
            "Invalid value for --format / -f: 'csv' is not one of 'npy', 'jsonl', 'safetensors', 'parquet'.",
            "m2v encode",
        ),
        (["distil"], "No such command 'distil'. Did you mean 'distill'?", "m2v"),
        (["encode", "--outptu", "x"], "No such option: --outptu (Possible options: --output)", "m2v encode"),
        (
            ["encode", "--device", "cuda"],
            "No such option: --device: a static model runs on the CPU; no device is needed",
            "m2v encode",
        ),
    ],
)
def test_a_usage_error_is_two_plain_lines_and_exit_2(
    args: list[str], error: str, usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a box of 5-6 lines (box-drawing characters in a CI log), not "Invalid value" for a missing
    option, no validator's "Value error, "."""
    assert main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0] == f"Error: {error}"
    assert len(lines) == 2 and lines[1].startswith(f"Usage: {usage} ") and lines[1].endswith(f"(see {usage} -h)")
    assert not re.search(r"[\u2500-\u257f]", captured.err) and captured.out == ""


def test_an_expected_error_is_one_line_and_exit_1(
    tmp_path: Path, stdin: None, capsys: pytest.CaptureFixture[str], own_handlers: dict[int, Any]
) -> None:
    missing = tmp_path / "no[/s]model"  # read as markup, "[/s]" would raise
    assert main(["encode", "-m", str(missing)]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"Error: model path {missing} does not exist\n"
    assert captured.out == ""
    assert {sig: signal.getsignal(sig) for sig in WATCHED} == own_handlers


def test_a_corrupt_model_is_one_line(tiny_model_dir: Path, stdin: None, capsys: pytest.CaptureFixture[str]) -> None:
    (tiny_model_dir / "model.safetensors").write_bytes(b"\xff" * 64)
    assert main(["encode", "-m", str(tiny_model_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "is corrupt or not a safetensors file" in err
    assert err.count("\n") == 1


def test_debug_env_raises_with_the_library_cause(
    tiny_model_dir: Path, stdin: None, monkeypatch: pytest.MonkeyPatch, own_handlers: dict[int, Any]
) -> None:
    (tiny_model_dir / "model.safetensors").write_bytes(b"\xff" * 64)
    monkeypatch.setenv("M2V_DEBUG", "1")
    with pytest.raises(ModelFormatError, match="is corrupt or not a safetensors file") as info:
        main(["encode", "-m", str(tiny_model_dir)])
    assert isinstance(info.value.__cause__, safetensors.SafetensorError)
    assert {sig: signal.getsignal(sig) for sig in WATCHED} == own_handlers


@pytest.mark.parametrize(
    ("signum", "message"),
    [(signal.SIGINT, "Interrupted."), (signal.SIGTERM, "Terminated."), (signal.SIGHUP, "Hung up.")],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_a_stop_signal_cleans_up_and_exits_128_plus_its_number(
    signum: int,
    message: str,
    tmp_path: Path,
    stdin: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    own_handlers: dict[int, Any],
) -> None:
    out = tmp_path / "out.npy"
    partial_while_running: list[Path] = []

    def stopped_midway(config: EncodeConfig, **kwargs: Any) -> None:
        assert signal.getsignal(signal.SIGPIPE) == signal.SIG_DFL
        with atomic_file(out) as handle:
            handle.write(b"half a matrix")
            partial_while_running.extend(tmp_path.glob(".out.npy.*.partial"))
            os.kill(os.getpid(), signum)
            time.sleep(1)
        raise AssertionError("the signal did not stop the command")

    monkeypatch.setattr("m2vcli.commands.encode.encode_lines", stopped_midway)
    assert main(["encode", "-m", "unused", "-o", str(out)]) == 128 + signum
    captured = capsys.readouterr()
    assert captured.err == f"{message}\n"
    assert captured.out == ""
    assert len(partial_while_running) == 1
    assert not out.exists()
    assert list(tmp_path.glob(".out.npy.*")) == []
    assert {sig: signal.getsignal(sig) for sig in WATCHED} == own_handlers


@pytest.mark.subprocess
def test_a_closed_pipe_ends_encode_quietly(tiny_model_dir: Path, tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("the cat sat on the mat\n" * 20_000, encoding="utf-8")
    script = (
        'set -o pipefail; "$PYTHON" -m m2vcli encode -m "$MODEL" --format jsonl "$INPUT" | head -n 1; '
        'echo "status=${PIPESTATUS[0]}" >&2'
    )
    env = {**os.environ, "PYTHON": sys.executable, "MODEL": str(tiny_model_dir), "INPUT": str(lines)}
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.stderr == "status=141\n"  # killed by SIGPIPE: no traceback, no "Exception ignored"
    out = proc.stdout.splitlines()
    assert len(out) == 1 and len(json.loads(out[0])) == 8


@pytest.mark.subprocess
def test_a_real_process_reports_a_missing_model_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    proc = subprocess.run(
        [sys.executable, "-m", "m2vcli", "encode", "-m", str(missing)],
        input=b"hello\n",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.decode() == f"Error: model path {missing} does not exist\n"
    assert proc.stdout == b""
