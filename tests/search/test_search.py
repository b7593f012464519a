"""m2v index and m2v search: exact cosine top-k over a memory-mapped index, and every bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.errors import ConfigError, InputError, OutputError
from m2vcli.search import Index, IndexConfig, build_index
from m2vcli.search import index as index_module
from tests.helpers import WORDS, run_m2v, tiny_model

TEXTS = [" ".join(WORDS[i : i + 3]) for i in range(0, 24)]  # 24 distinct short texts of known words


def _docs(tmp_path: Path, texts: list[str] = TEXTS) -> Path:
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"body": t, "doc": f"d{i}"}) + "\n" for i, t in enumerate(texts)))
    return path


def _build(model_dir: Path, tmp_path: Path, **settings: object) -> Path:
    out = tmp_path / "docs.index"
    build_index(IndexConfig(model=str(model_dir), input=str(_docs(tmp_path)), output=str(out), **settings))  # type: ignore[arg-type]
    return out


def _brute_force(model: StaticEmbedder, texts: list[str], query: str, k: int) -> list[int]:
    docs = model.encode(texts, normalize=True)
    q = model.encode([query], normalize=True)[0]
    scores = docs @ q
    return sorted(range(len(texts)), key=lambda i: (-round(float(scores[i]), 5), i))[:k]


def test_every_text_finds_itself_first_with_its_id(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = _build(tiny_model_dir, tmp_path, field="body", id_field="doc")
    index = Index(out)
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    assert len(index) == len(TEXTS) and index.dims == model.dim
    results = index.search(model, TEXTS, k=3)
    assert [hits[0].id for hits in results] == [f"d{i}" for i in range(len(TEXTS))]
    assert all(hits[0].score == pytest.approx(1.0, abs=1e-5) for hits in results)
    assert [hits[0].text for hits in results] == TEXTS
    for hits in results:
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_blocked_search_matches_brute_force(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(WORDS[:22], size=4)) for _ in range(200)]
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    build_index(IndexConfig(model=str(tiny_model_dir), input=str(_docs(tmp_path, texts)), output=str(tmp_path / "i"),
                            field="body"))  # fmt: skip
    monkeypatch.setattr(index_module, "BLOCK_ROWS", 7)  # many blocks, and a last one shorter than k
    index = Index(tmp_path / "i")
    for query in ["hello cat", "the dog sat on a mat", "great movie"]:
        scores, rows = index.search_vectors(model.encode([query], normalize=True), k=9)
        expected = model.encode(texts, normalize=True) @ model.encode([query], normalize=True)[0]
        assert np.allclose(scores[0], np.sort(expected)[::-1][:9], atol=1e-5)
        assert [round(float(expected[r]), 5) for r in rows[0]] == [round(float(s), 5) for s in scores[0]]


def test_k_past_the_index_gives_every_row_and_bad_k_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    index = Index(_build(tiny_model_dir, tmp_path, field="body"))
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    hits = index.search(model, "hello world", k=1000)[0]
    assert sorted(h.row for h in hits) == list(range(len(TEXTS)))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match="k must be a whole number"):
            index.search(model, "hello", k=bad)  # type: ignore[arg-type]
    proc = run_m2v("search", str(index.path), "hello", "-k", "0")
    assert proc.returncode == 2 and b"-k" in proc.stderr


def test_empty_and_unknown_queries_are_one_line_errors(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = _build(tiny_model_dir, tmp_path, field="body")
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    with pytest.raises(InputError, match=r"^query 2 is empty$"):
        Index(out).search(model, ["hello", "   "])
    with pytest.raises(InputError, match=r"^query 1 \('zzzz qqqq'\) has no token the model knows$"):
        Index(out).search(model, ["zzzz qqqq"])
    proc = run_m2v("search", str(out), "")
    assert (proc.returncode, proc.stderr) == (1, b"Error: query 1 is empty\n")
    proc = run_m2v("search", str(out), stdin=b"\n\n")
    assert (proc.returncode, proc.stderr) == (
        1,
        b"Error: no query given: pass QUERY, --queries FILE, or queries on standard input\n",
    )


def test_an_index_from_another_model_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = _build(tiny_model_dir, tmp_path, field="body")
    other = tmp_path / "other"
    tiny_model(seed=1).save_pretrained(other)  # same tokenizer and dims, another table
    with pytest.raises(ConfigError, match=r"was built with .* another model"):
        Index(out).search(StaticEmbedder.from_pretrained(other), "hello")
    proc = run_m2v("search", str(out), "hello", "-m", str(other))
    assert proc.returncode == 1 and proc.stderr.count(b"\n") == 1 and b"another model" in proc.stderr
    wider = tmp_path / "wider"
    tiny_model(dim=16).save_pretrained(wider)
    assert run_m2v("search", str(out), "hello", "-m", str(wider)).returncode == 1


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "vectors.npy").write_bytes((p / "vectors.npy").read_bytes()[:200]), "vectors.npy"),
        (lambda p: (p / "vectors.npy").unlink(), "vectors.npy is missing"),
        (lambda p: (p / "offsets.npy").write_bytes(b"not npy"), "offsets.npy"),
        (lambda p: (p / "records.jsonl").write_bytes((p / "records.jsonl").read_bytes()[:-5]), "records.jsonl"),
        (lambda p: (p / "index.json").write_text("{"), "index.json is not valid JSON"),
        (lambda p: (p / "index.json").write_text('{"format": "m2v-index", "version": 1, "rows": -3}'), "'rows'"),
        (lambda p: (p / "index.json").write_text('{"format": "other"}'), "is not an m2v index"),
        (lambda p: (p / "index.json").unlink(), "is not an m2v index"),
    ],
)
def test_a_damaged_index_is_one_line_naming_what(tiny_model_dir: Path, tmp_path: Path, damage, message) -> None:  # type: ignore[no-untyped-def]
    out = _build(tiny_model_dir, tmp_path, field="body")
    damage(out)
    with pytest.raises(InputError, match=message):
        Index(out)
    proc = run_m2v("search", str(out), "hello")
    assert proc.returncode == 1 and proc.stderr.count(b"\n") == 1 and message.encode() in proc.stderr


def test_a_damaged_record_is_named_when_read(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = _build(tiny_model_dir, tmp_path, field="body")
    data = bytearray((out / "records.jsonl").read_bytes())
    data[1] = ord("#")  # same length: the offsets still match, the first record is no longer JSON
    (out / "records.jsonl").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"record 1 of records\.jsonl is not valid JSON"):
        Index(out).records([0])


def test_queries_from_a_file_and_stdin_and_as_json_lines(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = _build(tiny_model_dir, tmp_path, field="body", id_field="doc")
    queries = tmp_path / "q.txt"
    queries.write_text(f"{TEXTS[3]}\n\n{TEXTS[7]}\n")
    data = queries.read_bytes()
    for args, stdin in ((("--queries", str(queries)), b""), (("--queries", "-"), data), ((), data)):
        proc = run_m2v("search", str(out), *args, "-k", "2", "--format", "jsonl", stdin=stdin)
        assert proc.returncode == 0, proc.stderr
        lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        assert [(r["query"], r["rank"]) for r in lines] == [(TEXTS[3], 1), (TEXTS[3], 2), (TEXTS[7], 1), (TEXTS[7], 2)]
        assert lines[0]["id"] == "d3" and lines[2]["id"] == "d7"
    proc = run_m2v("search", str(out), TEXTS[5], "--format", "json")
    assert json.loads(proc.stdout)[0]["id"] == "d5"
    table = run_m2v("search", str(out), TEXTS[5], "-k", "1").stdout.decode()
    assert "d5" in table and TEXTS[5] in table


def test_the_index_output_is_guarded_and_replaced_whole(tiny_model_dir: Path, tmp_path: Path) -> None:
    docs = _docs(tmp_path)
    with pytest.raises(OutputError):  # the input itself
        build_index(IndexConfig(model=str(tiny_model_dir), input=str(docs), output=str(docs), field="body"))
    assert docs.read_text().count("\n") == len(TEXTS)
    with pytest.raises(OutputError):  # inside the model in use
        build_index(IndexConfig(model=str(tiny_model_dir), input=str(docs), output=str(tiny_model_dir / "i")))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    proc = run_m2v("index", "-m", str(tiny_model_dir), str(docs), "--field", "body", "-o", str(busy))
    assert proc.returncode == 1 and b"is not an index" in proc.stderr and (busy / "notes.txt").exists()
    out = _build(tiny_model_dir, tmp_path, field="body")
    before = (out / "vectors.npy").read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "hello"}\n{"body": 3}\n')
    proc = run_m2v("index", "-m", str(tiny_model_dir), str(bad), "--field", "body", "-o", str(out))
    assert proc.returncode == 1 and proc.stderr.count(b"\n") == 1
    assert (out / "vectors.npy").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    small = tmp_path / "small.txt"
    small.write_text("hello cat\n")
    assert run_m2v("index", "-m", str(tiny_model_dir), str(small), "-o", str(out)).returncode == 0
    assert len(Index(out)) == 1


def test_an_empty_input_gives_an_empty_index(tiny_model_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    proc = run_m2v("index", "-m", str(tiny_model_dir), str(empty), "-o", str(tmp_path / "e"))
    assert proc.returncode == 0, proc.stderr
    index = Index(tmp_path / "e")
    assert len(index) == 0
    assert index.search(StaticEmbedder.from_pretrained(tiny_model_dir), "hello") == [[]]


def test_plain_text_lines_and_stdin_are_indexed_by_row(tiny_model_dir: Path, tmp_path: Path) -> None:
    stdin = "\n".join(TEXTS[:5]).encode() + b"\n"
    proc = run_m2v("index", "-m", str(tiny_model_dir), "-o", str(tmp_path / "s"), stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    index = Index(tmp_path / "s")
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    assert [index.search(model, t, k=1)[0][0].id for t in TEXTS[:5]] == [0, 1, 2, 3, 4]
    assert _brute_force(model, TEXTS[:5], "hello cat", 5) == [h.row for h in index.search(model, "hello cat", k=5)[0]]
