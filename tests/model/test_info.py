"""``m2v info``: what a model folder holds, read from its files: static models in each format, Sentence
Transformers, the packaged teacher, and every way a folder can be wrong."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.hub import PACKAGED_TEACHER
from m2vcli.model.info import InfoConfig, info_table, model_info
from m2vcli.tables import render
from tests.helpers import Ran, run_m2v, tiny_tokenizer

VOCAB = tiny_tokenizer().get_vocab_size()
DISTILLED = {
    "model_type": "model2vec",
    "tokenizer_name": "sentence-transformers/all-MiniLM-L6-v2",
    "apply_pca": 256,
    "sif_coefficient": 0.0001,
    "normalize": True,
    "pooling": "mean",
    "max_length": 512,
    "m2v_version": "0.1.0",
    "distillation": {
        "teacher": "sentence-transformers/all-MiniLM-L6-v2",
        "precision": "bfloat16",
        "quantize": "float16",
        "token_remove_pattern": "\\[unused\\d+\\]",
        "vocabulary": "wordfreq:en:50000",
        "weighting": "frequency",
        "pooling": "blend",
    },
}


def info_json(*args: str) -> dict[str, Any]:
    ran = run_m2v("info", *args, "--format", "json")
    assert ran.returncode == 0, ran.stderr.decode()
    assert ran.stderr == b""
    data = json.loads(ran.stdout)
    assert isinstance(data, dict)  # one object
    return data


def one_line_error(ran: Ran, code: int = 1) -> str:
    err = ran.stderr.decode()
    assert ran.returncode == code, err
    assert ran.stdout == b""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def set_config(folder: Path, **changes: Any) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


def test_a_static_model_as_a_table(tiny_model_dir: Path) -> None:
    ran = run_m2v("info", str(tiny_model_dir))
    assert ran.returncode == 0 and ran.stderr == b""
    out = ran.stdout.decode()
    assert out.startswith("m2v info: tiny_model\n")
    rows = dict(line.split(None, 1) for line in out.splitlines()[3:] if " " in line and not line.startswith("-"))
    assert rows["dims"].strip() == "8" and rows["dtype"].strip() == "float32"
    assert f"{VOCAB} tokens" in out and "local folder" in out and str(tiny_model_dir.resolve()) in out


def test_a_static_model_as_json(tiny_model_dir: Path) -> None:
    data = info_json(str(tiny_model_dir))
    size = sum(p.stat().st_size for p in tiny_model_dir.rglob("*") if p.is_file())
    assert data == {
        **data,
        "model": "tiny_model",
        "kind": "static",
        "format": "model2vec",
        "dims": 8,
        "vocabulary_size": VOCAB,
        "rows": VOCAB,
        "parameters": VOCAB * 8,
        "dtype": "float32",
        "weights": False,
        "vocabulary_quantization": False,
        "normalize": False,
        "max_length": 512,
        "bytes_on_disk": size,
        "source": "local",
        "hub_id": None,
        "folder": str(tiny_model_dir.resolve()),
    }
    assert set(data["distillation"]) >= {"pca_dims", "sif_coefficient", "pooling", "vocabulary", "weighting"}


def test_the_model_may_be_named_with_m_or_in_a_config_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    assert info_json("-m", str(tiny_model_dir))["dims"] == 8
    config = tmp_path / "info.yaml"
    config.write_text(f"model: {tiny_model_dir}\nformat: json\n")
    ran = run_m2v("info", "--config", str(config))
    assert ran.returncode == 0 and json.loads(ran.stdout)["model"] == "tiny_model"
    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    assert info_json(str(other), "--config", str(config))["model"] == "other"  # the argument beats the file
    assert run_m2v("info", str(tiny_model_dir), "-m", str(other)).returncode == 2
    assert run_m2v("info").returncode == 2  # no model anywhere: a usage error


def test_a_distilled_model_shows_its_distillation_settings(tiny_model_dir: Path) -> None:
    set_config(tiny_model_dir, **DISTILLED)
    data = info_json(str(tiny_model_dir))
    assert data["format"] == "model2vec" and data["m2v_version"] == "0.1.0"
    assert data["teacher"] == "sentence-transformers/all-MiniLM-L6-v2" and data["normalize"] is True
    assert data["distillation"] == {
        "pca_dims": 256,
        "sif_coefficient": 0.0001,
        "apply_zipf": None,
        "pooling": "blend",  # the distillation's pooling, not the encoder's "mean"
        "vocabulary": "wordfreq:en:50000",
        "weighting": "frequency",
        "quantize": "float16",
        "precision": "bfloat16",
        "token_remove_pattern": "\\[unused\\d+\\]",
    }
    out = run_m2v("info", str(tiny_model_dir)).stdout.decode()
    for label, value in [("pca dims", "256"), ("sif coefficient", "0.0001"), ("made by", "m2v 0.1.0")]:
        assert any(line.split() == [*label.split(), *value.split()] for line in out.splitlines()), label
    assert "wordfreq:en:50000" in out and "zipf" not in out  # a setting the config does not name is left out


def test_null_settings_read_none(tiny_model_dir: Path) -> None:
    set_config(tiny_model_dir, apply_pca=None, sif_coefficient=None, max_length=None)
    data = info_json(str(tiny_model_dir))
    assert data["distillation"]["pca_dims"] is None and data["max_length"] is None
    lines = run_m2v("info", str(tiny_model_dir)).stdout.decode().splitlines()
    assert ["pca", "dims", "none"] in [line.split() for line in lines]
    assert ["max", "length", "none"] in [line.split() for line in lines]


def test_an_int8_model_shows_its_scale(tmp_path: Path) -> None:
    tok = tiny_tokenizer()
    table = np.arange(VOCAB * 4, dtype=np.int8).reshape(VOCAB, 4)
    StaticEmbedder(table, tok.to_str(), config={"embedding_scale": 0.01}).save_pretrained(tmp_path / "int8")
    data = info_json(str(tmp_path / "int8"))
    assert (data["dtype"], data["embedding_scale"], data["dims"]) == ("int8", 0.01, 4)


def test_a_model2vec_folder_with_vocabulary_quantization(tiny_model_dir: Path, tmp_path: Path) -> None:
    model2vec = pytest.importorskip("model2vec", reason="model2vec is in the test extra")
    from model2vec.model import quantize_model

    source = model2vec.StaticModel.from_pretrained(str(tiny_model_dir))
    quantize_model(source, vocabulary_quantization=4, quantize_to="float16").save_pretrained(str(tmp_path / "m2v"))
    data = info_json(str(tmp_path / "m2v"))
    assert data["format"] == "model2vec" and data["m2v_version"] is None
    assert (data["rows"], data["vocabulary_size"], data["dtype"]) == (4, VOCAB, "float16")
    assert data["weights"] is True and data["vocabulary_quantization"] is True
    assert f"{VOCAB} tokens share 4 rows" in run_m2v("info", str(tmp_path / "m2v")).stdout.decode()


def test_a_sentence_transformers_static_embedding_folder(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    folder = tmp_path / "st_static"
    (folder / "0_StaticEmbedding").mkdir(parents=True)
    save_file(
        {"embedding.weight": np.ones((VOCAB, 6), np.float32)}, str(folder / "0_StaticEmbedding/model.safetensors")
    )
    tiny_tokenizer().save(str(folder / "0_StaticEmbedding/tokenizer.json"))
    modules = [
        {"idx": 0, "name": "0", "path": "0_StaticEmbedding", "type": "sentence_transformers.models.StaticEmbedding"},
        {"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    data = info_json(str(folder))
    assert data["kind"] == "static" and data["format"] == "sentence-transformers (StaticEmbedding)"
    assert (data["dims"], data["rows"], data["normalize"], data["teacher"]) == (6, VOCAB, True, None)


def sentence_transformer(tiny_teacher_dir: Path, tmp_path: Path, *, dense: bool) -> Path:
    """The tiny teacher laid out as a Sentence Transformer: mean and max pooling, optionally a Dense layer."""
    folder = tmp_path / "st"
    shutil.copytree(tiny_teacher_dir, folder)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if dense:
        modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
        (folder / "2_Dense").mkdir()
        (folder / "2_Dense/config.json").write_text('{"in_features": 64, "out_features": 16}')
    modules.append({"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"})
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}
    (folder / "1_Pooling/config.json").write_text(json.dumps(pooling))
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 48}')
    return folder


def test_a_plain_transformers_folder(tiny_teacher_dir: Path) -> None:
    data = info_json(str(tiny_teacher_dir))
    assert data["kind"] == "sentence-transformer" and data["format"] == "transformers"
    assert (data["architecture"], data["model_type"], data["layers"], data["hidden_size"]) == (
        "BertModel",
        "bert",
        2,
        32,
    )
    assert (data["dims"], data["max_length"], data["dtype"]) == (32, 64, "float32")
    assert data["vocabulary_size"] == VOCAB + 2 and data["parameters"] > 10_000
    assert "distillation" not in data and "pooling" in data


@pytest.mark.parametrize(("dense", "dims"), [(False, 64), (True, 16)])
def test_a_sentence_transformer(tiny_teacher_dir: Path, tmp_path: Path, dense: bool, dims: int) -> None:
    data = info_json(str(sentence_transformer(tiny_teacher_dir, tmp_path, dense=dense)))
    assert data["format"] == "sentence-transformers"
    assert (data["dims"], data["max_length"], data["pooling"], data["normalize"]) == (dims, 48, "mean+max", True)


@pytest.mark.data
@pytest.mark.parametrize("given", ["hub id", "folder"])
def test_the_packaged_teacher(given: str) -> None:
    from m2vcli.packaged_data import teacher_folder

    folder = teacher_folder()
    data = info_json(PACKAGED_TEACHER if given == "hub id" else str(folder))
    assert data["model"] == "all-MiniLM-L6-v2" and data["kind"] == "sentence-transformer"
    assert (data["dims"], data["vocabulary_size"], data["layers"], data["max_length"]) == (384, 30522, 6, 256)
    assert (data["pooling"], data["normalize"], data["dtype"]) == ("mean", True, "float32")
    assert 22_000_000 < data["parameters"] < 23_000_000 and data["bytes_on_disk"] > 80_000_000
    assert (data["source"], data["hub_id"], data["folder"]) == ("package", PACKAGED_TEACHER, str(folder.resolve()))


def test_a_hub_id_in_the_cache(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo_id, **kwargs: str(tiny_model_dir))
    data = info_json("org/tiny")
    assert (data["model"], data["source"], data["hub_id"]) == ("org/tiny", "hub", "org/tiny")
    assert data["folder"] == str(tiny_model_dir.resolve())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "config.json is not valid JSON"),
        ("[1, 2]", "config.json must hold a JSON object, got list"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "config.json is not valid JSON"),
        ("\xff", "config.json is not valid JSON"),
    ],
    ids=["syntax", "list", "nested", "binary"],
)
def test_a_broken_config_is_one_line(tiny_model_dir: Path, tiny_teacher_dir: Path, content: str, message: str) -> None:
    for folder in (tiny_model_dir, tiny_teacher_dir.parent / "copy"):
        if folder != tiny_model_dir:
            shutil.copytree(tiny_teacher_dir, folder, dirs_exist_ok=True)
        (folder / "config.json").write_bytes(content.encode("latin-1"))
        assert message in one_line_error(run_m2v("info", str(folder)))


def test_a_broken_modules_json_is_one_line(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "modules.json").write_text('{"type": "StaticEmbedding"}')
    assert "modules.json must hold a JSON list" in one_line_error(run_m2v("info", str(tiny_model_dir)))


def test_a_corrupt_tensor_file_is_one_line(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    assert "is corrupt or not a safetensors file" in one_line_error(run_m2v("info", str(tiny_model_dir)))


def test_hostile_config_values_are_shown_as_unknown(tiny_model_dir: Path) -> None:
    set_config(
        tiny_model_dir,
        normalize="yes",
        max_length=-3,
        apply_pca={"x": [1, 2]},
        sif_coefficient=float("nan"),
        tokenizer_name=5,
        m2v_version=["0.1"],
        embedding_scale="big",
        distillation={"pooling": ["blend"], "vocabulary": "\x1b[31mred\x1b[0m [bold]x[/bold]", "weighting": 3},
    )
    data = info_json(str(tiny_model_dir))
    assert [data[k] for k in ("normalize", "max_length", "teacher", "embedding_scale")] == [None] * 4
    assert data["m2v_version"] is None and data["format"] == "model2vec"
    assert [data["distillation"][k] for k in ("pca_dims", "sif_coefficient", "pooling", "weighting")] == [None] * 4
    out = run_m2v("info", str(tiny_model_dir)).stdout.decode()
    assert "\x1b" not in out and "?[31mred?[0m [bold]x[/bold]" in out  # a terminal escape is not let through
    unknown = {" ".join(line.split()[:-1]) for line in out.splitlines() if line.split()[-1:] == ["-"]}
    assert {"normalize", "max length", "pca dims", "sif coefficient", "token pooling", "weighting"} <= unknown


def test_a_distillation_record_of_the_wrong_type_is_ignored(tiny_model_dir: Path) -> None:
    set_config(tiny_model_dir, distillation="blend")
    data = info_json(str(tiny_model_dir))
    assert data["distillation"]["pooling"] is None and data["teacher"] is None


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "model path {path} does not exist"),
        ("file", "model {path} is a file, not a model folder"),
        ("empty", "{path} is not a model folder: it has no config.json or modules.json"),
    ],
)
def test_a_path_that_is_not_a_model_is_one_line(tmp_path: Path, setup: str, message: str) -> None:
    path = tmp_path / "model"
    if setup == "file":
        path.write_text("x")
    elif setup == "empty":
        path.mkdir()
    err = one_line_error(run_m2v("info", str(path)))
    assert err == f"Error: {message.format(path=path)}\n"


def test_a_module_path_outside_the_folder_is_refused(tiny_teacher_dir: Path, tmp_path: Path) -> None:
    folder = sentence_transformer(tiny_teacher_dir, tmp_path, dense=False)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/config.json").write_text('{"word_embedding_dimension": 999}')
    modules = json.loads((folder / "modules.json").read_text())
    modules[1]["path"] = "../elsewhere"
    (folder / "modules.json").write_text(json.dumps(modules))
    ran = run_m2v("info", str(folder), "--format", "json")  # never read: the outside file's 999 is not shown
    assert ran.returncode == 1 and ran.stdout == b""
    assert ran.stderr.decode().strip() == (
        f"Error: {folder / 'modules.json'}: module 1's path '../elsewhere' leaves the model folder"
    )


@pytest.mark.parametrize("fmt", ["markdown", "csv"])
def test_other_table_formats(tiny_model_dir: Path, fmt: str) -> None:
    ran = run_m2v("info", str(tiny_model_dir), "-f", fmt)
    assert ran.returncode == 0
    lines = ran.stdout.decode().splitlines()
    assert lines[0] == ("| field | value |" if fmt == "markdown" else "field,value")
    if fmt == "markdown":
        assert lines[1] == "|:---|:---|"
        rows = dict(line.removeprefix("| ").removesuffix(" |").split(" | ") for line in lines[2:])
    else:
        rows = dict(csv.reader(lines[1:]))
    assert rows["folder format"] == "model2vec" and rows["dims"] == "8" and rows["dtype"] == "float32"
    assert rows["vocabulary"] == f"{VOCAB} tokens" and rows["folder"] == str(tiny_model_dir.resolve())


def test_on_a_narrow_terminal_a_long_value_continues_on_the_next_rows(tmp_path: Path, tiny_model_dir: Path) -> None:
    deep = tmp_path / ("a_rather_long_folder_name_" * 3) / "and_another_one_below_it" / "model"
    shutil.copytree(tiny_model_dir, deep)
    info = model_info(str(deep))
    text = render(info_table(info, width=60), width=60)
    assert max(len(line) for line in text.splitlines()) <= 60
    rows = info_table(info, width=60).rows
    start = next(i for i, row in enumerate(rows) if row[0] == "folder")
    assert "".join(row[1] for row in rows[start:]) == str(deep.resolve())


def test_the_config_needs_a_model() -> None:
    from m2vcli.errors import MissingValueError

    with pytest.raises(MissingValueError):
        InfoConfig()


@pytest.mark.subprocess
def test_info_imports_no_heavy_library(tiny_model_dir: Path) -> None:
    probe = (
        "import io, json, sys, contextlib\n"
        "from m2vcli.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['info', {str(tiny_model_dir)!r}])\n"
        "heavy = ['torch', 'transformers', 'sentence_transformers', 'mteb', 'sklearn', 'datasets']\n"
        "print(json.dumps([code, [name for name in heavy if name in sys.modules]]))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [0, []]
