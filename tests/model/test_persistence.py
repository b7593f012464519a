from __future__ import annotations

import json
import os
import stat
import struct
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.errors import HubError, ModelFormatError, ModelLoadError, OutputError
from m2vcli.model.persistence import ModelKind, model_kind
from tests.helpers import teacher_path, tiny_model


def test_saved_folder_has_the_shared_layout(tiny_model_dir: Path) -> None:
    names = sorted(p.name for p in tiny_model_dir.iterdir())
    assert names == ["README.md", "config.json", "model.safetensors", "modules.json", "tokenizer.json"]
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert config["model_type"] == "model2vec" and config["hidden_dim"] == 8
    modules = json.loads((tiny_model_dir / "modules.json").read_text())
    assert modules[0]["type"] == "sentence_transformers.models.StaticEmbedding"
    assert "m2v encode" in (tiny_model_dir / "README.md").read_text()


def test_missing_path_and_non_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        StaticEmbedder.from_pretrained(tmp_path / "nope")
    with pytest.raises(ModelFormatError, match=r"not a model folder: missing model\.safetensors and tokenizer\.json"):
        StaticEmbedder.from_pretrained(tmp_path)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ModelLoadError, match="is a file"):
        StaticEmbedder.from_pretrained(tmp_path / "file.txt")


def test_truncated_safetensors(tiny_model_dir: Path) -> None:
    path = tiny_model_dir / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ModelFormatError, match="corrupt"):
        StaticEmbedder.from_pretrained(tiny_model_dir)
    path.write_bytes(b"\x00" * 3)
    with pytest.raises(ModelFormatError, match="corrupt"):
        StaticEmbedder.from_pretrained(tiny_model_dir)


def test_tokenizer_that_does_not_parse(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "tokenizer.json").write_text('{"model": {"type": "WordPiece"')
    with pytest.raises(ModelFormatError, match=r"tokenizer\.json"):
        StaticEmbedder.from_pretrained(tiny_model_dir)
    (tiny_model_dir / "tokenizer.json").write_bytes(b"\xff\xfe")
    with pytest.raises(ModelFormatError, match="not UTF-8"):
        StaticEmbedder.from_pretrained(tiny_model_dir)


def test_config_dims_disagree_with_tensor(tiny_model_dir: Path) -> None:
    config = json.loads((tiny_model_dir / "config.json").read_text())
    config["hidden_dim"] = 384
    (tiny_model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="hidden_dim 384 but the embeddings have 8"):
        StaticEmbedder.from_pretrained(tiny_model_dir)


def test_fewer_rows_than_tokens(tiny_model_dir: Path) -> None:
    from safetensors.numpy import save_file

    save_file({"embeddings": np.zeros((3, 8), np.float32)}, str(tiny_model_dir / "model.safetensors"))
    with pytest.raises(ModelFormatError, match="only 3 rows"):
        StaticEmbedder.from_pretrained(tiny_model_dir)


@pytest.mark.data
def test_a_transformer_folder_is_not_a_static_model() -> None:
    with pytest.raises(ModelFormatError, match=r"transformer, not a static model.*m2v distill"):
        StaticEmbedder.from_pretrained(teacher_path())


def test_hub_id_offline_and_not_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HubError, match=r"not in the Hugging Face cache.*local model folder"):
        StaticEmbedder.from_pretrained("some-org/some-model")


def test_save_refuses_a_folder_that_is_not_a_model(tmp_path: Path) -> None:
    target = tmp_path / "data"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a static model"):
        tiny_model().save_pretrained(target)
    assert (target / "precious.txt").read_text() == "keep me"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        tiny_model().save_pretrained(tmp_path / "afile")
    tiny_model().save_pretrained(target, force=True)
    assert not (target / "precious.txt").exists()


def test_overwriting_a_model_replaces_it(tiny_model_dir: Path) -> None:
    tiny_model(dim=4).save_pretrained(tiny_model_dir)
    assert StaticEmbedder.from_pretrained(tiny_model_dir).dim == 4
    assert [p.name for p in tiny_model_dir.parent.iterdir()] == [tiny_model_dir.name]


def test_hub_id_found_in_the_local_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_dir: Path) -> None:
    import shutil

    repo = tmp_path / "cache" / "models--some-org--tiny"
    revision = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_model_dir, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    model = StaticEmbedder.from_pretrained("some-org/tiny")
    expected = StaticEmbedder.from_pretrained(tiny_model_dir)
    np.testing.assert_array_equal(model.encode(["hello world"]), expected.encode(["hello world"]))


def test_unreadable_safetensors_is_a_read_error_with_its_cause(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    import safetensors

    path = tiny_model_dir / "model.safetensors"
    path.write_bytes(b"\x00" * 3)
    with pytest.raises(ModelFormatError, match="corrupt") as caught:
        StaticEmbedder.from_pretrained(tiny_model_dir)
    assert isinstance(caught.value.__cause__, safetensors.SafetensorError)

    def refuse(name: str, framework: str) -> None:
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr(safetensors, "safe_open", refuse)
    with pytest.raises(ModelLoadError, match=f"^cannot read {path}: Permission denied$") as refused:
        StaticEmbedder.from_pretrained(tiny_model_dir)
    assert isinstance(refused.value.__cause__, PermissionError)


def test_a_tensor_numpy_cannot_read_is_a_format_error(tiny_model_dir: Path) -> None:
    header = json.dumps({"embeddings": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [0, 4]}}).encode()
    (tiny_model_dir / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    with pytest.raises(ModelFormatError, match="'embeddings' as BF16"):
        StaticEmbedder.from_pretrained(tiny_model_dir)


def test_other_errors_keep_their_cause(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "tokenizer.json").write_bytes(b"\xff\xfe")
    with pytest.raises(ModelFormatError, match="not UTF-8") as caught:
        StaticEmbedder.from_pretrained(tiny_model_dir)
    assert isinstance(caught.value.__cause__, UnicodeDecodeError)
    (tiny_model_dir / "tokenizer.json").write_text("{")
    with pytest.raises(ModelFormatError, match="not a valid tokenizer") as caught:
        StaticEmbedder.from_pretrained(tiny_model_dir)
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_saved_folder_gets_the_mode_the_umask_gives(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        tiny_model().save_pretrained(tmp_path / "m")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m").stat().st_mode) == 0o777 & ~umask
    for file in (tmp_path / "m").iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o666 & ~umask


def test_model_kind_tells_the_layouts_apart(tmp_path: Path, tiny_model_dir: Path) -> None:
    st_static = tmp_path / "st_static"
    (st_static / "0_StaticEmbedding").mkdir(parents=True)
    modules = [
        {"idx": 0, "name": "0", "path": "0_StaticEmbedding", "type": "sentence_transformers.models.StaticEmbedding"}
    ]
    (st_static / "modules.json").write_text(json.dumps(modules))
    transformer = tmp_path / "transformer"
    transformer.mkdir()
    (transformer / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (transformer / "model.safetensors").write_bytes(b"")
    st_transformer = tmp_path / "st_transformer"
    st_transformer.mkdir()
    (st_transformer / "modules.json").write_text(json.dumps([{"type": "sentence_transformers.models.Transformer"}]))
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "config.json").write_text('{"model_type": "model2vec"')
    (corrupt / "model.safetensors").write_bytes(b"")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("not a model")
    (tmp_path / "file").write_text("x")
    kinds = {
        tiny_model_dir: ModelKind.STATIC,
        st_static: ModelKind.STATIC,
        transformer: ModelKind.SENTENCE_TRANSFORMER,
        st_transformer: ModelKind.SENTENCE_TRANSFORMER,
        corrupt: ModelKind.SENTENCE_TRANSFORMER,
        plain: None,
        tmp_path / "file": None,
        tmp_path / "missing": None,
    }
    assert {path: model_kind(path) for path in kinds} == kinds
    assert {m.value for m in ModelKind} == {"static", "sentence-transformer"}


def test_save_replaces_a_sentence_transformers_static_folder_but_not_a_transformer(tmp_path: Path) -> None:
    st_static = tmp_path / "st_static"
    st_static.mkdir()
    (st_static / "modules.json").write_text(json.dumps([{"type": "sentence_transformers.models.StaticEmbedding"}]))
    tiny_model().save_pretrained(st_static)
    assert model_kind(st_static) is ModelKind.STATIC and (st_static / "config.json").is_file()
    transformer = tmp_path / "transformer"
    transformer.mkdir()
    (transformer / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(OutputError, match="not a static model"):
        tiny_model().save_pretrained(transformer)
