"""Every value read from a file is checked, with a one-line error naming the file and the key; every read is
bounded; every output format stays valid. One test class per kind of file."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, get_type_hints

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.benchmark.settings import BenchConfig
from m2vcli.config import build_config, clip, describe_type, read_yaml
from m2vcli.distillation import DistillConfig
from m2vcli.encoding import EncodeConfig
from m2vcli.errors import ConfigError, InputError, M2VError, ModelFormatError, OutputError
from m2vcli.evaluation.leaderboard import (
    LeaderboardConfig,
    Row,
    TableFormat,
    make_leaderboard,
    parse_mteb_results,
    summarize_results,
)
from m2vcli.evaluation.runner import EvaluateConfig
from tests.helpers import tiny_model

CONFIGS = [EncodeConfig, DistillConfig, BenchConfig, EvaluateConfig, LeaderboardConfig]


def one_line(exc: pytest.ExceptionInfo[Any], limit: int = 400) -> str:
    message = str(exc.value)
    assert "\n" not in message and len(message) < limit, message
    return message


# ----- 1. config files ---------------------------------------------------------------------------------


def load(tmp_path: Path, text: str, cls: type = DistillConfig, **flags: Any) -> Any:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return build_config(cls, path, flags)


def config_error(tmp_path: Path, text: str, cls: type = DistillConfig) -> str:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text, cls)
    message = one_line(exc)
    assert str(tmp_path / "c.yaml") in message
    return message


def test_a_string_is_not_a_boolean(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'force: "false"\n')
    assert message == f"config file {tmp_path / 'c.yaml'}: force must be true or false, got 'false'"


@pytest.mark.parametrize(
    ("text", "cls", "expected"),
    [
        ("batch_size: true\n", DistillConfig, "batch_size must be a whole number, got True"),
        ("batch_size: 1.5\n", DistillConfig, "batch_size must be a whole number, got 1.5"),
        ("batch_size: 1e400\n", DistillConfig, "batch_size must be a whole number, got inf"),
        ("batch_size: '64'\n", DistillConfig, "batch_size must be a whole number, got '64'"),
        ("sif_coefficient: .nan\n", DistillConfig, "sif_coefficient must be a finite number or null, got nan"),
        ("sif_coefficient: -.inf\n", DistillConfig, "sif_coefficient must be a finite number or null, got -inf"),
        ("sif_coefficient: 1e400\n", DistillConfig, "sif_coefficient must be a finite number or null, got inf"),
        ("pca_dims: '128'\n", DistillConfig, "pca_dims must be a finite number or null, got '128'"),
        ("device: gpu\n", DistillConfig, "device must be one of auto, cpu, cuda, mps, got 'gpu'"),
        ("device: [cpu]\n", DistillConfig, "device must be one of auto, cpu, cuda, mps, got ['cpu']"),
        ("save_path: [a, b]\n", DistillConfig, "save_path must be a string or null, got ['a', 'b']"),
        (
            "model: {nested: {deeper: 1}}\n",
            DistillConfig,
            "model must be a string or null, got {'nested': {'deeper': 1}}",
        ),
        ("model: 2020-01-02\n", DistillConfig, "model must be a string or null, got datetime.date(2020, 1, 2)"),
        ("normalize: yes please\n", DistillConfig, "normalize must be true or false, got 'yes please'"),
        ("normalize: 1\n", EncodeConfig, "normalize must be true, false or null, got 1"),
        ("format: JSONL\n", EncodeConfig, "format must be npy, jsonl, safetensors, parquet or null, got 'JSONL'"),
        ("models: [a, 1]\n", BenchConfig, "models must be a list of strings, got ['a', 1]"),
        ("models: {a: b}\n", BenchConfig, "models must be a list of strings, got {'a': 'b'}"),
        ("cold_start: 'no'\n", BenchConfig, "cold_start must be true, false or null, got 'no'"),
        ("overwrite: null\n", EvaluateConfig, "overwrite must be true or false, got None"),
        ("results: 5\n", LeaderboardConfig, "results must be a list of strings, got 5"),
    ],
)
def test_file_values_are_checked_against_the_field_types(tmp_path: Path, text: str, cls: type, expected: str) -> None:
    assert config_error(tmp_path, text, cls).endswith(expected)


def test_values_of_the_right_type_pass_and_are_converted(tmp_path: Path) -> None:
    cfg = load(tmp_path, "sif_coefficient: 1e-4\npca_dims: none\ndevice: cpu\nbatch_size: 8\nmodel: 模型\n")
    assert cfg.sif_coefficient == pytest.approx(1e-4) and cfg.pca_dims is None and cfg.batch_size == 8
    assert cfg.device.value == "cpu" and cfg.model == "模型"
    assert load(tmp_path, "pca_dims: 0.5\n").pca_dims == 0.5
    assert load(tmp_path, "models: one\n", BenchConfig).models == ("one",)  # one string: a list of one
    assert load(tmp_path, "models: [a, b]\n", BenchConfig).models == ("a", "b")
    assert load(tmp_path, "results: [r]\nformat: csv\n", LeaderboardConfig).format is TableFormat.CSV


def test_flags_beat_the_file_and_range_errors_name_it(tmp_path: Path) -> None:
    assert load(tmp_path, "batch_size: 8\n", DistillConfig, batch_size=16).batch_size == 16
    with pytest.raises(ConfigError, match="batch_size must be a whole number, got True"):
        load(tmp_path, "batch_size: true\n", DistillConfig, batch_size=16)  # the file is wrong, even if overridden
    message = config_error(tmp_path, "batch_size: 0\n")
    assert message == f"config file {tmp_path / 'c.yaml'}: batch_size must be at least 1, got 0"


def test_flag_does_not_hide_a_bad_file_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="force must be true or false"):
        load(tmp_path, "force: 'yes'\nbatch_size: 4\n", DistillConfig, batch_size=16)


def test_every_config_field_has_a_checked_type() -> None:
    for cls in CONFIGS:
        for name, hint in get_type_hints(cls).items():
            assert describe_type(hint), (cls, name)


def test_a_long_value_is_cut_in_the_message(tmp_path: Path) -> None:
    message = config_error(tmp_path, f"force: {'x' * 100_000}\n")
    assert len(message) < 250 and "..." in message
    assert clip(10**5000) == "a whole number with about 5001 digits"
    assert len(clip(list(range(10_000)))) <= 80 and len(clip({"k": "v" * 1000})) <= 80


@pytest.mark.parametrize(
    "text",
    [
        "force: &flag true\nnormalize: *flag\n",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b]\n",
        "base: &base {batch_size: 8}\n<<: *base\n",
    ],
)
def test_yaml_aliases_are_refused(tmp_path: Path, text: str) -> None:
    message = config_error(tmp_path, text)
    assert "YAML aliases (*" in message and "are not allowed; write the value out" in message
    assert " line 2: " in message


def test_yaml_bombs_size_and_nesting(tmp_path: Path) -> None:
    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    )
    assert "YAML aliases" in config_error(tmp_path, laughs)
    assert "more than the 4.0 MB limit" in config_error(tmp_path, "# " + "x" * (4 * 1024**2) + "\n")
    assert "nested too deeply" in config_error(tmp_path, "model: " + "[" * 20_000 + "]" * 20_000 + "\n")
    assert "YAML cannot read" in config_error(tmp_path, f"batch_size: {'9' * 5000}\n")
    assert "is given twice" in config_error(tmp_path, "batch_size: 1\nbatch_size: 2\n")
    assert "is given twice" in config_error(tmp_path, "batch_size: 1\nbatch-size: 2\n")
    (tmp_path / "c.yaml").write_bytes(b"model: \xff\n")
    with pytest.raises(ConfigError, match="line 1 is not valid UTF-8"):
        build_config(DistillConfig, tmp_path / "c.yaml", {})
    with pytest.raises(ConfigError, match="is a directory"):
        read_yaml(tmp_path)


# ----- 2. task files -----------------------------------------------------------------------------------


def write_task(tmp_path: Path, entry: str, data: str = "t,l\nhello,a\nworld,b\n", name: str = "data.csv") -> Path:
    (tmp_path / name).write_text(data, encoding="utf-8")
    path = tmp_path / "tasks.yaml"
    path.write_text("tasks:\n  - " + entry.strip().replace("\n", "\n    ") + "\n", encoding="utf-8")
    return path


def task_error(tmp_path: Path, entry: str, **kwargs: str) -> str:
    from m2vcli.evaluation.tasks.user import load_task_file

    path = write_task(tmp_path, entry, **kwargs)
    with pytest.raises(M2VError) as exc:
        load_task_file(path)
    return one_line(exc)


CLUSTER = "type: clustering\npath: data.csv\ncolumns: {text: t, label: l}"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("name: ''\n" + CLUSTER, "name must be a non-empty string, got ''"),
        ("name: [a]\n" + CLUSTER, "name must be a non-empty string, got ['a']"),
        ("name: 12\n" + CLUSTER, "name must be a non-empty string, got 12"),
        ("name: ../evil\n" + CLUSTER, "name must be a name without path separators or control characters"),
        ("name: 'a\\b'\n" + CLUSTER, "name must be a name without path separators"),
        ('name: "a\\0b"\n' + CLUSTER, "name must be a name without path separators or control characters"),
        ('name: "two\\nlines"\n' + CLUSTER, "name must be a name without path separators or control characters"),
        ("name: '..'\n" + CLUSTER, "name must be a name without path separators"),
        (f"name: {'é' * 150}\n" + CLUSTER, "name must be at most 200 bytes long"),
        ("name: T\ntype: [clustering]\npath: data.csv\ncolumns: {text: t, label: l}", "type must be one of"),
        ("name: T\ntype: clustering\npath: 5\ncolumns: {text: t, label: l}", "path must be a file path"),
        ("name: T\ntype: clustering\npath: {a: b}\ncolumns: {text: t, label: l}", "path must be a file path"),
        ("name: T\ntype: clustering\npath: data.csv\ncolumns: [t, l]", "columns must be a mapping of text, label"),
        ("name: T\ntype: clustering\npath: data.csv\ncolumns: {text: 1, label: l}", "columns.text must be a column"),
        ("name: T\ntype: clustering\npath: data.csv\ncolumns: {text: t, label: l, score: s}", "columns has 'score'"),
        ("name: T\n" + CLUSTER + "\ntest_share: 1", "test_share must be a number between 0 and 1 (exclusive), got 1"),
        ("name: T\n" + CLUSTER + "\ntest_share: 0", "test_share must be a number between 0 and 1"),
        ("name: T\n" + CLUSTER + "\ntest_share: '0.2'", "test_share must be a number between 0 and 1"),
        ("name: T\n" + CLUSTER + "\ntest_share: true", "test_share must be a number between 0 and 1"),
        ("name: T\n" + CLUSTER + "\ntest_share: .nan", "test_share must be a number between 0 and 1"),
        (
            "name: T\n" + CLUSTER + "\ntest_share: 1e400",
            "test_share must be a number between 0 and 1 (exclusive), got inf",
        ),
        ("name: T\n" + CLUSTER + "\nseed: 1.5", "seed must be a whole number between 0 and 4294967295, got 1.5"),
        ("name: T\n" + CLUSTER + "\nseed: true", "seed must be a whole number"),
        ("name: T\n" + CLUSTER + "\nseed: '42'", "seed must be a whole number"),
        ("name: T\n" + CLUSTER + "\nseed: -1", "seed must be a whole number"),
        ("name: T\n" + CLUSTER + f"\nseed: {10**40}", "seed must be a whole number"),
        ("name: T\n" + CLUSTER + "\nsplit_column: 3", "split_column must be a column name"),
    ],
)
def test_task_entry_values_are_checked(tmp_path: Path, entry: str, expected: str) -> None:
    message = task_error(tmp_path, entry)
    assert f"{tmp_path / 'tasks.yaml'} line 2: " in message and expected in message


def test_task_file_structure(tmp_path: Path) -> None:
    from m2vcli.evaluation.tasks.user import load_task_file

    entry = "name: T\n" + CLUSTER
    path = write_task(tmp_path, entry)
    path.write_text(
        path.read_text() + "  - name: T\n    type: clustering\n    path: data.csv\n    columns: {text: t, label: l}\n"
    )
    with pytest.raises(ConfigError, match=r"line 6: the name 'T' is already used by the task at line 2"):
        load_task_file(path)
    path.write_text(
        "tasks:\n  - &one {name: T, type: clustering, path: data.csv, columns: {text: t, label: l}}\n  - *one\n"
    )
    with pytest.raises(ConfigError, match=r"line 3: YAML aliases \(\*one\) are not allowed"):
        load_task_file(path)
    path.write_text("tasks: []\n")
    with pytest.raises(ConfigError, match="must hold a 'tasks' list"):
        load_task_file(path)
    path.write_text("tasks:\n  - {name: T, type: clustering, path: data.csv, columns: {text: t, label: l}}\ntask: 1\n")
    with pytest.raises(ConfigError, match="unknown key 'task'"):
        load_task_file(path)


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        (
            "text-similarity",
            "a,b,s\nx,y,0.5\nx,z,nan\n",
            "line 3, column 's': a score must be a finite number, got 'nan'",
        ),
        ("text-similarity", "a,b,s\nx,y,inf\n", "line 2, column 's': a score must be a finite number, got 'inf'"),
        ("text-similarity", "a,b,s\nx,y,1e400\n", "a score must be a finite number, got '1e400'"),
        ("text-similarity", "a,b,s\nx,y,high\n", "a score must be a finite number, got 'high'"),
        ("text-similarity", "a,b,s\nx,y,\n", "a score must be a finite number, got ''"),
        (
            "word-similarity",
            '{"a": "x", "b": "y", "s": true}\n',
            "line 1, column 's': a score must be a finite number, got True",
        ),
        ("word-similarity", '{"a": "x", "b": "y", "s": NaN}\n', "a score must be a finite number, got nan"),
        ("word-similarity", '{"a": "x", "b": "y", "s": [1]}\n', "a score must be a finite number, got [1]"),
        ("word-similarity", '{"a": 5, "b": "y", "s": 1}\n', "column 'a': a text1 must be a string, got 5"),
        ("word-similarity", '{"a": "x", "b": "y", "s": 1}\n[1, 2]\n', "line 2 is not a JSON object (got list)"),
        ("word-similarity", '{"a": "x", "b": "y", "s": 1}\n"text"\n', "line 2 is not a JSON object (got str)"),
        ("word-similarity", '{"a": "x", "b": "y", "s": 1}\n{"a":\n', "line 2 is not valid JSON"),
        (
            "pair-classification",
            "a,b,s\nx,y,1\nx,z,2\n",
            "line 3, column 's': a pair-classification label must be 0 or 1",
        ),
        ("pair-classification", "a,b,s\nx,y,1\nx,z,yes\n", "a pair-classification label must be 0 or 1, got 'yes'"),
        ("pair-classification", '{"a": "x", "b": "y", "s": true}\n', "label must be 0 or 1, got True"),
        ("pair-classification", '{"a": "x", "b": "y", "s": 0.5}\n', "label must be 0 or 1, got 0.5"),
        ("pair-classification", "a,b,s\nx,y,1\nx,z,1\n", "needs both labels, 0 and 1"),
    ],
)
def test_data_values_are_checked_by_row_and_column(tmp_path: Path, kind: str, data: str, expected: str) -> None:
    name = "data.jsonl" if data.startswith(("{", "[")) else "data.csv"
    role = "score" if "similarity" in kind else "label"
    entry = f"name: T\ntype: {kind}\npath: {name}\ncolumns: {{text1: a, text2: b, {role}: s}}"
    message = task_error(tmp_path, entry, data=data, name=name)
    assert expected in message and str(tmp_path / name) in message


def test_label_text_and_split_checks(tmp_path: Path) -> None:
    jsonl = '{"t": "x", "l": 1.5}\n{"t": "y", "l": "b"}\n'
    entry = "name: T\ntype: classification\npath: data.jsonl\ncolumns: {text: t, label: l}"
    assert "a label must be a string or a whole number, got 1.5" in task_error(
        tmp_path, entry, data=jsonl, name="data.jsonl"
    )
    jsonl = '{"t": {"nested": "x"}, "l": "a"}\n'
    assert "a text must be a string, got {'nested': 'x'}" in task_error(tmp_path, entry, data=jsonl, name="data.jsonl")
    entry = "name: T\ntype: classification\npath: data.csv\ncolumns: {text: t, label: l}\nsplit_column: part"
    assert "split_column 'part' is not in" in task_error(tmp_path, entry)
    data = "t,l,part\nhello,a,train\nworld,b,train\n"
    assert "needs rows marked train and rows marked test" in task_error(tmp_path, entry, data=data)


def test_data_files_are_bounded_and_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from m2vcli.evaluation.tasks import user

    monkeypatch.setattr(user, "MAX_DATA_BYTES", 64)
    entry = "name: T\n" + CLUSTER
    message = task_error(tmp_path, entry, data="t,l\n" + "hello,a\nworld,b\n" * 10)
    assert "task data file" in message and "more than the 0.0 MB limit" in message, message
    monkeypatch.undo()
    assert "is binary" in task_error(tmp_path, entry, data="t,l\nhel\x00lo,a\nworld,b\n")
    big = "t,l\n" + "x" * 200_000 + ",a\nworld,b\n"  # a field past the csv module's limit: read, as by encode
    from m2vcli.evaluation.tasks.user import load_task_file

    (task,) = load_task_file(write_task(tmp_path, entry, data=big))
    assert task.metadata.name == "T"


def test_a_data_file_is_read_once_and_good_values_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from m2vcli.evaluation.tasks import user

    reads: list[Path] = []
    real = user.read_rows
    monkeypatch.setattr(user, "read_rows", lambda path: reads.append(path) or real(path))
    (tmp_path / "data.csv").write_text("a,b,s,l\nx,y,0.5,1\nx,z,1e-3,0\nx,w, 2 ,1\n")
    (tmp_path / "tasks.yaml").write_text(
        "tasks:\n"
        "  - {name: Sim, type: text-similarity, path: data.csv, columns: {text1: a, text2: b, score: s}}\n"
        "  - {name: Pair, type: pair-classification, path: data.csv, columns: {text1: a, text2: b, label: l}}\n"
    )
    tasks = user.load_task_file(tmp_path / "tasks.yaml")
    assert len(tasks) == 2 and reads == [(tmp_path / "data.csv").resolve()]


# ----- 3. model folders --------------------------------------------------------------------------------


def load_error(folder: Path, match: str) -> str:
    with pytest.raises(ModelFormatError, match=match) as exc:
        StaticEmbedder.from_pretrained(folder)
    return one_line(exc)


def edit_config(folder: Path, **values: Any) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(values)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("normalize", "false", "normalize must be true or false, got 'false'"),
        ("normalize", 0, "normalize must be true or false, got 0"),
        ("max_length", -1, "max_length must be a whole number of at least 0, or null, got -1"),
        ("max_length", 1.5, "max_length must be a whole number"),
        ("max_length", True, "max_length must be a whole number"),
        ("max_length", "512", "max_length must be a whole number"),
        ("hidden_dim", "8", "hidden_dim must be a whole number of at least 1, got '8'"),
        ("hidden_dim", [8], "hidden_dim must be a whole number"),
        ("embedding_scale", 0, "embedding_scale must be a finite number above 0, got 0"),
        ("embedding_scale", -2.0, "embedding_scale must be a finite number above 0"),
        ("embedding_scale", float("nan"), "embedding_scale must be a finite number above 0, got nan"),
        (
            "embedding_scale",
            10**400,
            "embedding_scale must be a finite number above 0, got a whole number with about 401 digits",
        ),
        ("embedding_scale", "1", "embedding_scale must be a finite number above 0, got '1'"),
        ("embedding_dtype", {"x": 1}, "embedding_dtype must be a string"),
    ],
)
def test_config_json_values_are_checked(tiny_model_dir: Path, key: str, value: Any, expected: str) -> None:
    edit_config(tiny_model_dir, **{key: value})
    message = load_error(tiny_model_dir, "config.json")
    assert expected in message and str(tiny_model_dir / "config.json") in message


def test_config_json_infinity_and_shape(tiny_model_dir: Path) -> None:
    path = tiny_model_dir / "config.json"
    path.write_text(path.read_text().replace('"normalize"', '"embedding_scale": 1e400, "normalize"'))
    load_error(tiny_model_dir, "embedding_scale must be a finite number above 0, got inf")
    path.write_text("[1, 2]")
    load_error(tiny_model_dir, "config.json must hold a JSON object, got list")
    path.write_text('{"normalize": ')
    load_error(tiny_model_dir, r"config.json is not valid JSON \(Expecting value")
    path.write_text("[" * 100_000 + "]" * 100_000)
    load_error(tiny_model_dir, "not valid JSON")


def test_json_files_are_bounded(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from m2vcli.model import folder, persistence

    monkeypatch.setattr(folder, "MAX_JSON_BYTES", 10)
    load_error(tiny_model_dir, r"config.json is .* more than the 0.0 MB limit")
    monkeypatch.setattr(folder, "MAX_JSON_BYTES", 10**6)
    monkeypatch.setattr(persistence, "MAX_TOKENIZER_BYTES", 10)
    load_error(tiny_model_dir, "tokenizer file .* more than")


@pytest.mark.parametrize(
    ("modules", "expected"),
    [
        ({"type": "Normalize"}, "modules.json must hold a JSON list of objects"),
        (["Normalize"], "modules.json must hold a JSON list of objects"),
        ([{"type": 5}], "modules.json: module 0 has a type that is not a string: 5"),
    ],
)
def test_modules_json_is_a_list_of_objects(tiny_model_dir: Path, modules: Any, expected: str) -> None:
    config = json.loads((tiny_model_dir / "config.json").read_text())
    del config["normalize"]
    (tiny_model_dir / "config.json").write_text(json.dumps(config))
    (tiny_model_dir / "modules.json").write_text(json.dumps(modules))
    load_error(tiny_model_dir, expected)


def save_tensors(folder: Path, **tensors: np.ndarray) -> None:
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(folder / "model.safetensors"))


def embeddings(rows: int = 44, dim: int = 8, dtype: Any = np.float32) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(rows, dim)).astype(dtype)


def with_value(array: np.ndarray, row: int, value: float) -> np.ndarray:
    array = array.copy()
    array[row, 3] = value
    return array


@pytest.mark.parametrize(
    ("tensors", "expected"),
    [
        (
            {"embeddings": with_value(embeddings(), 7, np.nan)},
            "'embeddings' holds NaN or infinite values (first at row 7)",
        ),
        (
            {"embeddings": with_value(embeddings(), 0, np.inf)},
            "'embeddings' holds NaN or infinite values (first at row 0)",
        ),
        ({"embeddings": with_value(embeddings(dtype=np.float16), 43, -np.inf)}, "(first at row 43)"),
        ({"embeddings": with_value(embeddings(dtype=np.float64), 2, np.nan)}, "holds NaN or infinite values"),
        ({"embeddings": embeddings()[0]}, "'embeddings' must be 2-D and non-empty, got shape (8,)"),
        ({"embeddings": embeddings()[:0]}, "must be 2-D and non-empty, got shape (0, 8)"),
        ({"embeddings": embeddings().astype(np.int32)}, "'embeddings' is int32; supported: float32, float16"),
        ({"embeddings": embeddings() > 0}, "'embeddings' is bool"),
        ({"embeddings": embeddings(), "weights": np.ones((44, 1), np.float32)}, "'weights' must be 1-D numbers"),
        ({"embeddings": embeddings(), "weights": np.full(44, np.nan, np.float32)}, "'weights' holds NaN"),
        ({"embeddings": embeddings(), "weights": np.ones(44, bool)}, "'weights' must be 1-D numbers"),
        ({"embeddings": embeddings(4), "mapping": np.zeros(44, np.float32)}, "'mapping' must be 1-D whole numbers"),
        ({"embeddings": embeddings(4), "mapping": np.full(44, 4, np.int64)}, "points outside the 4 embedding rows"),
        ({"embeddings": embeddings(4), "mapping": np.full(44, -1, np.int32)}, "from -1 to -1"),
    ],
)
def test_broken_tensors_are_refused(tiny_model_dir: Path, tensors: dict[str, np.ndarray], expected: str) -> None:
    save_tensors(tiny_model_dir, **tensors)
    message = load_error(tiny_model_dir, "model.safetensors")
    assert expected in message


def test_tokenizer_json_must_parse(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "tokenizer.json").write_text("{}")
    load_error(tiny_model_dir, "tokenizer.json is not a valid tokenizer.json")
    (tiny_model_dir / "tokenizer.json").write_text("[1, 2")
    load_error(tiny_model_dir, "tokenizer.json is not a valid tokenizer.json")


def test_models_built_in_memory_get_the_same_checks() -> None:
    model = tiny_model()
    table = with_value(model.embeddings, 5, np.nan)
    with pytest.raises(ModelFormatError, match="the model: the tensor 'embeddings' holds NaN"):
        StaticEmbedder(table, model.tokenizer_json)
    with pytest.raises(ModelFormatError, match="normalize must be true or false, got 'false'"):
        StaticEmbedder(model.embeddings, model.tokenizer_json, config={"normalize": "false"})
    int8 = np.full(model.embeddings.shape, 127, np.int8)
    with pytest.raises(ModelFormatError, match="overflow float32"):
        StaticEmbedder(int8, model.tokenizer_json, config={"embedding_scale": 1e38})
    with pytest.raises(ModelFormatError, match="overflow float32"):
        StaticEmbedder(model.embeddings.astype(np.float64) * 1e300, model.tokenizer_json)
    ok = StaticEmbedder(model.embeddings, model.tokenizer_json, config={"embedding_scale": np.float32(0.5)})
    assert np.allclose(ok.encode("hello"), 0.5 * model.encode("hello"))


def test_all_finite_matches_numpy() -> None:
    from m2vcli.model.persistence import all_finite

    rng = np.random.default_rng(1)
    for dtype in (np.float16, np.float32, np.float64):
        for bad in (None, np.nan, np.inf, -np.inf):
            array = rng.normal(size=(300, 7)).astype(dtype)
            if bad is not None:
                array[rng.integers(300), rng.integers(7)] = bad
            for view in (array, array[::3], array.T, array[:, 2]):
                assert all_finite(view, chunk_rows=16) == bool(np.isfinite(view).all())
    assert all_finite(np.array([np.finfo(np.float16).max], np.float16))
    assert all_finite(np.arange(5))


def test_bench_reports_a_broken_model_and_goes_on(tiny_model_dir: Path, tmp_path: Path) -> None:
    from m2vcli.adapters import Encoder
    from m2vcli.benchmark.runner import run_bench
    from m2vcli.benchmark.targets import Target

    broken = tmp_path / "broken"
    tiny_model().save_pretrained(broken)
    save_tensors(broken, embeddings=with_value(embeddings(), 1, np.nan))
    targets = [Target("broken", broken, Encoder.STATIC), Target("good", tiny_model_dir, Encoder.STATIC)]
    cfg = BenchConfig(quick=True, repeats=1, latency_calls=2, batch_size=4, cold_start=False)
    report = run_bench(cfg, targets, ["hello world", "the cat sat"] * 4)
    bad, good = report.models
    assert bad.error and "holds NaN or infinite values" in bad.error and not bad.sentences_per_s
    assert good.error is None and good.sentences_per_s["median"] > 0


# ----- 4. word lists -----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", ["nan", "NaN", "inf", "-inf", "Infinity", "-1", "-0.5", "1e400"])
def test_word_counts_must_be_finite_and_not_negative(tmp_path: Path, count: str) -> None:
    from m2vcli.distillation.wordlists import read_word_file

    path = tmp_path / "words.txt"
    path.write_text(f"cat\t10\ndog\t{count}\n")
    with pytest.raises(InputError) as exc:
        read_word_file(path)
    assert one_line(exc) == f"vocabulary file {path} line 2: count {count!r} must be a finite number of at least 0"


def test_word_counts_other_cases(tmp_path: Path) -> None:
    from m2vcli.distillation.wordlists import read_word_file

    path = tmp_path / "words.txt"
    path.write_text("cat\t1e308\ndog\t1e308\n")
    with pytest.raises(InputError, match="add up to more than a float can hold"):
        read_word_file(path)
    path.write_text(f"cat\t{'9' * 500}x\n")
    with pytest.raises(InputError) as exc:
        read_word_file(path)
    assert "is not a number" in one_line(exc, 250)
    path.write_text("cat\t3\ndog\t0\nbird\t1.5e2\n")
    assert read_word_file(path).frequencies == pytest.approx([3 / 153, 0, 150 / 153])


# ----- 5. outputs --------------------------------------------------------------------------------------


def test_jsonl_vectors_never_hold_nan() -> None:
    from m2vcli.encoding.vector_io import JsonlWriter

    stream = io.BytesIO()
    writer = JsonlWriter(stream, dim=2)
    writer.write(np.array([[0.5, -1.0], [1e-30, 3.0]], np.float32))
    with pytest.raises(OutputError) as exc:
        writer.write(np.array([[0.0, 1.0], [np.inf, 0.0]], np.float32))
    assert one_line(exc) == "vector 4 holds NaN or infinity, which JSON lines cannot hold"
    with pytest.raises(OutputError, match="vector 3 holds NaN"):
        writer.write(np.array([[np.nan, 1.0]], np.float32))

    def strict(name: str) -> None:
        raise AssertionError(name)

    lines = stream.getvalue().decode().splitlines()
    assert [json.loads(line, parse_constant=strict) for line in lines] == [[0.5, -1.0], [pytest.approx(1e-30), 3.0]]


def result_file(folder: Path, name: str, block: dict[str, Any]) -> None:
    (folder / f"{name}.json").write_text(json.dumps({"task_name": name, "m2v": block}))


@pytest.mark.parametrize(
    "score", ["0.5", "nan", float("nan"), float("inf"), 1e308, True, [0.5], {"v": 1}, None, "x" * 10_000]
)
def test_results_with_a_bad_main_score_are_skipped(tmp_path: Path, score: Any) -> None:
    result_file(tmp_path, "good", {"model": "m", "category": "Class", "main_score": 0.5})
    result_file(tmp_path, "bad", {"model": "m", "category": "STS", "main_score": score})
    warnings: list[str] = []
    scores, _ = parse_mteb_results(sorted(tmp_path.glob("*.json")), warnings.append)
    assert scores == {"m": {"Class": {"good": 50.0}}}
    assert len(warnings) == 1 and "bad.json" in warnings[0] and len(warnings[0]) < len(str(tmp_path)) + 200
    assert "\n" not in warnings[0]


def test_results_with_bad_names_and_bench_rows(tmp_path: Path) -> None:
    result_file(tmp_path, "a", {"model": ["m"], "category": "Class", "main_score": 0.5})
    result_file(tmp_path, "b", {"model": "m", "category": "C" * 5000, "main_score": 0.5, "parameters": "many"})
    bench = {
        "machine": {},
        "models": [
            {"name": "m", "sentences_per_s": {"median": "fast"}},
            {"name": "n" * 10_000, "sentences_per_s": {"median": float("nan")}},
            {"name": "failed", "error": "could not load", "sentences_per_s": {}},
        ],
    }
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    warnings: list[str] = []
    scores, speeds = parse_mteb_results(sorted(tmp_path.glob("*.json")), warnings.append)
    assert list(scores) == ["m"] and speeds["params:m"] is None
    assert len(warnings) == 3 and all(len(w) < len(str(tmp_path)) + 250 for w in warnings)
    (row,) = summarize_results(scores, speeds)
    assert row.sentences_per_s is None and row.parameters is None


def rows_for_output() -> list[Row]:
    evil = Row(model='=HYPERLINK("http://x")|two\nlines', scores={"STS": float("nan"), "@cmd": 1.0})
    evil.avg_all, evil.avg_mteb, evil.covers = float("nan"), float("inf"), ["STS", "@cmd"]
    plain = Row(model="-model", scores={"STS": -0.5}, avg_all=-0.5, covers=["STS"])
    return [evil, plain]


def test_leaderboard_json_has_no_nan() -> None:
    text = make_leaderboard(rows_for_output(), TableFormat.JSON)
    data = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert data[0]["avg_all"] is None and data[0]["avg_mteb"] is None and data[0]["scores"]["STS"] is None
    assert data[1]["avg_all"] == -0.5


def test_leaderboard_csv_cells_are_safe_for_spreadsheets() -> None:
    text = make_leaderboard(rows_for_output(), TableFormat.CSV)
    header, evil, plain = list(csv.reader(io.StringIO(text)))
    assert "'@cmd" in header
    assert evil[0] == '\'=HYPERLINK("http://x")|two lines' and plain[0] == "'-model"  # one printable line
    assert plain[header.index("Avg (All)")] == "-0.50"  # a number we formatted stays a number
    assert evil[header.index("Covers")] == "STS, @cmd"  # does not start with a formula character
    for cell in (c for line in (evil, plain) for c in line):
        assert not cell.startswith(("=", "+", "@", "\t", "\r")) and (
            not cell.startswith("-") or cell[1:2].isdigit() or cell == "-"
        )


def test_leaderboard_markdown_cells_stay_in_their_cell() -> None:
    lines = make_leaderboard(rows_for_output(), TableFormat.MARKDOWN).splitlines()
    assert len(lines) == 4  # header, rule, two rows: no line break from the model name
    assert len({line.replace("\\|", "").count("|") for line in lines}) == 1
    assert '=HYPERLINK("http://x")\\|two lines' in lines[2]


def test_clip_is_bounded_for_every_kind_of_value() -> None:
    for value in ("é" * 1000, b"x" * 1000, list(range(1000)), {str(i): i for i in range(1000)}, 1e400, math.nan, None):
        assert len(clip(value)) <= 80
