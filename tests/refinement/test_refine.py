"""Refinement: corpus reading, featurizing with its cache, training, the command, and bad input."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from m2vcli.distillation import run_distillation
from m2vcli.errors import ConfigError, HubError, InputError, M2VError
from m2vcli.model import StaticEmbedder
from m2vcli.refinement import distill_and_refine, features, read_corpus, run_refinement
from m2vcli.refinement.pieces import split_long
from m2vcli.teacher import Device, Pooling, Precision, load_teacher
from tests.helpers import run_m2v

WORDS = [
    "hello",
    "world",
    "the",
    "movie",
    "was",
    "great",
    "good",
    "film",
    "unbelievable",
    "dog",
    "cat",
    "everyone",
    "has",
    "a",
    "secret",
]


def make_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) for _ in range(n)]


@pytest.fixture(scope="module")
def student(tiny_teacher_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("student") / "model"
    run_distillation(model=str(tiny_teacher_dir), pca_dims=8, dtype="float32", save_path=str(path))
    return path


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(make_texts(400)) + "\n")
    return path


def run_refine(student: Path, corpus: Path, out: Path, cache_folder: Path, tiny_teacher_dir: Path, **kw: object):  # type: ignore[no-untyped-def]
    settings = {"dtype": "float32", "epochs": 3, "cache_dir": str(cache_folder), "teacher": str(tiny_teacher_dir), **kw}
    return run_refinement(model=str(student), corpus=str(corpus), save_path=str(out), **settings)


# ----- corpus sources ------------------------------------------------------------------------------


def test_every_corpus_format_gives_the_same_texts(tmp_path: Path) -> None:
    texts = ["first text", "second, with a comma", 'third "quoted"']
    (tmp_path / "a.txt").write_text("\n".join(texts) + "\n\n   \n")
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps({"body": t, "id": i}) for i, t in enumerate(texts)))
    import csv

    with (tmp_path / "a.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body"])
        writer.writerows([[i, t] for i, t in enumerate(texts)])
    (tmp_path / "a.tsv").write_text("body\n" + "\n".join(t for t in texts) + "\n")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"body": texts}), tmp_path / "a.parquet")
    assert read_corpus(str(tmp_path / "a.txt")).texts == texts
    for name in ("a.jsonl", "a.csv", "a.parquet"):
        assert read_corpus(str(tmp_path / name), field="body").texts == texts, name
    assert read_corpus(str(tmp_path / "a.tsv"), field="body").texts[0] == "first text"
    folder = read_corpus(str(tmp_path), field="body")  # a folder: every known file, in name order
    assert folder.sources == 5 and len(folder) == 15
    assert len(read_corpus(str(tmp_path / "a.*"), field="body")) == 15


def test_a_corpus_file_without_an_extension_is_text_unless_its_first_line_is_a_json_object(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"  # a line that starts like a JSON number was read as JSON lines and refused
    hosts.write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
    assert read_corpus(str(hosts)).texts == ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
    records = tmp_path / "records"
    records.write_bytes(b"\xef\xbb\xbf" + b'{"text": "one"}\n{"text": "two"}\n')
    assert read_corpus(str(records)).texts == ["one", "two"]
    words = tmp_path / "words"
    words.write_text('"quoted" text\n[bracketed] text\n')
    assert read_corpus(str(words)).texts == ['"quoted" text', "[bracketed] text"]


def test_refine_checks_the_device_before_it_loads_the_model_or_the_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a text\n")
    missing = tmp_path / "no_model"  # not there: the device is what the user hears about first
    with pytest.raises(ConfigError, match="device cuda is not available on this machine"):
        run_refinement(model=str(missing), corpus=str(corpus), save_path=str(tmp_path / "o"), device="cuda")


def test_max_texts_is_a_seeded_sample_in_corpus_order(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("\n".join(f"text {i}" for i in range(100)))
    one = read_corpus(str(path), max_texts=10, seed=1)
    assert one.texts == read_corpus(str(path), max_texts=10, seed=1).texts
    assert one.texts != read_corpus(str(path), max_texts=10, seed=2).texts
    assert [int(t.split()[1]) for t in one.texts] == sorted(int(t.split()[1]) for t in one.texts)
    assert one.content_hash != read_corpus(str(path)).content_hash


@pytest.mark.parametrize(
    ("name", "content", "field", "message"),
    [
        ("empty.txt", b"", "text", "holds no text"),
        ("blank.txt", b"\n  \n\t\n", "text", "holds no text"),
        ("bad.txt", b"fine\nstill fine\nbad \xff here\n", "text", "line 3 is not valid UTF-8"),
        ("binary.txt", b"abc\x00\x01def", "text", "is binary"),
        ("rows.jsonl", b'{"text": "a"}\n{"body": "b"}\n', "text", "line 2 has no field 'text'"),
        ("rows.jsonl", b'{"text": "a"}\nnot json\n', "text", "line 2 is not valid JSON"),
        ("rows.jsonl", b'{"text": 3}\n', "text", "'text' holds int, not text"),
        ("table.csv", b"title,body\nx,y\n", "text", "has no column 'text' (it has: title, body)"),
        ("table.parquet", b"PAR1 not really parquet", "text", "not a readable Parquet file"),
    ],
)
def test_bad_corpus_files_are_one_line_errors(
    tmp_path: Path, name: str, content: bytes, field: str, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        read_corpus(str(path), field=field)
    assert "\n" not in str(caught.value)


def test_missing_sources_and_offline_hub_data_sets_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_corpus(str(tmp_path / "nope.txt"))
    with pytest.raises(InputError, match="matches no file"):
        read_corpus(str(tmp_path / "*.jsonl"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no"):
        read_corpus(str(tmp_path / "empty"))
    with pytest.raises(HubError, match="HF_HUB_OFFLINE is set; pass a local"):
        read_corpus("hf:org/some-corpus")


def test_a_hub_data_set_is_streamed_row_by_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The online path, with the hub replaced by a local file read through datasets' own streaming."""
    import datasets

    rows = [{"text": f"text number {i}", "label": i} for i in range(50)] + [{"text": "  ", "label": -1}]
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    real = datasets.load_dataset
    asked: list[tuple[object, ...]] = []

    def from_hub(path: str, name: str | None = None, *, split: str, streaming: bool) -> object:
        asked.append((path, name, split, streaming))
        return real("json", data_files=str(source), split="train", streaming=True)

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(datasets, "load_dataset", from_hub)
    corpus = read_corpus("hf:org/corpus:en:validation")
    assert asked == [("org/corpus", "en", "validation", True)]  # streamed, never downloaded whole
    assert corpus.texts == [f"text number {i}" for i in range(50)]  # blank rows left out
    with pytest.raises(InputError, match="has no 'body' field"):
        read_corpus("hf:org/corpus", field="body")

    def broken(path: str, name: str | None = None, *, split: str, streaming: bool) -> object:
        def stream() -> object:
            yield {"text": "first"}
            raise ConnectionError("connection reset by peer")

        return stream()

    monkeypatch.setattr(datasets, "load_dataset", broken)
    with pytest.raises(HubError, match=r"^data set org/corpus stopped after 1 rows: connection reset by peer$"):
        read_corpus("hf:org/corpus")


# ----- featurizing ---------------------------------------------------------------------------------


def test_features_are_the_teachers_outputs_over_the_texts_own_positions(tiny_teacher_dir: Path) -> None:
    import torch
    from transformers import BertModel

    teacher = load_teacher(str(tiny_teacher_dir), Device.CPU, Precision.FLOAT32, trust_remote_code=False)
    texts = ["hello world", "the movie was great good film"]
    _, ids = split_long(texts, teacher)
    result = features.featurize(teacher, ids, Pooling.TOKENS, None)
    vectors = result.array()
    assert result.cached == 0 and len(result) == len(vectors) == 2
    model = BertModel.from_pretrained(str(tiny_teacher_dir)).eval()
    for text_ids, vector in zip(ids, vectors, strict=True):
        full = torch.tensor([[*teacher.prefix, *text_ids.tolist(), *teacher.suffix]])
        with torch.inference_mode():
            hidden = model(input_ids=full).last_hidden_state[0]
        expected = hidden[len(teacher.prefix) : len(teacher.prefix) + len(text_ids)].mean(dim=0).numpy()
        np.testing.assert_allclose(vector, expected, rtol=1e-4, atol=1e-5)


def test_featurizing_reports_progress_from_the_first_batch_not_per_shard(
    tiny_teacher_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    teacher = load_teacher(str(tiny_teacher_dir), Device.CPU, Precision.FLOAT32, trust_remote_code=False)
    monkeypatch.setattr(features, "BATCH_TOKENS", 64)  # small batches: many of them in one shard
    _, ids = split_long(make_texts(300), teacher)
    seen: list[tuple[int, int]] = []
    features.featurize(teacher, ids, Pooling.MEAN, None, on_progress=lambda done, total: seen.append((done, total)))
    assert len(ids) < features.SHARD_TEXTS  # one shard, yet the bar moves many times
    assert len(seen) > 10 and seen[0][0] < len(ids) // 4 and seen[-1] == (len(ids), len(ids))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_long_texts_are_cut_into_pieces_that_fit_the_teacher(tiny_teacher_dir: Path) -> None:
    teacher = load_teacher(str(tiny_teacher_dir), Device.CPU, Precision.FLOAT32, trust_remote_code=False)
    long_text = " ".join(WORDS * 12)  # 180 tokens; the tiny teacher takes 62
    pieces, ids = split_long(["short one", long_text], teacher)
    assert pieces[0] == "short one" and len(pieces) == 1 + 3
    assert all(len(i) <= teacher.max_tokens for i in ids)
    assert sum(len(i) for i in ids[1:]) == len(teacher.tokenizer.encode(long_text, add_special_tokens=False).ids)
    assert " ".join(pieces[1:]) == long_text


# ----- refining ------------------------------------------------------------------------------------


def test_refining_lowers_the_held_out_loss_and_saves_a_normal_model(
    student: Path, corpus_file: Path, tmp_path: Path, tiny_teacher_dir: Path
) -> None:
    result = run_refine(student, corpus_file, tmp_path / "out", tmp_path / "cache", tiny_teacher_dir, epochs=8)
    training = result.training
    assert training.validation_loss < training.initial_validation_loss
    assert training.texts == {"train": 360, "validation": 40}
    loaded = StaticEmbedder.from_pretrained(tmp_path / "out")
    record = loaded.config["refinement"]
    assert record["corpus"]["texts"] == 400 and record["corpus"]["sha256"] == read_corpus(str(corpus_file)).content_hash
    assert record["best_step"] == training.best_step and record["validation_loss"] == round(training.validation_loss, 6)
    assert loaded.dim == 8 and loaded.normalize
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Refinement" in card and record["corpus"]["sha256"] in card and str(corpus_file) in card
    info = run_m2v("info", str(tmp_path / "out"), "--format", "json")
    facts = json.loads(info.stdout)["distillation"]
    assert facts["refined_on"] == str(corpus_file) and facts["refinement_steps"] == training.steps
    assert facts["refinement_pooling"] == "mean"  # what it was trained toward, beside the distillation's pooling
    table = run_m2v("info", str(tmp_path / "out")).stdout.decode()
    assert "refined toward        the teacher's mean-pooled text vectors" in table and "token pooling" in table
    assert "folder format         model2vec" in table  # the folder's format, beside "made by m2v"
    vectors = loaded.encode(["hello world", "the dog"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-3)
    assert not np.allclose(loaded.float_table(), StaticEmbedder.from_pretrained(student).float_table())


def test_refining_is_deterministic_and_the_second_run_reads_the_cache(
    student: Path, corpus_file: Path, tmp_path: Path, tiny_teacher_dir: Path
) -> None:
    cache = tmp_path / "cache"
    first = run_refine(student, corpus_file, tmp_path / "a", cache, tiny_teacher_dir)
    second = run_refine(student, corpus_file, tmp_path / "b", cache, tiny_teacher_dir)
    assert first.cached_texts == 0 and second.cached_texts == 400
    np.testing.assert_array_equal(first.model.float_table(), second.model.float_table())
    other = run_refine(student, corpus_file, tmp_path / "c", cache, tiny_teacher_dir, pooling="tokens")
    assert other.cached_texts == 0 and other.cache != first.cache  # other settings: another cache, never mixed
    seeded = run_refine(student, corpus_file, tmp_path / "d", cache, tiny_teacher_dir, seed=5)
    assert not np.array_equal(first.model.float_table(), seeded.model.float_table())


def test_an_interrupted_featurizing_resumes_and_a_damaged_shard_is_redone(
    student: Path, corpus_file: Path, tmp_path: Path, tiny_teacher_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(features, "SHARD_TEXTS", 100)
    cache = tmp_path / "cache"
    calls = []

    def stop_after_two_shards(done: int, total: int) -> None:
        calls.append(done)
        if done > 200:  # a batch of the third shard: two shards are written, the third is not
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_refinement(
            model=str(student),
            corpus=str(corpus_file),
            save_path=str(tmp_path / "out"),
            teacher=str(tiny_teacher_dir),
            dtype="float32",
            cache_dir=str(cache),
            on_progress=stop_after_two_shards,
        )
    assert not (tmp_path / "out").exists()  # no model from a stopped run
    folder = next(cache.iterdir())
    shards = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert len(shards) == 2 and all(p.suffix == ".npy" for p in shards)
    shards[1].write_bytes(b"damaged")
    resumed = run_refine(student, corpus_file, tmp_path / "out", cache, tiny_teacher_dir)
    assert resumed.cached_texts == 100  # shard 0 read back; shard 1 (damaged) and the rest recomputed
    prefix = tmp_path / "prefix.txt"  # a corpus that begins like this one reuses the shards they share
    prefix.write_text("\n".join(corpus_file.read_text().splitlines()[:250]))
    assert run_refine(student, prefix, tmp_path / "p", cache, tiny_teacher_dir).cached_texts == 200
    fresh = run_refine(student, corpus_file, tmp_path / "fresh", tmp_path / "other", tiny_teacher_dir)
    np.testing.assert_array_equal(resumed.model.float_table(), fresh.model.float_table())


def test_a_full_disk_while_caching_is_a_one_line_error(
    student: Path, corpus_file: Path, tmp_path: Path, tiny_teacher_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    real_fdopen = os.fdopen

    class Full:  # a file whose writes find the disk full
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return Full(handle) if "w" in mode else handle

    monkeypatch.setattr(features.os, "fdopen", fdopen)
    with pytest.raises(M2VError, match="No space left on device") as caught:
        run_refine(student, corpus_file, tmp_path / "out", tmp_path / "cache", tiny_teacher_dir)
    assert "\n" not in str(caught.value) and not (tmp_path / "out").exists()
    folder = next((tmp_path / "cache").iterdir())
    assert list(folder.iterdir()) == []  # no half-written shard


def test_a_corpus_too_small_to_hold_out_texts_names_the_minimum(
    student: Path, tmp_path: Path, tiny_teacher_dir: Path
) -> None:
    small = tmp_path / "small.txt"
    small.write_text("\n".join(make_texts(50)))
    with pytest.raises(InputError, match="has 50 texts; refining needs at least 200"):
        run_refine(student, small, tmp_path / "out", tmp_path / "cache", tiny_teacher_dir)


def test_a_model_that_names_no_teacher_needs_teacher(student: Path, corpus_file: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    model = StaticEmbedder.from_pretrained(student)
    model.config.pop("distillation")
    model.config.pop("tokenizer_name")
    model.save_pretrained(bare)
    with pytest.raises(ConfigError, match=r"does not name its teacher in config\.json; pass --teacher"):
        run_refinement(model=str(bare), corpus=str(corpus_file), save_path=str(tmp_path / "out"))


# ----- the commands --------------------------------------------------------------------------------


def test_m2v_refine_writes_a_model_and_a_summary(
    student: Path, corpus_file: Path, tmp_path: Path, tiny_teacher_dir: Path
) -> None:
    out = tmp_path / "refined"
    env = {"M2V_CACHE": str(tmp_path / "cache")}
    ran = run_m2v(
        "refine", str(student), "--corpus", str(corpus_file), "-o", str(out), "--teacher", str(tiny_teacher_dir),
        "--epochs", "2", env=env,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == b""
    text = ran.stderr.decode()
    assert "Featurizing the corpus" in text and "epoch 2: step" in text and "validation loss" in text
    assert StaticEmbedder.from_pretrained(out).config["refinement"]["epochs"] == 2
    assert b"Replaced" not in ran.stderr
    again = run_m2v(
        "refine", str(student), "--corpus", str(corpus_file), "-o", str(out), "--teacher", str(tiny_teacher_dir),
        "--epochs", "1", env=env,
    )  # fmt: skip
    assert again.returncode == 0 and f"Replaced the model that was in {out}.".encode() in again.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--corpus", "{corpus}"], 2, "no output folder given"),
        (["-o", "{tmp}/out"], 2, "no corpus given"),
        (["--corpus", "{tmp}/nope.txt", "-o", "{tmp}/out"], 1, "does not exist"),
        (["--corpus", "{corpus}", "-o", "{tmp}/out", "--epochs", "0"], 2, "Error: Invalid value for --epochs"),
        (["--corpus", "{corpus}", "-o", "{tmp}/out", "--teacher", "{tmp}/nope"], 1, "does not exist"),
        (
            ["--corpus", "{corpus}", "-o", "{tmp}/out", "--max-texts", "100"],
            1,
            "Error: --max-texts must be at least 200",
        ),
    ],
)
def test_m2v_refine_bad_input(
    student: Path, corpus_file: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    filled = [a.format(corpus=corpus_file, tmp=tmp_path) for a in args]
    ran = run_m2v("refine", str(student), *filled)
    assert ran.returncode == code, ran.stderr
    assert message in ran.stderr.decode()
    assert "Traceback" not in ran.stderr.decode() and not (tmp_path / "out").exists()


def test_m2v_distill_with_a_corpus_refines_with_the_same_teacher(
    tiny_teacher_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model"
    env = {"M2V_CACHE": str(tmp_path / "cache")}
    ran = run_m2v(
        "distill", "-m", str(tiny_teacher_dir), "--pca-dims", "8", "-o", str(out), "--corpus", str(corpus_file),
        "--max-texts", "300", env=env,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["refinement"]["corpus"]["texts"] == 300
    assert config["refinement"]["teacher"] == config["distillation"]["teacher"] == str(tiny_teacher_dir)
    assert config["embedding_dtype"] == "float16"


def test_vocabulary_from_the_corpus_adds_its_frequent_words_the_teacher_splits(
    tiny_teacher_dir: Path, tmp_path: Path
) -> None:
    texts = make_texts(300)
    texts += ["the cats sat on the mat"] * 30 + ["dogs go alone"] * 20 + ["it filmed a movie"]
    corpus = tmp_path / "texts.txt"
    corpus.write_text("\n".join(texts))
    common = {"model": str(tiny_teacher_dir), "pca_dims": 8, "dtype": "float32", "corpus": str(corpus)}
    result = distill_and_refine(vocabulary="corpus:5", **common)
    vocab = json.loads(result.model.tokenizer_json)["model"]["vocab"]
    assert "cats" in vocab and "dogs" in vocab and "filmed" not in vocab  # filmed: seen once
    assert result.added == 2 and "hello" in vocab
    one = distill_and_refine(vocabulary="corpus:1", **common)
    assert one.added == 1 and "cats" in json.loads(one.model.tokenizer_json)["model"]["vocab"]
    with pytest.raises(ConfigError, match="corpus:N"):
        distill_and_refine(vocabulary="corpus:many", **common)
    with pytest.raises(ConfigError, match="give --corpus too"):
        distill_and_refine(model=str(tiny_teacher_dir), vocabulary="corpus:5")


def test_a_teacher_that_cannot_be_found_says_to_pass_teacher(student: Path, corpus_file: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    model = StaticEmbedder.from_pretrained(student)
    model.config["distillation"]["teacher"] = "org/a-teacher-not-in-the-cache"
    model.save_pretrained(moved)
    ran = run_m2v("refine", str(moved), "--corpus", str(corpus_file), "-o", str(tmp_path / "out"))
    assert ran.returncode == 1
    message = ran.stderr.decode()
    assert "the model's teacher cannot be loaded" in message and "pass --teacher MODEL" in message
    assert len(message.strip().splitlines()) <= 4 and not (tmp_path / "out").exists()


def test_stopping_during_training_writes_no_model(
    student: Path, corpus_file: Path, tmp_path: Path, tiny_teacher_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def stop(record: dict[str, float]) -> None:
        assert len(list(scratch.iterdir())) == 1  # training's targets are in a scratch folder while it runs
        raise KeyboardInterrupt

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(KeyboardInterrupt):
        run_refinement(
            model=str(student),
            corpus=str(corpus_file),
            save_path=str(tmp_path / "out"),
            teacher=str(tiny_teacher_dir),
            dtype="float32",
            on_step=stop,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no folder, no hidden temporary one
    assert list(scratch.iterdir()) == []  # nor the scratch folder


def test_pca_targets_are_the_principal_components_of_the_training_rows() -> None:
    from m2vcli.refinement.train import pca_targets

    rng = np.random.default_rng(0)
    vectors = (rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6)) + 3.0).astype(np.float32)
    train = np.arange(0, 500, 2)
    got = pca_targets(vectors, train, 3, chunk=64)  # several chunks
    centred = vectors[train].astype(np.float64) - vectors[train].mean(axis=0, dtype=np.float64)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    expected = (vectors - vectors[train].mean(axis=0, dtype=np.float64)) @ axes[:3].T
    np.testing.assert_allclose(np.abs(got), np.abs(expected), rtol=1e-4, atol=1e-4)  # each axis up to its sign
    np.testing.assert_allclose(got, pca_targets(vectors, train, 3, chunk=500), atol=1e-5)


def test_no_cache_neither_reads_nor_writes_the_cache(
    student: Path, corpus_file: Path, tmp_path: Path, tiny_teacher_dir: Path
) -> None:
    cache = tmp_path / "cache"
    run_refine(student, corpus_file, tmp_path / "a", cache, tiny_teacher_dir)
    shards = sorted(p.name for p in cache.rglob("*.npy"))
    again = run_refine(student, corpus_file, tmp_path / "b", cache, tiny_teacher_dir, cache=False)
    assert again.cached_texts == 0 and again.cache is None
    assert sorted(p.name for p in cache.rglob("*.npy")) == shards
    ran = run_m2v("refine", str(student), "--corpus", str(corpus_file), "-o", str(tmp_path / "c"),
                  "--teacher", str(tiny_teacher_dir), "--no-cache", "--epochs", "1",
                  env={"M2V_CACHE": str(tmp_path / "never")})  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert not (tmp_path / "never").exists()


def test_anchor_holds_trained_rows_near_their_distilled_values() -> None:
    from m2vcli.refinement.storage import Ragged
    from m2vcli.refinement.train import TrainSettings, align_table, split_validation, train_table

    rng = np.random.default_rng(0)
    table = rng.normal(size=(30, 4)).astype(np.float32)
    rows = [rng.integers(0, 30, size=rng.integers(2, 8)) for _ in range(400)]
    truth = rng.normal(size=(30, 4))
    targets = np.stack([truth[r].mean(axis=0) for r in rows]).astype(np.float32)  # learnable from the rows
    settings = TrainSettings(epochs=5, learning_rate=0.01)
    train, held = split_validation(400, settings)
    start = align_table(table, Ragged.from_rows(rows), targets, train)
    free = train_table(table, rows, targets, settings, train, held)
    assert free.validation_loss < free.initial_validation_loss
    held_near = train_table(
        table, rows, targets, TrainSettings(epochs=5, learning_rate=0.01, anchor=100.0), train, held
    )
    assert np.linalg.norm(held_near.table - start) < 0.5 * np.linalg.norm(free.table - start)
    with pytest.raises(ConfigError, match="anchor must be"):
        run_refinement(model="m", corpus="c", save_path="o", anchor=-1)


def test_the_python_api_refines_without_saving(
    student: Path, corpus_file: Path, tmp_path: Path, tiny_teacher_dir: Path
) -> None:
    import m2vcli

    model = m2vcli.refine(str(student), str(corpus_file), teacher=str(tiny_teacher_dir), dtype="float32", epochs=2)
    assert isinstance(model, StaticEmbedder) and "refinement" in model.config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["texts.txt"]  # nothing saved next to the inputs


def test_refining_keeps_the_models_storage_type_unless_told_and_info_agrees(
    student: Path, corpus_file: Path, tmp_path: Path, tiny_teacher_dir: Path
) -> None:
    StaticEmbedder.from_pretrained(student).quantize("int8").save_pretrained(tmp_path / "small")
    for out, given, expected in (("kept", None, "int8"), ("told", "float32", "float32")):
        kw = {} if given is None else {"quantize": given}
        run_refine(tmp_path / "small", corpus_file, tmp_path / out, tmp_path / "cache", tiny_teacher_dir, **kw)
        assert StaticEmbedder.from_pretrained(tmp_path / out).embeddings.dtype.name == expected
        facts = json.loads(run_m2v("info", str(tmp_path / out), "--format", "json").stdout)
        shown = json.dumps(facts)
        assert f'"{expected}"' in shown and ("int8" not in shown or expected == "int8"), shown


def test_refine_takes_the_model_as_m_too(
    student: Path, corpus_file: Path, tmp_path: Path, tiny_teacher_dir: Path
) -> None:
    env = {"M2V_CACHE": str(tmp_path / "cache")}
    common = ["--corpus", str(corpus_file), "--teacher", str(tiny_teacher_dir), "--epochs", "1"]
    ran = run_m2v("refine", "-m", str(student), *common, "-o", str(tmp_path / "a"), env=env)
    assert ran.returncode == 0, ran.stderr
    err = ran.stderr.decode()  # one epoch, and it was the best: the run stopped at its limit
    assert "1 epoch," in err and "1 epochs" not in err
    assert " texts" in err and "pieces" not in err and "teacher inputs" not in err  # no text was cut
    assert "still improving at the last epoch (1): more epochs may help, for example --epochs 2." in err
    ran = run_m2v("refine", str(student), "-m", str(tmp_path / "other"), *common, "-o", str(tmp_path / "b"), env=env)
    assert ran.returncode == 2 and b"give the model once" in ran.stderr and not (tmp_path / "b").exists()


def test_the_summary_counts_texts_and_says_what_cut_ones_became() -> None:
    from m2vcli.commands._output import corpus_size

    assert corpus_size(1, 1) == "1 text" and corpus_size(5000, 5000) == "5,000 texts"
    assert corpus_size(5000, 5210) == "5,000 texts (5,210 teacher inputs: long texts cut to fit the teacher)"


def test_still_improving_means_the_last_epoch_was_the_best() -> None:
    from m2vcli.refinement.train import TrainResult

    table = np.zeros((1, 1), dtype=np.float32)
    history = [{"epoch": e, "step": 10 * e} for e in (1, 2, 3)]
    at_limit = TrainResult(table, steps=30, best_step=30, train_loss=0, validation_loss=0, initial_validation_loss=1)
    stopped = TrainResult(table, steps=30, best_step=10, train_loss=0, validation_loss=0, initial_validation_loss=1)
    never = TrainResult(table, steps=30, best_step=0, train_loss=0, validation_loss=1, initial_validation_loss=1)
    assert at_limit.still_improving and not stopped.still_improving and not never.still_improving
    assert history  # the records the steps come from


def test_the_contrastive_loss_is_in_batch_infonce_and_training_lowers_it() -> None:
    """Held-out loss at the start: the cross-entropy of each text's cosine to every held-out target (at
    temperature 0.05) against its own, computed here with numpy on the aligned table; training lowers it."""
    from m2vcli.refinement.storage import Ragged
    from m2vcli.refinement.train import CONTRASTIVE_TEMPERATURE, Loss, TrainSettings, align_table, train_table

    rng = np.random.default_rng(0)
    table = rng.normal(size=(40, 6)).astype(np.float32)
    rows = [rng.integers(0, 40, size=rng.integers(1, 6)).astype(np.int32) for _ in range(300)]
    targets = rng.normal(size=(300, 5)).astype(np.float32)
    train, held = np.arange(240), np.arange(240, 300)
    settings = TrainSettings(epochs=5, batch_size=64, loss=Loss.CONTRASTIVE)
    result = train_table(table, rows, targets, settings, train, held)
    aligned = align_table(table, Ragged.from_rows(rows), targets, train)
    means = np.stack([aligned[rows[i]].mean(axis=0) for i in held])
    pred = means / np.linalg.norm(means, axis=1, keepdims=True)
    gold = targets[held] / np.linalg.norm(targets[held], axis=1, keepdims=True)
    logits = pred @ gold.T / CONTRASTIVE_TEMPERATURE
    logits -= logits.max(axis=1, keepdims=True)
    expected = float(np.mean(np.log(np.exp(logits).sum(axis=1)) - np.diag(logits)))
    assert result.initial_validation_loss == pytest.approx(expected, rel=1e-3)
    assert result.validation_loss < result.initial_validation_loss
