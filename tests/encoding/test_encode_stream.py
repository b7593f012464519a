"""``m2v encode`` streams: structured inputs, every output and destination, bounded memory, bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import struct
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from safetensors.numpy import load as load_safetensors

from m2vcli import StaticEmbedder
from m2vcli.encoding import EncodeConfig, encode_lines
from m2vcli.errors import ConfigError, InputError
from m2vcli.texts import READ_BYTES, ReadSettings, iter_lines
from tests.helpers import run_m2v

TEXTS = ["Hello world", "", "the cat sat on the mat", "☃ snow", "a dog, a cat", "the mat"]


def expected(model_dir: Path, texts: list[str]) -> np.ndarray:
    return StaticEmbedder.from_pretrained(model_dir).encode(texts)


def parquet_vectors(path: Path | io.BytesIO) -> tuple[pa.Table, np.ndarray]:
    table = pq.read_table(path)
    vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False)) if table.num_rows else np.zeros((0, 8))
    return table, vectors


def write_inputs(folder: Path, texts: list[str]) -> dict[str, Path]:
    ids = [f"doc-{i}" for i in range(len(texts))]
    paths = {"text": folder / "in.txt", "jsonl": folder / "in.jsonl", "csv": folder / "in.csv"}
    paths["text"].write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    paths["jsonl"].write_text(
        "".join(json.dumps({"body": t, "key": k, "other": 1}) + "\n" for t, k in zip(texts, ids, strict=True)),
        encoding="utf-8",
    )
    with paths["csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "body"])
        writer.writerows(zip(ids, texts, strict=True))
    paths["tsv"] = folder / "in.tsv"
    paths["tsv"].write_text(
        "key\tbody\n" + "".join(f"{k}\t{t}\n" for k, t in zip(ids, texts, strict=True)), encoding="utf-8"
    )
    paths["parquet"] = folder / "in.parquet"
    pq.write_table(pa.table({"key": ids, "body": texts}), paths["parquet"], row_group_size=2)
    return paths


@pytest.mark.parametrize("kind", ["jsonl", "csv", "tsv", "parquet"])
def test_structured_inputs_give_the_same_vectors_with_ids_and_positions(
    kind: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    texts = [*TEXTS, 'a "quoted"\nmulti-line text']
    if kind == "tsv":
        texts = TEXTS  # TSV as written above has no quoting
    src = write_inputs(tmp_path, texts)[kind]
    out = tmp_path / "out.parquet"
    proc = run_m2v(
        "encode", "-m", str(tiny_model_dir), str(src), "--column", "body", "--id-field", "key", "-o", str(out)
    )
    assert proc.returncode == 0, proc.stderr.decode()
    table, vectors = parquet_vectors(out)
    assert table.column_names == ["row", "id", "vector"]
    assert table.column("id").to_pylist() == [f"doc-{i}" for i in range(len(texts))]
    assert table.column("row").to_pylist() == list(range(len(texts)))
    np.testing.assert_array_equal(vectors, expected(tiny_model_dir, texts))
    jsonl = tmp_path / "out.jsonl"
    assert (
        run_m2v(
            "encode", "-m", str(tiny_model_dir), str(src), "--field", "body", "--id-field", "key", "-o", str(jsonl)
        ).returncode
        == 0
    )
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"doc-{i}" for i in range(len(texts))]
    np.testing.assert_array_equal(np.array([r["vector"] for r in rows], np.float32), vectors)


def test_jsonl_from_standard_input_with_blank_lines_and_whole_number_ids(tiny_model_dir: Path) -> None:
    lines = [json.dumps({"text": t, "n": i * 10}) for i, t in enumerate(TEXTS)]
    data = ("\n".join(lines[:2]) + "\n\n   \n" + "\n".join(lines[2:]) + "\n").encode()
    proc = run_m2v(
        "encode", "-m", str(tiny_model_dir), "--field", "text", "--id-field", "n", "-f", "parquet", stdin=data
    )
    assert proc.returncode == 0, proc.stderr.decode()
    table, vectors = parquet_vectors(io.BytesIO(proc.stdout))
    assert table.schema.field("id").type == pa.int64() and table.column("id").to_pylist() == [0, 10, 20, 30, 40, 50]
    assert table.column("row").to_pylist() == [0, 1, 4, 5, 6, 7]  # blank lines skipped, their numbers kept
    np.testing.assert_array_equal(vectors, expected(tiny_model_dir, TEXTS))


def run_config(config: EncodeConfig, stdin: Any = None, stdout: Any = None) -> Any:
    return encode_lines(config, stdin=stdin, stdout=stdout)


@pytest.mark.parametrize("fmt", ["npy", "safetensors"])
def test_every_destination_gives_the_same_file(fmt: str, tiny_model_dir: Path, tmp_path: Path) -> None:
    """A file (header written again), a file on stdout at an offset, an appended stdout (counted first),
    a pipe fed from a file (counted first) and a pipe fed from a pipe (spooled) all agree."""
    texts = [f"the cat {i} sat" if i % 3 else "" for i in range(2500)]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    want = expected(tiny_model_dir, texts)

    def load(data: bytes) -> np.ndarray:
        return np.load(io.BytesIO(data)) if fmt == "npy" else load_safetensors(data)["embeddings"]

    config = EncodeConfig(model=str(tiny_model_dir), input=str(src), output=str(tmp_path / f"v.{fmt}"), batch_size=100)
    assert run_config(config).rows == 2500
    np.testing.assert_array_equal(load((tmp_path / f"v.{fmt}").read_bytes()), want)
    base = EncodeConfig(model=str(tiny_model_dir), input=str(src), format=fmt, batch_size=100)  # type: ignore[arg-type]
    with open(tmp_path / "stdout", "wb") as handle:  # > file, after something else wrote to it
        handle.write(b"PREFIX")
        run_config(base, stdout=handle)
    data = (tmp_path / "stdout").read_bytes()
    assert data.startswith(b"PREFIX")
    np.testing.assert_array_equal(load(data[6:]), want)
    (tmp_path / "append").write_bytes(b"")
    with open(tmp_path / "append", "ab") as handle:  # >> file: no going back, so the lines are counted first
        run_config(base, stdout=handle)
    np.testing.assert_array_equal(load((tmp_path / "append").read_bytes()), want)
    read, write = os.pipe()
    with open(write, "wb") as pipe_out, open(read, "rb") as pipe_in:
        os.set_blocking(read, False)
        chunks: list[bytes] = []

        class Draining(io.RawIOBase):
            def writable(self) -> bool:
                return True

            def write(self, data: Any) -> int:
                chunks.append(bytes(data))
                return len(data)

        run_config(base, stdout=io.BufferedWriter(Draining()))  # not seekable, no descriptor: counted first
        del pipe_out, pipe_in
    np.testing.assert_array_equal(load(b"".join(chunks)), want)
    chunks.clear()
    stdin_config = EncodeConfig(model=str(tiny_model_dir), format=fmt, batch_size=100)  # type: ignore[arg-type]
    with open(src, "rb") as raw:
        piped = io.BufferedReader(io.BytesIO(raw.read()))  # type: ignore[arg-type]
    piped.seekable = lambda: False  # type: ignore[method-assign]
    run_config(stdin_config, stdin=piped, stdout=io.BufferedWriter(Draining()))  # spooled
    np.testing.assert_array_equal(load(b"".join(chunks)), want)


def test_float16_output_in_every_format(tiny_model_dir: Path, tmp_path: Path) -> None:
    want = expected(tiny_model_dir, TEXTS).astype(np.float16)
    src = tmp_path / "in.txt"
    src.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    for fmt in ("npy", "safetensors", "parquet", "jsonl"):
        out = tmp_path / f"v.{fmt}"
        assert (
            run_m2v("encode", "-m", str(tiny_model_dir), str(src), "--dtype", "float16", "-o", str(out)).returncode == 0
        )
        if fmt == "npy":
            got = np.load(out)
        elif fmt == "safetensors":
            got = load_safetensors(out.read_bytes())["embeddings"]
        elif fmt == "parquet":
            table = pq.read_table(out)
            assert str(table.schema.field("vector").type) == "fixed_size_list<element: halffloat>[8]"
            got = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
        else:
            got = np.array([json.loads(line) for line in out.read_text().splitlines()], np.float16)
        assert got.dtype == np.float16
        np.testing.assert_array_equal(got, want)


class CountingReader(io.RawIOBase):
    """Standard input that remembers how much was read by the time the first vectors are written."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        piece = self.data[self.pos : self.pos + len(buffer)]
        buffer[: len(piece)] = piece
        self.pos += len(piece)
        return len(piece)


def test_memory_does_not_grow_with_the_input(tiny_model_dir: Path) -> None:
    """When the first vectors are written, only a few batches of a 16 MB input have been read (and one 1 MiB block)."""
    line = b"the cat sat on the mat with a dog\n"
    data = line * (16_000_000 // len(line))
    reader = CountingReader(data)
    read_at_first_write: list[int] = []

    class Out(io.BytesIO):
        def write(self, chunk: Any) -> int:
            if not read_at_first_write:
                read_at_first_write.append(reader.pos)
            return super().write(chunk)

    out = Out()
    config = EncodeConfig(model=str(tiny_model_dir), batch_size=256, format="jsonl")  # type: ignore[arg-type]
    result = encode_lines(config, stdin=io.BufferedReader(reader, buffer_size=1 << 16), stdout=out)
    assert result.rows == len(data) // len(line)
    # the batch written, two ahead, one being read, and the block it came from
    assert read_at_first_write[0] < 256 * 5 * len(line) + READ_BYTES + (1 << 16)


def test_a_huge_line_is_cut_as_it_is_read_and_encodes_as_the_whole_line(tiny_model_dir: Path) -> None:
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    words = "unknownword " * 100 + "the cat sat on the mat " * 2_000_000  # 46 MB, known words late in it
    limit = 4
    cut = model.longest_text(limit)
    assert cut is not None and cut < len(words) // 4
    whole = model.encode([words], max_length=limit)
    data = words.encode() + b"\nthe dog\n"
    tracemalloc.start()
    out = io.BytesIO()
    encode_lines(EncodeConfig(model=str(tiny_model_dir), max_length=limit), stdin=io.BytesIO(data), stdout=out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    got = np.load(io.BytesIO(out.getvalue()))
    np.testing.assert_array_equal(got[0], whole[0])
    np.testing.assert_array_equal(got[1], model.encode(["the dog"])[0])
    assert peak < len(data) // 2  # never held whole (the input itself was allocated before tracing began)


def test_a_long_line_is_checked_for_utf8_to_its_end() -> None:
    data = b"ok\n" + b"a" * 500 + b"\xff tail\nlast\n"
    settings = ReadSettings(max_chars=10, name="input")
    with pytest.raises(InputError, match=r"^input line 2 is not valid UTF-8 \(byte 0xff\)"):
        list(iter_lines(io.BufferedReader(io.BytesIO(data)), settings))  # type: ignore[arg-type]
    replaced = ReadSettings(max_chars=10, errors="replace")
    assert list(iter_lines(io.BytesIO(data), replaced)) == ["ok", "a" * 10, "last"]


def test_empty_inputs_give_valid_empty_outputs(tiny_model_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n\n")
    for fmt in ("npy", "parquet", "safetensors"):
        out = tmp_path / f"v.{fmt}"
        proc = run_m2v("encode", "-m", str(tiny_model_dir), str(empty), "-o", str(out))
        assert proc.returncode == 0, proc.stderr.decode()
        if fmt == "npy":
            assert np.load(out).shape == (0, 8)
        elif fmt == "parquet":
            assert pq.read_table(out).num_rows == 0
        else:
            assert load_safetensors(out.read_bytes())["embeddings"].shape == (0, 8)


def error_of(*args: str, stdin: bytes = b"") -> str:
    proc = run_m2v("encode", *args, stdin=stdin)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err and err.count("\n") == 1, err
    assert proc.stdout == b""
    return err.removeprefix("Error: ").strip()


def test_bad_structured_input_is_one_line_and_writes_nothing(tiny_model_dir: Path, tmp_path: Path) -> None:
    model = str(tiny_model_dir)
    paths = write_inputs(tmp_path, TEXTS)
    out = tmp_path / "out.parquet"
    assert error_of("-m", model, str(paths["jsonl"]), "--field", "txt", "-o", str(out)) == (
        f"input {paths['jsonl']} line 1 has no field 'txt' (it has: body, key, other)"
    )
    assert "has no column 'txt' (it has: key, body)" in error_of("-m", model, str(paths["csv"]), "--column", "txt")
    assert "has no column 'txt' (it has: key, body)" in error_of("-m", model, str(paths["parquet"]), "--column", "txt")
    assert error_of("-m", model, "--field", "other", str(paths["jsonl"])).endswith("'other' holds int, not text")
    assert error_of("-m", model, "--field", "t", stdin=b'{"t": "fine"}\n{"t": null}\n') == (
        "input line 2: 't' holds null, not text"
    )
    assert error_of("-m", model, "--field", "t", stdin=b'{"t": "a"}\n{"t": \n') == (
        "input line 2 is not valid JSON (Expecting value)"
    )
    assert error_of("-m", model, "--field", "t", stdin=b'["t"]\n') == "input line 1 is not a JSON object (got list)"
    numbers = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), numbers)
    assert error_of("-m", model, str(numbers)).endswith("column 'text' holds int64, not text")
    nulls = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"text": ["a", None]}), nulls)
    assert error_of("-m", model, str(nulls)).endswith("row 2: 'text' holds null, not text")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("id,text\n1,fine\n2\n", encoding="utf-8")
    assert error_of("-m", model, str(ragged)).endswith("line 3 has 1 columns; the header names 2")
    mixed = b'{"text": "a", "id": 1}\n{"text": "b", "id": "x"}\n'
    assert "ids must all be text or all be whole numbers" in error_of(
        "-m", model, "--field", "text", "--id-field", "id", "-f", "parquet", stdin=mixed
    )
    assert (
        error_of("-m", model, str(tmp_path / "missing.jsonl")) == f"input {tmp_path / 'missing.jsonl'} does not exist"
    )
    not_parquet = tmp_path / "bad.parquet"
    not_parquet.write_bytes(b"PAR1 not really")
    assert "is not a readable Parquet file" in error_of("-m", model, str(not_parquet))
    assert not out.exists()


def test_settings_that_cannot_work_are_refused_before_any_work(tiny_model_dir: Path, tmp_path: Path) -> None:
    model = str(tiny_model_dir)
    txt = tmp_path / "in.txt"
    txt.write_text("a\n", encoding="utf-8")
    assert "apply to jsonl, csv, tsv and parquet input" in error_of("-m", model, str(txt), "--field", "body")
    assert error_of("-m", model, "--input-format", "parquet") == "Parquet input must be a file, not standard input"
    assert "kept in jsonl or parquet output, not npy" in error_of("-m", model, "--field", "t", "--id-field", "k")
    with pytest.raises(ConfigError, match="field must be a non-empty name"):
        EncodeConfig(model=model, field="")


def test_an_error_midway_leaves_standard_output_as_it_was(tiny_model_dir: Path, tmp_path: Path) -> None:
    """A bad line after many good ones: a file on stdout is cut back to where it began."""
    data = b"the cat\n" * 5000 + b"bad \xff\n"
    with open(tmp_path / "stdout", "wb") as handle:
        handle.write(b"KEEP")
        with pytest.raises(InputError, match="line 5001 is not valid UTF-8"):
            encode_lines(EncodeConfig(model=str(tiny_model_dir), batch_size=100), stdin=io.BytesIO(data), stdout=handle)
    assert (tmp_path / "stdout").read_bytes() == b"KEEP"


def test_npy_header_has_a_fixed_size_whatever_the_count() -> None:
    from m2vcli.encoding.vector_io import NPY_HEADER_BYTES, SafetensorsWriter, VectorDType, npy_header

    for rows in (0, 7, 10**12):
        header = npy_header(rows, 1024, VectorDType.float16)
        assert len(header) == NPY_HEADER_BYTES and header.endswith(b"\n")
        writer = SafetensorsWriter(io.BytesIO(), 1024, VectorDType.float32)
        meta = writer.header(rows)
        size = struct.unpack("<Q", meta[:8])[0]
        assert json.loads(meta[8 : 8 + size])["embeddings"]["shape"] == [rows, 1024]
        assert len(meta) == len(writer.header(0))


def test_a_csv_field_longer_than_the_csv_modules_limit_is_read_and_the_limit_kept(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    long_text = "the cat sat " * 30_000  # 360,000 characters: beyond csv's default 131,072
    src = tmp_path / "long.csv"
    src.write_text(f'id,text\n1,"{long_text}"\n2,the mat\n', encoding="utf-8")
    before = csv.field_size_limit()
    config = EncodeConfig(model=str(tiny_model_dir), input=str(src), output=str(tmp_path / "v.npy"))
    assert encode_lines(config).rows == 2
    assert csv.field_size_limit() == before  # other readers in the process keep theirs
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), expected(tiny_model_dir, [long_text, "the mat"]))
