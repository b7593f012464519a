"""The package installs and starts light: no heavy imports for --help or encode."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

HEAVY = {"torch", "transformers", "sentence_transformers", "mteb", "sklearn"}
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.subprocess  # each test starts a fresh Python


def heavy_modules(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(set(sys.modules))))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    return HEAVY & set(out.stdout.split())


def test_cli_import_and_help_are_light() -> None:
    code = "from m2vcli.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert heavy_modules(code) == set()


def test_encode_is_light(tiny_model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("hello world\n")
    args = ["encode", str(source), "-m", str(tiny_model_dir), "-o", str(tmp_path / "o.npy")]
    code = f"from m2vcli.cli import main\nmain({args!r})"
    assert heavy_modules(code) == set()
    assert (tmp_path / "o.npy").exists()


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repo(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("m2v-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target_site = next((venv / "lib").glob("python*/site-packages"))
    # Dependencies come from this environment; the package itself only from the wheel.
    (target_site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target_site), str(wheel)],
        check=True,
        timeout=300,
    )
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import m2vcli, m2vcli.commands.encode; print(m2vcli.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=True,
    )  # fmt: skip
    assert str(target_site) in where.stdout
    assert (target_site / "m2vcli" / "commands" / "encode.py").is_file()
    assert not (target_site / "commands").exists()  # no generic top-level module
    helped = subprocess.run(
        [str(python), "-m", "m2vcli", "--help"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert helped.returncode == 0 and "encode" in helped.stdout


def test_the_version_is_written_once_and_the_metadata_reads_it() -> None:
    from importlib.metadata import version

    import m2vcli

    assert m2vcli.__version__ == version("m2v")
    assert re.fullmatch(r"\d+\.\d+\.\d+", m2vcli.__version__)
