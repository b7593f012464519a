"""Extras: a command or function that needs one that is missing says so in one line, with the install
command, before any work; the extras in pyproject.toml are the ones m2v checks for."""

from __future__ import annotations

import json
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest

import m2vcli
from m2vcli.errors import MissingExtraError
from m2vcli.extras import EXTRAS, install_hint, require
from tests.helpers import run_m2v

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, as tomli
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _hide(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)  # "import name" fails, as where it is not installed


def _hint(extra: str) -> str:
    return install_hint(extra)


def test_require_names_the_extra_the_missing_modules_and_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    require("distill", "distilling a model")  # installed here: nothing happens
    _hide(monkeypatch, "torch", "sentence_transformers")
    with pytest.raises(MissingExtraError) as caught:
        require("distill", "distilling a model")
    assert str(caught.value) == (
        "distilling a model needs m2v's distill extra (torch, sentence_transformers not installed): "
        + install_hint("distill")
    )


def test_every_checked_extra_is_declared_and_provides_its_modules() -> None:
    declared = _pyproject()["project"]["optional-dependencies"]

    def requirements(extra: str) -> set[str]:  # distribution names, nested m2v[...] extras expanded
        names: set[str] = set()
        for spec in declared[extra]:
            name = re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].lower()
            if name == "m2v":
                for inner in spec.split("[", 1)[1].split("]", 1)[0].split(","):
                    names |= requirements(inner.strip())
            else:
                names.add(name.replace("_", "-"))
        return names

    owners = packages_distributions()
    for extra, modules in EXTRAS.items():
        assert extra in declared, extra
        wanted = requirements(extra)
        for module in modules:
            providers = {d.lower().replace("_", "-") for d in owners.get(module, [])}
            assert providers & wanted, f"the {extra} extra does not install {module} ({providers})"
    assert requirements("all") >= set().union(*(requirements(e) for e in EXTRAS))
    base = {re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].lower() for spec in _pyproject()["project"]["dependencies"]}
    assert base == {"numpy", "tokenizers", "safetensors", "huggingface-hub", "typer", "rich", "pyyaml"}


@pytest.mark.parametrize(
    "args, hidden, extra, what",
    [
        (["distill", "-o", "{tmp}/out"], ["torch"], "distill", "distilling a model"),
        (
            ["distill", "-o", "{tmp}/out", "--corpus", "{tmp}/corpus.txt"],
            ["transformers"],
            "distill",
            "distilling a model",
        ),
        (
            ["refine", "{model}", "--corpus", "{tmp}/corpus.txt", "-o", "{tmp}/out"],
            ["torch"],
            "distill",
            "refining a model",
        ),
        (["evaluate", "-m", "{model}", "-o", "{tmp}/out"], ["mteb"], "evaluate", "evaluating a model"),
        (
            ["encode", "-m", "{model}", "{tmp}/in.parquet", "-o", "{tmp}/out.npy"],
            ["pyarrow"],
            "parquet",
            "reading Parquet",
        ),
        (
            ["encode", "-m", "{model}", "{tmp}/corpus.txt", "-o", "{tmp}/out.parquet"],
            ["pyarrow"],
            "parquet",
            "writing Parquet",
        ),
        (
            ["encode", "-m", "{model}", "file://{tmp}/corpus.txt", "-o", "{tmp}/out.npy"],
            ["pyarrow"],
            "parquet",
            "reading file:// URIs",
        ),
        (["index", "-m", "{model}", "{tmp}/in.parquet", "-o", "{tmp}/out"], ["pyarrow"], "parquet", "reading Parquet"),
        (
            ["train", "-m", "{model}", "--data", "{tmp}/data.jsonl", "-o", "{tmp}/out"],
            ["torch"],
            "distill",
            "training a classifier",
        ),
        (["export", "-m", "{model}", "-o", "{tmp}/out"], ["onnx"], "onnx", "exporting to ONNX"),
        (
            ["predict", "-m", "{model}", "{tmp}/corpus.txt", "-o", "{tmp}/out.parquet"],
            ["pyarrow"],
            "parquet",
            "writing Parquet",
        ),
    ],
)
def test_a_command_without_its_extra_says_what_to_install_before_any_work(
    args: list[str],
    hidden: list[str],
    extra: str,
    what: str,
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "corpus.txt").write_text("hello world\n" * 10)
    (tmp_path / "in.parquet").write_bytes(b"PAR1")
    (tmp_path / "data.jsonl").write_text('{"text": "hello", "label": "a"}\n' * 10)
    _hide(monkeypatch, *hidden)
    proc = run_m2v(*(a.format(tmp=tmp_path, model=tiny_model_dir) for a in args))
    missing = ", ".join(m for m in EXTRAS[extra] if m in hidden)
    expected = f"Error: {what} needs m2v's {extra} extra ({missing} not installed): {_hint(extra)}\n"
    assert proc.stderr.decode() == expected
    assert proc.returncode == 1
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())  # nothing written, not even begun


def test_the_python_api_says_it_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _hide(monkeypatch, "torch")
    with pytest.raises(MissingExtraError, match=re.escape(_hint("distill"))):
        m2vcli.distill(save_path=str(tmp_path / "m"))
    with pytest.raises(MissingExtraError, match=re.escape(_hint("distill"))):
        m2vcli.refine(str(tmp_path / "m"), str(tmp_path / "c.txt"))
    with pytest.raises(MissingExtraError, match=re.escape(_hint("distill"))):
        m2vcli.train_classifier(str(tmp_path / "m"), ["a", "b"], ["x", "y"])
    assert not (tmp_path / "m").exists()


def test_bench_of_a_sentence_transformer_and_the_plot_name_their_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    from m2vcli.adapters import Encoder, load_folder
    from m2vcli.evaluation.plot import speed_score_figure

    _hide(monkeypatch, "sentence_transformers", "matplotlib")
    with pytest.raises(MissingExtraError, match=r"^loading teacher as a Sentence Transformer needs m2v's distill"):
        load_folder("teacher", Path("."), Encoder.SENTENCE_TRANSFORMER)
    with pytest.raises(MissingExtraError, match=r"^--plot needs m2v's plot extra \(matplotlib not installed\)"):
        speed_score_figure([])


class _Record:
    def __init__(self, text: str | None) -> None:
        self.text = text

    def read_text(self, name: str) -> str | None:
        return self.text if name == "direct_url.json" else None


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("editable", 'pip install -e "{src}[distill]"'),
        ("folder", 'pip install "{src}[distill]"'),
        ("wheel", 'pip install "{wheel}[distill]"'),
        ("wheel gone", 'pip install "m2v[distill]"'),
        ("index", 'pip install "m2v[distill]"'),
        ("git", 'pip install "m2v[distill]"'),
        ("garbage", 'pip install "m2v[distill]"'),
    ],
)
def test_the_install_hint_points_where_m2v_was_installed_from(
    kind: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """m2v is installed from a checkout or a wheel (PEP 610's direct_url.json says which), so "pip install
    m2v[extra]" would look for it on an index; the hint names the source while it is there."""
    import importlib.metadata

    src = tmp_path / "src dir"
    src.mkdir()
    wheel = tmp_path / "m2v-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    records = {
        "editable": {"url": src.as_uri(), "dir_info": {"editable": True}},
        "folder": {"url": src.as_uri(), "dir_info": {}},
        "wheel": {"url": wheel.as_uri(), "archive_info": {}},
        "wheel gone": {"url": (tmp_path / "gone.whl").as_uri(), "archive_info": {}},
        "git": {"url": "https://github.com/o/m2v", "vcs_info": {"vcs": "git"}},
    }
    text = {"index": None, "garbage": "{not json"}[kind] if kind in ("index", "garbage") else json.dumps(records[kind])
    found = [_Record(None), _Record(text)]  # a source tree's egg-info (no record) first, as on sys.path
    monkeypatch.setattr(importlib.metadata, "distributions", lambda **_: iter(found))
    assert install_hint("distill") == expected.format(src=src, wheel=wheel)
