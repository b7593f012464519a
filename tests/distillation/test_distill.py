from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.distillation import DistillConfig, Pooling, Precision, Quantize, Weighting, run_distillation
from m2vcli.distillation.distiller import parse_pca_dims
from m2vcli.distillation.numerics import sif_weights
from m2vcli.errors import ConfigError, ModelLoadError, OutputError
from m2vcli.teacher import Device


def test_rows_are_the_teachers_mean_pooled_outputs(tiny_teacher_dir: Path) -> None:
    import torch
    from transformers import BertModel

    result = run_distillation(
        model=str(tiny_teacher_dir),
        pca_dims=None,
        sif_coefficient=None,
        quantize="float32",
        dtype="float32",
        pooling="mean",
    )
    model = result.model
    vocab = json.loads(model.tokenizer_json)["model"]["vocab"]
    assert "[CLS]" not in vocab and "[unused0]" not in vocab and "[UNK]" in vocab and "hello" in vocab
    assert result.skipped == {"special": 3, "pattern": 2}
    teacher = BertModel.from_pretrained(str(tiny_teacher_dir)).eval()
    teacher_vocab = json.loads((tiny_teacher_dir / "tokenizer.json").read_text())["model"]["vocab"]
    ids = torch.tensor([[teacher_vocab["[CLS]"], teacher_vocab["hello"], teacher_vocab["[SEP]"]]])
    with torch.inference_mode():
        expected = teacher(input_ids=ids).last_hidden_state.mean(dim=1)[0].numpy()
    np.testing.assert_allclose(model.embeddings[vocab["hello"]], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("pooling", "weights"),
    [("tokens", [0, 1, 0]), ("first", [1, 0, 0]), ("last", [0, 0, 1]), ("blend", [0.5, 1, 0.5]), (None, [0.5, 1, 0.5])],
)
def test_pooling_weighs_positions(tiny_teacher_dir: Path, pooling: str | None, weights: list[float]) -> None:
    import torch
    from transformers import BertModel

    exact = {"pca_dims": None, "sif_coefficient": None, "quantize": "float32", "dtype": "float32"}
    chosen = {"pooling": pooling} if pooling else {}  # None: the default
    model = run_distillation(model=str(tiny_teacher_dir), **chosen, **exact).model
    vocab = json.loads(model.tokenizer_json)["model"]["vocab"]
    teacher = BertModel.from_pretrained(str(tiny_teacher_dir)).eval()
    teacher_vocab = json.loads((tiny_teacher_dir / "tokenizer.json").read_text())["model"]["vocab"]
    ids = torch.tensor([[teacher_vocab["[CLS]"], teacher_vocab["cat"], teacher_vocab["[SEP]"]]])
    with torch.inference_mode():
        hidden = teacher(input_ids=ids).last_hidden_state[0]
    expected = (hidden * torch.tensor(weights)[:, None]).sum(dim=0) / sum(weights)
    np.testing.assert_allclose(model.embeddings[vocab["cat"]], expected.numpy(), rtol=1e-4, atol=1e-5)


def test_pca_sif_quantize_and_save(tiny_teacher_dir: Path, tmp_path: Path) -> None:
    result = run_distillation(model=str(tiny_teacher_dir), pca_dims=8, quantize="int8", save_path=str(tmp_path / "m"))
    assert result.dims == 8 and result.bytes_on_disk and result.bytes_on_disk > 0
    loaded = StaticEmbedder.from_pretrained(tmp_path / "m")
    assert loaded.embeddings.dtype == np.int8 and loaded.dim == 8 and loaded.normalize
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["apply_pca"] == 8 and config["sif_coefficient"] == 1e-4 and config["embedding_scale"] > 0
    assert config["distillation"]["teacher"] == str(tiny_teacher_dir) and "m2v_version" in config
    np.testing.assert_allclose(loaded.encode(["hello world"]), result.model.encode(["hello world"]), rtol=1e-6)


def test_variance_share_keeps_fewer_dims(tiny_teacher_dir: Path) -> None:
    assert run_distillation(model=str(tiny_teacher_dir), pca_dims=0.5).dims < 32


def test_sif_weights_grow_with_rank() -> None:
    w = sif_weights(1000, 1e-3)
    assert np.all(np.diff(w) > 0) and 0 < w[0] < w[-1] < 1


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "abc"])
def test_bad_pca_dims(value: str) -> None:
    with pytest.raises(ConfigError, match="pca_dims"):
        parse_pca_dims(value)


def test_pca_dims_larger_than_the_teacher(tiny_teacher_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"pca_dims must be between 1 and 32 .* got 64"):
        run_distillation(model=str(tiny_teacher_dir), pca_dims=64)


def test_bad_teachers_and_paths(tiny_teacher_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        run_distillation(model=str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"tokenizer\.json"):
        run_distillation(model=str(tmp_path / "empty"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        run_distillation(model=str(tiny_teacher_dir), save_path=str(tmp_path / "file"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("x")
    with pytest.raises(OutputError, match="--force"):
        run_distillation(model=str(tiny_teacher_dir), save_path=str(tmp_path / "data"))
    assert (tmp_path / "data" / "keep.txt").exists()


def test_unavailable_device(tiny_teacher_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="device cuda is not available"):
        run_distillation(model=str(tiny_teacher_dir), device="cuda")


def test_every_enum_member_is_a_valid_setting() -> None:
    for pooling in Pooling:
        assert DistillConfig(pooling=pooling.value).pooling is pooling
    for quantize in Quantize:
        assert DistillConfig(quantize=quantize.value).quantize is quantize
    for device in Device:
        assert DistillConfig(device=device.value).device is device
    for precision in Precision:
        assert DistillConfig(dtype=precision.value).dtype is precision
    for weighting in Weighting:
        assert DistillConfig(weighting=weighting.value).weighting is weighting
    with pytest.raises(ConfigError, match="quantize must be one of float32, float16, int8"):
        DistillConfig(quantize="int4")


def test_remote_code_needs_consent(tiny_teacher_dir: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "remote"
    shutil.copytree(tiny_teacher_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_custom.CustomModel"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="--trust-remote-code"):
        run_distillation(model=str(folder), pca_dims=8)


def test_decoder_only_teacher_needs_last_pooling(tmp_path: Path) -> None:
    import torch
    from transformers import GPT2Config, GPT2Model

    from tests.helpers import bpe_teacher_tokenizer

    tok = bpe_teacher_tokenizer()
    torch.manual_seed(0)
    GPT2Model(
        GPT2Config(vocab_size=tok.get_vocab_size(), n_embd=16, n_layer=1, n_head=2, n_positions=32)
    ).save_pretrained(tmp_path / "gpt")
    tok.save(str(tmp_path / "gpt" / "tokenizer.json"))
    with pytest.raises(ModelLoadError, match=r"decoder-only model.*--pooling last"):
        run_distillation(model=str(tmp_path / "gpt"), pca_dims=4)
    model = run_distillation(model=str(tmp_path / "gpt"), pca_dims=4, pooling="last").model
    assert model.encode(["the cat sat"]).shape == (1, 4)


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"pca_dims": 64}, r"pca_dims must be between 1 and 32"), ({"device": "cuda"}, "device cuda is not available")],
)
def test_pca_dims_and_the_device_are_checked_before_the_teacher_loads(
    tiny_teacher_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, object], message: str
) -> None:
    import torch

    from m2vcli.distillation import distiller

    if settings.get("device") == "cuda" and torch.cuda.is_available():
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the teacher was loaded")

    monkeypatch.setattr(distiller, "load_teacher", never)
    with pytest.raises(ConfigError, match=message):
        run_distillation(model=str(tiny_teacher_dir), save_path=str(tmp_path / "m"), **settings)  # type: ignore[arg-type]
    assert not (tmp_path / "m").exists()
