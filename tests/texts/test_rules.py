"""One input layer: the same input gives the same texts, or the same one-line error, in every command that
reads texts (encode, a refinement corpus, bench's corpus, evaluate's task files)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from m2vcli.benchmark.runner import read_corpus as bench_corpus
from m2vcli.errors import InputError
from m2vcli.evaluation.tasks.user import read_rows
from m2vcli.refinement import read_corpus
from m2vcli.texts import InputFormat, ReadSettings, list_inputs, read_chunks
from m2vcli.texts import lines as lines_module
from m2vcli.texts import records as records_module


def encode_texts(path: Path, field: str = "text") -> list[str]:
    """The texts ``m2v encode`` reads from ``path`` (its format from the extension)."""
    fmt = InputFormat.from_suffix(path.name) or InputFormat.text
    settings = ReadSettings(format=fmt, field=field, name=f"input {path}")
    with path.open("rb") as stream:
        return [text for chunk in read_chunks(stream, settings) for text in chunk.texts]


def corpus_texts(path: Path, field: str = "text") -> list[str]:
    return read_corpus(str(path), field=field).texts


def error_of(call: object, *args: object) -> str:
    with pytest.raises(InputError) as caught:
        call(*args)  # type: ignore[operator]
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_csv_field_past_the_csv_modules_limit_is_read_by_every_command(tmp_path: Path) -> None:
    long = "word " * 40_000  # 200 KB, past csv.field_size_limit()'s 131,072
    path = tmp_path / "big.csv"
    path.write_text(f"text,label\n{long},a\nshort,b\n")
    assert encode_texts(path) == [long, "short"]
    assert corpus_texts(path) == [long.strip(), "short"]
    assert [row["text"] for _, row in read_rows(path)] == [long, "short"]


def test_a_deeply_nested_json_line_is_one_line_in_every_command(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "fine"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    expected = f"{path} line 2 is a JSON array"
    assert expected in error_of(encode_texts, path)
    assert expected in error_of(corpus_texts, path)
    assert expected in error_of(read_rows, path)
    path.write_text('{"text": "fine"}\n{"a": ' * 1 + '{"b": ' * 100_000 + "1" + "}" * 100_001 + "\n")
    expected = f"{path} line 2 is not valid JSON (nested too deeply)"
    assert error_of(encode_texts, path).endswith(expected)
    assert error_of(corpus_texts, path).endswith(expected)
    assert error_of(read_rows, path).endswith(expected)


def test_a_short_csv_row_is_refused_by_every_command(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("id,text\n1,first\n2\n3,third\n")
    expected = f"{path} line 3 has 1 columns; the header names 2"
    assert error_of(encode_texts, path).endswith(expected)
    assert error_of(corpus_texts, path).endswith(expected)
    assert error_of(read_rows, path).endswith(expected)
    assert error_of(bench_corpus, str(path)).endswith(expected)


def test_a_null_or_a_number_in_the_text_field_is_refused_by_every_command(tmp_path: Path) -> None:
    path = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"text": ["a", None, "c"]}), path)
    expected = f"{path} row 2: 'text' holds null, not text"
    assert error_of(encode_texts, path).endswith(expected)
    assert error_of(corpus_texts, path).endswith(expected)
    path = tmp_path / "values.jsonl"
    path.write_text('{"text": "a"}\n{"text": null}\n')
    assert error_of(encode_texts, path).endswith(f"{path} line 2: 'text' holds null, not text")
    assert error_of(corpus_texts, path).endswith(f"{path} line 2: 'text' holds null, not text")
    path.write_text('{"text": "a"}\n{"text": 7}\n')
    assert error_of(corpus_texts, path).endswith(f"{path} line 2: 'text' holds int, not text")


def test_a_json_file_is_json_lines_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "docs.json"
    path.write_text('{"text": "first doc", "n": 1}\n{"text": "second doc", "n": 2}\n')
    assert encode_texts(path) == ["first doc", "second doc"]
    assert corpus_texts(path) == ["first doc", "second doc"]  # not the raw JSON lines as texts
    assert bench_corpus(str(path)) == ["first doc", "second doc"]
    assert [row["n"] for _, row in read_rows(path)] == [1, 2]
    path.write_text('[\n  {"text": "a"}\n]\n')  # a JSON array is named, with the way to convert it
    assert "line 1 is a JSON array; m2v reads JSON lines, one object per line" in error_of(corpus_texts, path)


def test_blank_lines_keep_plain_text_rows_and_hold_no_record_elsewhere(tmp_path: Path) -> None:
    text = tmp_path / "a.txt"
    text.write_text("one\n\n  \nfour\n")
    assert encode_texts(text) == ["one", "", "  ", "four"]  # a row per line: vectors stay aligned
    assert corpus_texts(text) == ["one", "four"] == bench_corpus(str(text))
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"text": "one"}\n\n{"text": "  "}\n{"text": "four"}\n')
    settings = ReadSettings(format=InputFormat.jsonl)
    chunks = list(read_chunks(io.BytesIO(jsonl.read_bytes()), settings))
    assert chunks[0].texts == ["one", "  ", "four"] and chunks[0].positions == [0, 2, 3]
    assert corpus_texts(jsonl) == ["one", "four"]


def test_a_nul_byte_means_binary_in_every_format(tmp_path: Path) -> None:
    for name, data in [
        ("a.txt", b"fine\nbin\x00ary\n"),
        ("a.jsonl", b'{"text": "fine"}\n{"text": "bin\x00ary"}\n'),
        ("a.csv", b"text\nfine\nbin\x00ary\n"),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        line = 3 if name == "a.csv" else 2
        expected = f"{path} line {line} holds a NUL byte: it is binary, not text"
        assert error_of(encode_texts, path).endswith(expected), name
        assert error_of(corpus_texts, path).endswith(expected), name


def test_a_compressed_file_says_so_and_how_to_read_it_in_every_format_and_errors_mode(tmp_path: Path) -> None:
    import bz2
    import gzip
    import lzma
    import zipfile

    text = b"first text\nsecond text\n"
    archive = tmp_path / "texts.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("texts.txt", text)
    files = {
        "texts.txt.gz": (gzip.compress(text), "gzip", "zcat"),
        "texts.jsonl.bz2": (bz2.compress(text), "bzip2", "bzcat"),
        "texts.csv.xz": (lzma.compress(text), "xz", "xzcat"),
        "texts.zip": (archive.read_bytes(), "zip", "unzip -p"),
    }
    for name, (data, kind, tool) in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        expected = f"{path} is {kind}-compressed, not text; decompress it first: {tool} FILE > texts.txt"
        assert error_of(encode_texts, path).endswith(expected), name
        assert error_of(corpus_texts, path).endswith(expected), name
        replace = ReadSettings(errors="replace", name=str(path))
        with pytest.raises(InputError, match=f"is {kind}-compressed"):  # replacing bad bytes does not make text
            list(read_chunks(io.BytesIO(data), replace))


def test_an_endless_binary_device_fails_fast_as_a_corpus() -> None:
    message = error_of(read_corpus, "/dev/zero")
    assert message == "corpus file /dev/zero line 1 holds a NUL byte: it is binary, not text"


def test_a_record_past_the_limit_is_refused_not_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines_module, "MAX_RECORD_BYTES", 1000)
    monkeypatch.setattr(records_module, "MAX_RECORD_BYTES", 1000)
    monkeypatch.setattr(lines_module, "READ_BYTES", 100)
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"text": "ok"}\n{"text": "' + "x" * 5000 + '"}\n')
    assert "line 2: a line longer than" in error_of(encode_texts, jsonl)
    csv_file = tmp_path / "a.csv"
    csv_file.write_text('text\nok\n"' + "y\n" * 3000 + '"\n')  # one quoted field over many lines
    assert "line 502: a record longer than" in error_of(encode_texts, csv_file)


def test_folders_globs_and_files_are_listed_by_one_rule(tmp_path: Path) -> None:
    for name in ["b.txt", "a.jsonl", "sub/c.csv", "notes.md", ".hidden.txt", "_SUCCESS", "sub/.git/x.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('{"text": "x"}\n' if name.endswith("jsonl") else "text\nx\n")
    known = [str(tmp_path / n) for n in ["a.jsonl", "b.txt", "sub/c.csv"]]
    assert list_inputs(str(tmp_path)) == known
    assert list_inputs(str(tmp_path), any_file=True) == [*known[:2], str(tmp_path / "notes.md"), known[2]]
    assert list_inputs(str(tmp_path / "*.txt")) == [str(tmp_path / "b.txt")]
    assert read_corpus(str(tmp_path)).sources == 3


def test_extra_fields_come_raw_beside_each_text(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    path.write_text(
        json.dumps({"text": "a", "label": ["x", "y"]}) + "\n" + json.dumps({"text": "b", "label": 3}) + "\n"
    )
    settings = ReadSettings(format=InputFormat.jsonl, extra_fields=("label",))
    (chunk,) = read_chunks(io.BytesIO(path.read_bytes()), settings)
    assert chunk.texts == ["a", "b"] and chunk.extra == {"label": [["x", "y"], 3]}
    table = tmp_path / "labelled.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "label": np.array([1, 2])}), table)
    settings = ReadSettings(format=InputFormat.parquet, extra_fields=("label",))
    (chunk,) = read_chunks(str(table), settings)
    assert chunk.extra == {"label": [1, 2]}
