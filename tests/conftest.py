"""Shared fixtures, built with tests/helpers.py: a tiny WordPiece model made in seconds, tiny teachers, and (for
slow tests) the packaged teacher."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.console import quiet_libraries
from tests.helpers import TEACHER_TOKENIZERS, _save_teacher, teacher_path, tiny_model

quiet_libraries()  # as the m2v executable does first, before any Hugging Face library is imported


@pytest.fixture(scope="session")
def _tiny_model_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("master") / "tiny_model"
    tiny_model().save_pretrained(path)
    return path


@pytest.fixture
def tiny_model_dir(_tiny_model_master: Path, tmp_path: Path) -> Path:
    """A fresh copy of a saved tiny model folder for each test."""
    path = tmp_path / "tiny_model"
    shutil.copytree(_tiny_model_master, path)
    return path


@pytest.fixture(scope="session")
def real_static_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A static model on the teacher's real 30,522-token vocabulary (its input embeddings, float16)."""
    from safetensors.numpy import load_file

    from m2vcli.model.tokenization import clean_tokenizer_spec

    teacher = teacher_path()
    tensors = load_file(str(teacher / "model.safetensors"))
    key = next(k for k in tensors if k.endswith("word_embeddings.weight"))
    spec = clean_tokenizer_spec(json.loads((teacher / "tokenizer.json").read_text()))
    model = StaticEmbedder(
        tensors[key].astype(np.float16), json.dumps(spec), config={"normalize": True, "tokenizer_name": "teacher"}
    )
    path = tmp_path_factory.mktemp("real") / "real_static"
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    from m2vcli.packaged_data import movie_review_sentences

    return movie_review_sentences(2000, seed=1)


@pytest.fixture(scope="session")
def tiny_teachers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random 2-layer BERTs with a WordPiece, a byte-level BPE and a Unigram tokenizer."""
    root = tmp_path_factory.mktemp("teachers")
    return {kind: _save_teacher(make(), root / kind) for kind, make in TEACHER_TOKENIZERS.items()}


@pytest.fixture(scope="session")
def tiny_teacher_dir(tiny_teachers: dict[str, Path]) -> Path:
    return tiny_teachers["wordpiece"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never reach the network: the hub counts as offline (``m2v evaluate`` then skips its probe);
    the refinement feature cache lives in a temporary folder, never in the user's home."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("M2V_CACHE", str(tmp_path_factory.getbasetemp() / "feature-cache"))


DATA_FIXTURES = {"real_static_dir", "sentences"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use a fixture built from packaged data (the teacher's vocabulary, movie-review sentences)
    carry the ``data`` marker without saying so each."""
    for item in items:
        if DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.data)
