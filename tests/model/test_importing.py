"""``m2v import``: foreign word and token tables become model folders that encode as the published
baselines do (the mean of the words' rows), load in model2vec, and bad files are one-line errors that
write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from tests.helpers import run_m2v, tiny_tokenizer

ROWS = {"the": [1.0, 0.0, 0.0], "cat": [0.0, 2.0, 0.0], "sat": [0.0, 0.0, 3.0], "Paris": [1.0, 1.0, 0.0]}


def glove_text(path: Path, rows: dict[str, list[float]], header: bool = False) -> Path:
    lines = [f"{len(rows)} 3"] if header else []
    lines += [" ".join([word, *map(str, vector)]) for word, vector in rows.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def unit(vector: list[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("header", [False, True])
def test_a_word_table_encodes_a_text_as_the_mean_of_its_known_words(tmp_path: Path, header: bool) -> None:
    source = glove_text(tmp_path / ("cc.vec" if header else "glove.txt"), ROWS, header)
    ran = run_m2v("import", str(source), "-o", str(tmp_path / "m"), "--quantize", "float32")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.decode() == f"Imported {source.name}: 4 words (cased) x 3 dims, saved to {tmp_path / 'm'}.\n"
    model = StaticEmbedder.from_pretrained(tmp_path / "m")
    vectors = model.encode(["The cat, sat!", "the cat unknown", "Paris", "nothing known"])
    assert np.allclose(vectors[0], unit([0.0, 2.0, 3.0]))  # cased table: "The" is not "the"
    assert np.allclose(vectors[1], unit([1.0, 2.0, 0.0])) and np.allclose(vectors[2], unit([1.0, 1.0, 0.0]))
    assert not vectors[3].any()  # no known word: a zero vector


def test_a_lower_case_table_lower_cases_the_text_and_a_repeated_word_keeps_its_first_row(tmp_path: Path) -> None:
    lines = ["the 1 0 0", "cat 0 2 0", "the 5 5 5", "new york 0 0 1"]  # a word may hold a space
    (tmp_path / "v.txt").write_text("\n".join(lines) + "\n")
    ran = run_m2v("import", str(tmp_path / "v.txt"), "-o", str(tmp_path / "m"), "--quantize", "float32")
    assert ran.returncode == 0 and b"3 words (lower-cased)" in ran.stderr and b"1 repeated words left out" in ran.stderr
    model = StaticEmbedder.from_pretrained(tmp_path / "m")
    assert np.allclose(model.encode("THE Cat"), unit([1.0, 2.0, 0.0]))


def test_a_npy_table_with_its_word_list_and_max_words(tmp_path: Path) -> None:
    np.save(tmp_path / "t.npy", np.asarray(list(ROWS.values()), dtype=np.float32))
    (tmp_path / "words.txt").write_text("\n".join(ROWS) + "\n")
    ran = run_m2v("import", str(tmp_path / "t.npy"), "--words", str(tmp_path / "words.txt"), "--max-words", "2",
                  "-o", str(tmp_path / "m"), "--quantize", "float32")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    model = StaticEmbedder.from_pretrained(tmp_path / "m")
    assert np.allclose(model.encode("the cat sat"), unit([1.0, 2.0, 0.0]))  # "sat" is past the first 2 rows
    parquet = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    parquet.write_table(pa.table({"index": list(ROWS)}), tmp_path / "words.parquet")
    ran = run_m2v(
        "import", str(tmp_path / "t.npy"), "--words", str(tmp_path / "words.parquet"), "-o", str(tmp_path / "p")
    )
    assert ran.returncode == 0 and b"4 words" in ran.stderr, ran.stderr


def test_a_token_table_keeps_its_tokenizer_and_loads_in_model2vec(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    tokenizer = tiny_tokenizer()
    size = tokenizer.get_vocab_size()
    table = np.random.default_rng(0).normal(size=(size, 4)).astype(np.float16)
    save_file({"embedding.weight": table}, str(tmp_path / "w.safetensors"))
    (tmp_path / "tokenizer.json").write_text(tokenizer.to_str())
    ran = run_m2v("import", str(tmp_path / "w.safetensors"), "--tokenizer", str(tmp_path / "tokenizer.json"),
                  "-o", str(tmp_path / "m"))  # fmt: skip
    assert ran.returncode == 0 and f"{size} tokens x 4 dims".encode() in ran.stderr, ran.stderr
    ids = [tokenizer.token_to_id(t) for t in ("cat", "sat")]
    expected = table[ids].astype(np.float32).mean(axis=0)
    ours = StaticEmbedder.from_pretrained(tmp_path / "m").encode("cat sat")
    assert np.allclose(ours, expected / np.linalg.norm(expected), atol=1e-3)
    from model2vec import StaticModel

    theirs = StaticModel.from_pretrained(str(tmp_path / "m")).encode(["cat sat"])[0]
    assert np.allclose(theirs / np.linalg.norm(theirs), ours, atol=1e-3)


def test_a_word_model_loads_in_model2vec_with_the_same_vectors(tmp_path: Path) -> None:
    from model2vec import StaticModel

    glove_text(tmp_path / "g.txt", {w.lower(): v for w, v in ROWS.items()})
    assert run_m2v("import", str(tmp_path / "g.txt"), "-o", str(tmp_path / "m")).returncode == 0
    texts = ["the cat sat", "Paris the", "cat"]
    ours = StaticEmbedder.from_pretrained(tmp_path / "m").encode(texts)
    theirs = StaticModel.from_pretrained(str(tmp_path / "m")).encode(texts)
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    assert np.allclose(ours, theirs, atol=1e-3)


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("the 1 0\ncat 0 2 0\n", (), "line 2 has 3 values, not 2"),  # the first line sets the dims
        ("the 1 0 0\ncat 0 x 0\n", (), "line 2: x is not a number"),
        ("the 1 0 0\ncat 0 2\n", (), "line 2 has 2 values, not 3"),
        ("", (), "holds no vectors"),
        ("word\n", (), "line 1 has no vector"),
        ("the nan 0 0\n", (), "not finite"),
        ("the 1 0 0\n", ("--format", "npy"), "needs its word list: pass --words"),
        ("the 1 0 0\n", ("--format", "safetensors"), "needs its tokenizer: pass --tokenizer"),
        ("the 1 0 0\n", ("--max-words", "0"), "--max-words"),
    ],
)
def test_a_bad_file_is_one_line_and_writes_nothing(
    tmp_path: Path, content: str, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "v.txt").write_text(content)
    ran = run_m2v("import", str(tmp_path / "v.txt"), *args, "-o", str(tmp_path / "m"))
    err = ran.stderr.decode()
    assert ran.returncode in (1, 2) and message in err and "Traceback" not in err, err
    assert not (tmp_path / "m").exists()


def test_bad_tables_and_word_lists_are_named(tmp_path: Path) -> None:
    np.save(tmp_path / "t.npy", np.zeros((3, 2), dtype=np.float32))
    (tmp_path / "two.txt").write_text("a\nb\n")
    ran = run_m2v("import", str(tmp_path / "t.npy"), "--words", str(tmp_path / "two.txt"), "-o", str(tmp_path / "m"))
    assert ran.returncode == 1 and b"the word list has 2 words but the table 3 rows" in ran.stderr
    np.save(tmp_path / "ints.npy", np.zeros((3, 2), dtype=np.int64))
    ran = run_m2v("import", str(tmp_path / "ints.npy"), "--words", str(tmp_path / "two.txt"), "-o", str(tmp_path / "m"))
    assert ran.returncode == 1 and b"not a table of vectors" in ran.stderr
    (tmp_path / "x.safetensors").write_bytes(b"not safetensors")
    (tmp_path / "tok.json").write_text(json.dumps({"no": "model"}))
    ran = run_m2v(
        "import", str(tmp_path / "x.safetensors"), "--tokenizer", str(tmp_path / "tok.json"), "-o", str(tmp_path / "m")
    )
    assert ran.returncode == 1 and b"cannot read" in ran.stderr
    ran = run_m2v("import", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "m"))
    assert ran.returncode == 1 and b"is not a file" in ran.stderr
    assert not (tmp_path / "m").exists()


def test_an_existing_folder_that_is_not_a_model_is_kept_unless_forced(tmp_path: Path) -> None:
    glove_text(tmp_path / "g.txt", ROWS)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("mine")
    ran = run_m2v("import", str(tmp_path / "g.txt"), "-o", str(tmp_path / "m"))
    assert ran.returncode == 1 and (tmp_path / "m" / "notes.txt").read_text() == "mine"
    assert run_m2v("import", str(tmp_path / "g.txt"), "-o", str(tmp_path / "m"), "--force").returncode == 0
    again = run_m2v("import", str(tmp_path / "g.txt"), "-o", str(tmp_path / "m"))
    assert again.returncode == 0 and b"Replaced the model" in again.stderr


def test_python_import_vectors_returns_the_model_and_saves_only_when_asked(tmp_path: Path) -> None:
    import m2vcli

    source = glove_text(tmp_path / "g.txt", ROWS)
    model = m2vcli.import_vectors(str(source), quantize="float32")
    assert np.allclose(model.encode("cat sat"), unit([0.0, 2.0, 3.0])) and not (tmp_path / "m").exists()
    m2vcli.import_vectors(str(source), str(tmp_path / "m"))
    assert StaticEmbedder.from_pretrained(tmp_path / "m").encode("Paris").shape == (3,)
    missing = run_m2v("import", str(source))
    assert missing.returncode == 2 and b"Missing option --save-path / -o" in missing.stderr


def test_a_compressed_or_binary_file_and_an_output_over_the_input_are_refused(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "g.txt.gz").write_bytes(gzip.compress(b"the 1 0 0\n"))
    ran = run_m2v("import", str(tmp_path / "g.txt.gz"), "-o", str(tmp_path / "m"))
    assert ran.returncode == 1 and b"gzip-compressed, not text" in ran.stderr
    (tmp_path / "bin.txt").write_bytes(b"the 1 \xff\xfe 0\n")
    ran = run_m2v("import", str(tmp_path / "bin.txt"), "-o", str(tmp_path / "m"))
    assert ran.returncode == 1 and b"is not UTF-8 text" in ran.stderr and b"Traceback" not in ran.stderr
    (tmp_path / "in").mkdir()
    source = glove_text(tmp_path / "in" / "g.txt", ROWS)
    ran = run_m2v("import", str(source), "-o", str(tmp_path / "in"), "--force")
    assert ran.returncode == 1 and b"holds the input" in ran.stderr and source.is_file()
    assert not (tmp_path / "m").exists()


def test_python_import_vectors_never_saves_over_its_input(tmp_path: Path) -> None:
    import m2vcli
    from m2vcli.errors import ConfigError

    glove_text(tmp_path / "g.txt", ROWS)
    with pytest.raises(ConfigError, match="holds the input"):
        m2vcli.import_vectors(str(tmp_path / "g.txt"), save_path=str(tmp_path))
    assert (tmp_path / "g.txt").is_file() and not (tmp_path / "config.json").exists()
