"""The package installs and starts light: the base install serves a model without any extra."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

HEAVY = {"torch", "transformers", "sentence_transformers", "mteb", "sklearn"}
EXTRA_MODULES = {
    "torch",
    "transformers",
    "sentence_transformers",
    "mteb",
    "sklearn",
    "matplotlib",
    "pyarrow",
    "ray",
    "onnx",
}
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


def numpy_classifier(path: Path) -> Path:
    """A classifier on the tiny model, its head made by hand (no torch): what the base install predicts with."""
    import numpy as np

    from m2vcli.classify import StaticClassifier
    from m2vcli.model.head import Activation, Head
    from tests.helpers import tiny_model

    rng = np.random.default_rng(0)
    head = Head([rng.normal(size=(2, 8)).astype(np.float32)], [np.zeros(2, np.float32)], Activation.SOFTMAX)
    StaticClassifier(tiny_model(), head, ["ham", "spam"]).save_pretrained(path)
    return path


def test_encode_info_index_search_and_predict_are_light(tiny_model_dir: Path, tmp_path: Path) -> None:
    """What the base install serves runs with every extra's modules unimportable, and imports none."""
    (tmp_path / "in.jsonl").write_text('{"text": "hello world", "id": "a"}\n{"text": "the cat", "id": "b"}\n')
    (tmp_path / "in.csv").write_text("text,id\nhello world,a\n")
    (tmp_path / "test.jsonl").write_text(
        '{"text": "hello world", "label": "ham"}\n{"text": "the cat", "label": "spam"}\n'
    )
    model = str(tiny_model_dir)
    classifier = str(numpy_classifier(tmp_path / "clf"))
    runs = [
        ["encode", str(tmp_path / "in.jsonl"), "-m", model, "--id-field", "id", "-o", str(tmp_path / "o.jsonl")],
        ["encode", str(tmp_path / "in.csv"), "-m", model, "-o", str(tmp_path / "o.safetensors")],
        ["info", model],
        ["index", str(tmp_path / "in.jsonl"), "-m", model, "--id-field", "id", "-o", str(tmp_path / "i")],
        ["search", str(tmp_path / "i"), "the cat", "-k", "1", "--format", "jsonl"],
        ["predict", str(tmp_path / "in.jsonl"), "-m", classifier, "--id-field", "id", "-o", str(tmp_path / "p.csv")],
        ["evaluate", "-m", classifier, "--data", str(tmp_path / "test.jsonl"), "--format", "json"],
    ]
    blocked = sorted(EXTRA_MODULES)
    code = (
        "import sys\n"
        f"for name in {blocked!r}:\n    sys.modules[name] = None  # as if not installed\n"
        "from m2vcli.cli import main\n"
        f"for args in {runs!r}:\n"
        "    code = main(args)\n"
        "    assert code == 0, (args, code)\n"
        "print(' '.join(sorted(n for n, m in sys.modules.items() if m is not None)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    loaded = set(out.stdout.split("\n")[-2].split())
    assert loaded & (EXTRA_MODULES | HEAVY) == set()
    assert '"id": "b"' in out.stdout  # the search found "the cat"


@pytest.mark.slow
def test_the_built_wheel_installs_light_and_serves_a_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    """sdist and wheel from the tracked files, checked by twine; the wheel alone, no extras, in a fresh venv
    (its dependencies from the package index): encode, info, index and search work, distill says what to
    install, and nothing heavy came with it."""
    source = tmp_path / "src"
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in tracked.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    built = sorted(p.name for p in dist.iterdir())
    assert built == ["m2v-0.1.0-py3-none-any.whl", "m2v-0.1.0.tar.gz"]
    checked = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    wheel = next(dist.glob("m2v-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("m2v-0.1.0.dist-info/METADATA").decode()
        entry_points = archive.read("m2v-0.1.0.dist-info/entry_points.txt").decode()
        assert "m2v-0.1.0.dist-info/licenses/LICENSE" in archive.namelist()
    assert "License-Expression: MIT" in metadata and "Classifier: Programming Language :: Python :: 3" in metadata
    assert "Project-URL: Documentation, " in metadata and "Description-Content-Type: text/markdown" in metadata
    assert metadata.split("\n\n", 1)[1].startswith("# m2v\n")  # the README is the long description
    assert "m2v = m2vcli.cli:run" in entry_points
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    installed = subprocess.run(
        [*pip, "install", "-q", str(wheel)], capture_output=True, text=True, env=env, timeout=600
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    listed = subprocess.run([*pip, "list", "--format", "freeze"], capture_output=True, text=True, env=env, check=True)
    names = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert {"numpy", "tokenizers", "safetensors", "typer", "rich", "pyyaml"} <= names
    assert names & {"torch", "transformers", "sentence-transformers", "mteb", "scikit-learn", "pyarrow", "ray"} == set()
    site = next((venv / "lib").glob("python*/site-packages"))
    assert (site / "m2vcli" / "commands" / "encode.py").is_file() and not (site / "commands").exists()
    m2v = str(venv / "bin" / "m2v")
    (tmp_path / "in.txt").write_text("hello world\nthe cat sat\n")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([m2v, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)

    model = str(tiny_model_dir)
    assert run("encode", "in.txt", "-m", model, "-o", "v.npy").returncode == 0 and (tmp_path / "v.npy").is_file()
    assert run("info", model).returncode == 0
    assert run("index", "in.txt", "-m", model, "-o", "i").returncode == 0
    found = run("search", "i", "the cat sat", "-k", "1", "--format", "jsonl")
    assert found.returncode == 0 and '"text": "the cat sat"' in found.stdout, found.stderr
    refused = run("distill", "-o", "m")
    assert refused.returncode == 1 and not (tmp_path / "m").exists()
    assert refused.stderr == (
        "Error: distilling a model needs m2v's distill extra (torch, transformers, sentence_transformers not "
        f'installed): pip install "{wheel}[distill]"\n'
    )
    parquet = run("encode", "in.txt", "-m", model, "-o", "v.parquet")
    assert parquet.returncode == 1 and f'pip install "{wheel}[parquet]"' in parquet.stderr
    classifier = str(numpy_classifier(tmp_path / "clf"))
    predicted = run("predict", "in.txt", "-m", classifier)
    assert predicted.returncode == 0 and predicted.stdout.count('"label": ') == 2, predicted.stderr
    trained = run("train", "-m", model, "--data", "in.txt", "-o", "t")
    assert (
        trained.returncode == 1
        and f'pip install "{wheel}[distill]"' in trained.stderr
        and not (tmp_path / "t").exists()
    )
    exported = run("export", "-m", classifier, "-o", "x")
    assert exported.returncode == 1 and f'pip install "{wheel}[onnx]"' in exported.stderr


def test_the_version_is_written_once_and_the_metadata_reads_it() -> None:
    from importlib.metadata import version

    import m2vcli

    assert m2vcli.__version__ == version("m2v")
    assert re.fullmatch(r"\d+\.\d+\.\d+", m2vcli.__version__)
