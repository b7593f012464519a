"""No half-written output on any destination, no lossy change, no misleading message: an appended file is
cut back to its length when a run fails halfway; a value float16 cannot hold is an error, not an infinity;
text from result files reaches the terminal printable in every table format; two model names never share
one results folder, and a name too long for a folder fails before any work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from m2vcli.model import StaticEmbedder
from tests.helpers import run_m2v, tiny_model, tiny_tokenizer


def _lines(n: int) -> str:
    return "".join(json.dumps({"text": f"hello world {i}"}) + "\n" for i in range(n))


@pytest.mark.parametrize("fmt", ["jsonl", "npy", "parquet"])
def test_an_appended_file_is_cut_back_when_the_run_fails_halfway(
    tiny_model_dir: Path, tmp_path: Path, fmt: str
) -> None:
    from m2vcli.encoding import EncodeConfig, encode_lines
    from m2vcli.errors import InputError

    source = tmp_path / "in.jsonl"
    source.write_text(_lines(20_000) + '{"text": null}\n')  # fails far past the first batch
    out = tmp_path / f"vectors.{fmt}"
    out.write_bytes(b"what was there before\n")
    config = EncodeConfig(model=str(tiny_model_dir), input=str(source), field="text", format=fmt)
    with out.open("ab") as handle, pytest.raises(InputError, match="line 20001"):
        encode_lines(config, stdout=handle)
    assert out.read_bytes() == b"what was there before\n"


def test_an_appended_file_keeps_the_vectors_of_a_run_that_succeeds(tiny_model_dir: Path, tmp_path: Path) -> None:
    from m2vcli.encoding import EncodeConfig, encode_lines

    source = tmp_path / "in.jsonl"
    source.write_text(_lines(3))
    out = tmp_path / "vectors.jsonl"
    out.write_bytes(b"[1.0]\n")
    with out.open("ab") as handle:
        config = EncodeConfig(model=str(tiny_model_dir), input=str(source), field="text", format="jsonl")
        encode_lines(config, stdout=handle)
    rows = out.read_text().splitlines()
    assert rows[0] == "[1.0]" and len(rows) == 4 and len(json.loads(rows[-1])) == 8


@pytest.fixture
def wide_model_dir(tmp_path: Path) -> Path:
    """A model whose vectors hold values beyond float16's range once averaged, not normalized."""
    model = tiny_model()
    table = model.embeddings.copy()
    table[model.tokenizer.token_to_id("dog")] = 1e6
    path = tmp_path / "wide"
    StaticEmbedder(table, tiny_tokenizer().to_str(), config={"normalize": False}).save_pretrained(path)
    return path


@pytest.mark.parametrize("fmt", ["npy", "jsonl", "safetensors", "parquet"])
def test_float16_output_never_turns_a_value_into_infinity(wide_model_dir: Path, tmp_path: Path, fmt: str) -> None:
    (tmp_path / "in.txt").write_text("hello\nthe dog\n")
    out = tmp_path / f"v.{fmt}"
    ran = run_m2v("encode", "-m", str(wide_model_dir), str(tmp_path / "in.txt"), "-o", str(out), "--dtype", "float16")
    err = ran.stderr.decode()
    assert ran.returncode == 1 and "vector 2 holds" in err and "float16" in err, err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    ran = run_m2v("encode", "-m", str(wide_model_dir), str(tmp_path / "in.txt"), "-o", str(out))  # float32 holds it
    assert ran.returncode == 0, ran.stderr.decode()


def test_float16_output_keeps_values_within_its_range(tiny_model_dir: Path, tmp_path: Path) -> None:
    from m2vcli.encoding.vector_io import VectorDType, narrowed

    values = np.array([[65504.0, -65504.0, 1e-3]], dtype=np.float32)
    assert np.array_equal(narrowed(values, VectorDType.float16), values.astype(np.float16))
    with pytest.raises(Exception, match="vector 8 holds 70000"):
        narrowed(np.array([[1.0], [70000.0]]), VectorDType.float16, first_row=6)
    infinite = np.array([[np.inf]])  # already infinite: not a narrowing (JSON lines refuses it on its own)
    assert np.isinf(narrowed(infinite, VectorDType.float16)).all()


def test_a_float16_model_never_holds_an_infinity() -> None:
    from m2vcli.errors import OutputError
    from m2vcli.model.quantization import Quantize, quantize

    with pytest.raises(OutputError, match="beyond float16's range"):
        quantize(np.array([[1.0, 1e5]], dtype=np.float32), Quantize.FLOAT16)
    table, scale = quantize(np.array([[1.0, 1e5]], dtype=np.float32), Quantize.INT8)
    assert scale is not None and table.max() == 127


def _result(folder: Path, model: str, task: str, score: float, category: str = "Classification") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"task_name": task, "m2v": {"model": model, "main_score": score, "category": category}}
    (folder / f"{task}.json").write_text(json.dumps(payload))


@pytest.mark.parametrize("fmt", ["markdown", "csv", "table"])
def test_terminal_escapes_from_result_files_never_reach_stdout(tmp_path: Path, fmt: str) -> None:
    evil = "m\x1b]0;owned\x07odel\x1b[2J\r"
    _result(tmp_path / "results" / "m", evil, "Task\x1b[31m", 0.5, category="Class\x1b[5m")  # a column name
    ran = run_m2v("leaderboard", str(tmp_path / "results"), "--format", fmt)
    out = ran.stdout.decode()
    assert ran.returncode == 0, ran.stderr.decode()
    assert "odel" in out and not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in out), repr(out)


def test_two_names_for_one_results_folder_are_refused_before_any_work(tiny_model_dir: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    _result(results / "org__model", "org/model", "Banking77Classification", 0.7)
    before = (results / "org__model" / "Banking77Classification.json").read_bytes()
    for args in (["--name", "org__model"], ["--name", "org__model", "--overwrite"]):
        common = ["-m", str(tiny_model_dir), "-o", str(results), "--tasks", "Banking77Classification"]
        ran = run_m2v("evaluate", *common, *args)
        err = ran.stderr.decode()
        assert ran.returncode == 1 and "holds the results of 'org/model'" in err, err
        assert len(err.strip().splitlines()) == 1
    assert (results / "org__model" / "Banking77Classification.json").read_bytes() == before


def test_the_same_name_may_add_to_its_own_folder(tiny_model_dir: Path, tmp_path: Path) -> None:
    from m2vcli.evaluation.runner import check_folder_owner

    results = tmp_path / "results"
    _result(results / "org__model", "org/model", "A", 0.7)
    check_folder_owner(results / "org__model", "org/model")  # no error
    (results / "junk").mkdir()
    (results / "junk" / "x.json").write_text("not json")
    check_folder_owner(results / "junk", "junk")  # unreadable results name no owner


@pytest.mark.parametrize("name", ["x" * 300, "é" * 200])
def test_a_name_too_long_for_a_folder_fails_in_one_line(tiny_model_dir: Path, tmp_path: Path, name: str) -> None:
    ran = run_m2v("evaluate", "-m", str(tiny_model_dir), "-o", str(tmp_path / "r"), "--name", name)
    err = ran.stderr.decode()
    assert ran.returncode == 1 and "at most 255 fit" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def test_force_on_a_uri_output_that_cannot_be_cleared_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyarrow.fs import FileInfo, FileType

    from m2vcli.encoding import ray_engine
    from m2vcli.errors import OutputError

    calls: list[str] = []

    class Stuck:  # an object store that lists the old output and refuses to delete it
        def get_file_info(self, path: str) -> FileInfo:
            return FileInfo(path, FileType.Directory)

        def delete_dir(self, path: str) -> None:
            raise OSError("permission denied")

        def create_dir(self, path: str, recursive: bool = True) -> None:
            calls.append("create")

    monkeypatch.setattr(ray_engine, "filesystem", lambda uri: (Stuck(), "bucket/vectors"))
    message = r"^cannot replace output s3://bucket/vectors \(--force\): permission denied$"
    with pytest.raises(OutputError, match=message):
        ray_engine._run_in_place("s3://bucket/vectors", lambda folder: calls.append("run"), force=True)
    assert calls == []  # no new shard beside the old ones
