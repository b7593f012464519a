"""The Python API: real signatures that match the commands' settings, model2vec's keyword names, lists
where a user would pass them, and helpful errors for the rest."""

from __future__ import annotations

import dataclasses
import inspect
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import m2vcli
from m2vcli import StaticEmbedder
from m2vcli.distillation import DistillConfig
from m2vcli.errors import ConfigError
from m2vcli.refinement import RefineConfig
from tests.helpers import tiny_model

API_ONLY = {"show_progress_bar", "model2vec_names"}


def _defaults(cls: type[Any]) -> dict[str, Any]:
    return {
        f.name: f.default.value if isinstance(f.default, Enum) else f.default
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING
    }


@pytest.mark.parametrize("function, cls", [(m2vcli.distill, DistillConfig), (m2vcli.refine, RefineConfig)])
def test_every_setting_is_a_named_keyword_with_the_configs_default(function: Any, cls: type[Any]) -> None:
    params = inspect.signature(function).parameters
    assert set(params) - API_ONLY == {f.name for f in dataclasses.fields(cls)}
    defaults = _defaults(cls)
    for name, param in params.items():
        if name in API_ONLY or param.default is inspect.Parameter.empty:
            continue
        assert param.default == defaults[name], name
        assert param.kind is inspect.Parameter.KEYWORD_ONLY or name in ("model", "corpus"), name
        assert f"{name}" in (function.__doc__ or ""), f"{name} is not documented"
    assert params["show_progress_bar"].default is None


def test_model2vec_names_map_and_wrong_names_say_the_right_one(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def fake(cfg: DistillConfig, **kwargs: Any) -> Any:
        seen.append((cfg, kwargs))
        return type("R", (), {"model": tiny_model()})()

    monkeypatch.setattr("m2vcli.refinement.distill_and_refine", fake)
    model = m2vcli.distill(model_name="some/teacher", quantize_to="int8", pca_dims=8, show_progress_bar=False)
    assert isinstance(model, StaticEmbedder)
    cfg = seen[0][0]
    assert (cfg.model, cfg.quantize.value, cfg.pca_dims) == ("some/teacher", "int8", 8)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'pca_dim'; did you mean 'pca_dims'\?"):
        m2vcli.distill(pca_dim=64)
    with pytest.raises(TypeError, match=r"'vocabulary_quantization': m2v has no vocabulary quantization"):
        m2vcli.distill(vocabulary_quantization=1000)
    with pytest.raises(TypeError, match=r"got 'model' twice \(once as 'model_name'\)"):
        m2vcli.distill("a", model_name="b")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'colour'$"):
        m2vcli.distill(colour="blue")


def test_a_list_of_words_is_a_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(
        "m2vcli.refinement.distill_and_refine",
        lambda cfg, **kw: seen.append((cfg, kw)) or type("R", (), {"model": tiny_model()})(),
    )
    m2vcli.distill(vocabulary=["tokyo", "kyoto", " tokyo ", ""], show_progress_bar=False)
    cfg, kwargs = seen[0]
    assert cfg.vocabulary == "list:2" and kwargs["words"].words == ["tokyo", "kyoto"]
    with pytest.raises(ConfigError, match="vocabulary word 2 is int, not str"):
        m2vcli.distill(vocabulary=["a", 3])
    with pytest.raises(ConfigError, match="vocabulary is an empty list"):
        m2vcli.distill(vocabulary=[])


def test_refine_takes_texts_and_a_model_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def fake(cfg: RefineConfig, **kwargs: Any) -> Any:
        lines = Path(str(cfg.corpus)).read_text(encoding="utf-8").splitlines()
        seen.append((cfg, lines, StaticEmbedder.from_pretrained(str(cfg.model)).dim))
        return type("R", (), {"model": tiny_model()})()

    monkeypatch.setattr("m2vcli.refinement.run_refinement", fake)
    texts = (t for t in ["one text", "two\nlines in one text"])  # any iterable, line breaks kept
    m2vcli.refine(tiny_model(dim=6), texts, epochs=3, show_progress_bar=False)
    cfg, lines, dim = seen[0]
    assert lines == ['{"text": "one text"}', '{"text": "two\\nlines in one text"}'] and dim == 6
    assert cfg.epochs == 3 and not Path(str(cfg.corpus)).exists()  # the temporary corpus is gone
    with pytest.raises(ConfigError, match="corpus is empty"):
        m2vcli.refine(tiny_model(), [])
    with pytest.raises(ConfigError, match="corpus text 2 is int, not str"):
        m2vcli.refine(tiny_model(), ["a", 1])
    with pytest.raises(ConfigError, match="corpus must be a path or an iterable of texts, not bytes"):
        m2vcli.refine(tiny_model(), b"texts")


def test_quantize_and_dims_and_similarity(tiny_model_dir: Path) -> None:
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    small = model.quantize("int8", dims=4)
    assert small.dim == 4 and small.embeddings.dtype == np.int8 and model.dim == 8  # a copy
    assert np.allclose(small.float_table(), model.float_table()[:, :4], atol=np.abs(model.float_table()).max() / 100)
    assert model.quantize().embeddings.dtype == model.embeddings.dtype
    loaded = StaticEmbedder.from_pretrained(tiny_model_dir, quantize_to="float16", dimensionality=3)
    assert loaded.dim == 3 and loaded.embeddings.dtype == np.float16
    with pytest.raises(ConfigError, match="dims 9 is more than the model's 8"):
        model.quantize(dims=9)
    with pytest.raises(ConfigError, match="dtype must be one of"):
        model.quantize("int4")
    assert model.similarity("hello world", "hello world") == pytest.approx(1.0, abs=1e-6)
    scores = model.similarity(["hello", "cat"], ["hello", "dog", "zzzz"])
    assert isinstance(scores, np.ndarray) and scores.shape == (2, 3) and scores[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert scores[:, 2].tolist() == [0.0, 0.0]  # no known token: no similarity


def test_one_batch_encode_equals_the_streamed_path(tiny_model_dir: Path) -> None:
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    texts = ["hello world", "", "the cat sat on the mat", "zzzz", "dangerous " * 600]
    direct = model.encode(texts)  # one batch: no threads
    streamed = model.encode(texts, batch_size=2)  # several: the look-ahead path
    assert np.array_equal(direct, streamed)
    assert np.array_equal(model.encode("hello world"), direct[0])


def test_from_pretrained_passes_revision_and_token_to_the_hub(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    seen: list[Any] = []

    def fake(repo_id: str, **kwargs: Any) -> str:
        seen.append((repo_id, kwargs.get("revision"), kwargs.get("token"), kwargs.get("local_files_only")))
        return str(tiny_model_dir)

    monkeypatch.setattr("huggingface_hub.snapshot_download", fake)
    StaticEmbedder.from_pretrained("org/model", revision="v2", token="hf_x")
    assert seen == [("org/model", "v2", None, True)]  # the cache answered: no token was needed
    with pytest.raises(m2vcli.M2VError, match="revision must be a branch, tag or commit"):
        StaticEmbedder.from_pretrained("org/model", revision=" ")
