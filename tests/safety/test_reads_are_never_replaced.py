"""An input is never replaced or deleted: no output may be, hold, or lie inside anything the command
reads (its data, its --config file, the model in use, the teacher, a word file, a corpus), whatever the
destination (a file, a folder replaced with --force, a file:// URI, standard output appended to)."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers import run_m2v


def digest(path: Path) -> str:
    """A hash of a file, or of every file under a folder (names and bytes)."""
    h = hashlib.sha256()
    for item in sorted([path] if path.is_file() else path.rglob("*")):
        if item.is_file():
            h.update(str(item.relative_to(path.parent)).encode() + item.read_bytes())
    return h.hexdigest()


def refused(args: list[str], kept: list[Path], message: str) -> None:
    before = {p: digest(p) for p in kept}
    ran = run_m2v(*args)
    err = ran.stderr.decode()
    assert ran.returncode == 1, err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert {p: digest(p) for p in kept} == before


def test_encode_never_writes_over_its_config_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("hello world\n")
    config = tmp_path / "enc.yaml"
    config.write_text(f"model: {tiny_model_dir}\ninput: {tmp_path / 'in.txt'}\nformat: npy\n")
    refused(["encode", "-c", str(config), "-o", str(config)], [config], "which this command reads")
    config.write_text(f"model: {tiny_model_dir}\ninput: {tmp_path / 'in.txt'}\noutput: {config}\nformat: npy\n")
    refused(["encode", "-c", str(config)], [config], "which this command reads")  # named in the file itself


@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json", "new.npy"])
def test_encode_never_writes_into_the_model_in_use(tiny_model_dir: Path, tmp_path: Path, name: str) -> None:
    (tmp_path / "in.txt").write_text("hello world\n")
    refused(
        ["encode", "-m", str(tiny_model_dir), str(tmp_path / "in.txt"), "-o", str(tiny_model_dir / name)],
        [tiny_model_dir],
        "is inside",
    )


def test_encode_appended_to_a_model_file_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    from m2vcli.encoding import EncodeConfig, encode_lines
    from m2vcli.errors import OutputError

    (tmp_path / "in.txt").write_text("hello world\n")
    before = digest(tiny_model_dir)
    with (tiny_model_dir / "model.safetensors").open("ab") as out, pytest.raises(OutputError, match="is inside"):
        encode_lines(EncodeConfig(model=str(tiny_model_dir), input=str(tmp_path / "in.txt"), format="npy"), stdout=out)
    assert digest(tiny_model_dir) == before


def test_a_ray_output_folder_never_holds_its_input_or_the_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("hello world\n")
    common = ["encode", "--engine", "ray", "-m", str(tiny_model_dir), "--force"]
    refused([*common, str(docs), "-o", str(docs)], [docs], "which this command reads")
    refused([*common, str(docs / "a.txt"), "-o", str(tmp_path)], [docs], "which this command reads")
    refused([*common, f"file://{docs}", "-o", f"file://{tmp_path}"], [docs], "which this command reads")
    refused([*common, str(docs), "-o", str(tiny_model_dir)], [tiny_model_dir], "which this command reads")


def test_a_save_path_never_replaces_the_teacher_a_word_file_or_the_corpus(
    tiny_teacher_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    teacher = tmp_path / "teacher"
    shutil.copytree(tiny_teacher_dir, teacher)
    refused(["distill", "-m", str(teacher), "-o", str(teacher), "--force"], [teacher], "which this command reads")
    words = tmp_path / "lists" / "words.txt"
    words.parent.mkdir()
    words.write_text("hello\n")
    refused(
        ["distill", "-m", str(teacher), "--vocabulary", str(words), "-o", str(words.parent), "--force"],
        [words],
        "which this command reads",
    )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "texts.txt").write_text("hello world\n" * 10)
    for command in (["distill", "-m", str(teacher)], ["refine", str(tiny_model_dir), "--teacher", str(teacher)]):
        refused([*command, "--corpus", str(corpus), "-o", str(corpus), "--force"], [corpus], "which this command reads")
    refused(
        ["refine", str(tiny_model_dir), "--teacher", str(teacher), "--corpus", str(corpus), "-o", str(teacher)],
        [teacher],
        "which this command reads",
    )


def test_a_bench_report_never_goes_into_a_model_it_times(tiny_model_dir: Path) -> None:
    refused(
        ["bench", "-m", str(tiny_model_dir), "--no-teacher", "--quick", "-o", str(tiny_model_dir / "config.json")],
        [tiny_model_dir],
        "which this command reads",
    )


def test_outputs_beside_the_inputs_are_still_fine(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("hello world\n")
    config = tmp_path / "enc.yaml"
    config.write_text(f"model: {tiny_model_dir}\n")
    ran = run_m2v("encode", "-c", str(config), str(tmp_path / "in.txt"), "-o", str(tmp_path / "out.npy"))
    assert ran.returncode == 0, ran.stderr.decode()
    assert sys.platform != "linux" or (tmp_path / "out.npy").stat().st_size > 128
