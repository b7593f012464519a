"""Cache files are private data (never followed, never blocking), cached data is verified by content,
and a refinement that can learn nothing fails before saving, over nothing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from m2vcli.distillation import run_distillation
from m2vcli.errors import ConfigError, InputError
from m2vcli.refinement import run_refinement
from tests.refinement.test_refine import make_texts, run_refine


def shard_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*.npy"))


def digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())).hexdigest()


@pytest.fixture(scope="module")
def student(tiny_teacher_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("student") / "model"
    run_distillation(model=str(tiny_teacher_dir), pca_dims=8, dtype="float32", save_path=str(path))
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(make_texts(400)) + "\n")
    return path


@pytest.mark.parametrize("planted", ["symlink", "fifo", "corrupt"])
def test_a_bad_cache_entry_is_dropped_named_and_never_followed(
    student: Path,
    corpus: Path,
    tmp_path: Path,
    tiny_teacher_dir: Path,
    planted: str,
) -> None:
    cache = tmp_path / "cache"
    first = run_refine(student, corpus, tmp_path / "one", cache, tiny_teacher_dir)
    (shard,) = shard_files(cache)
    victim = tmp_path / "user_file.txt"
    victim.write_text("mine")
    shard.unlink()
    if planted == "symlink":
        shard.symlink_to(victim)
    elif planted == "fifo":
        os.mkfifo(shard)
    else:
        np.save(shard, np.zeros((400, 32), dtype=np.float32))  # the right header, the wrong data
    again = run_refine(student, corpus, tmp_path / "two", cache, tiny_teacher_dir)
    assert victim.read_text() == "mine"  # the link was replaced, its target never written
    assert len(again.cache_dropped) == 1 and str(shard) in again.cache_dropped[0]
    assert again.cached_texts == 0 and shard.is_file() and not shard.is_symlink()
    np.testing.assert_array_equal(again.model.embeddings, first.model.embeddings)
    third = run_refine(student, corpus, tmp_path / "three", cache, tiny_teacher_dir)
    assert third.cached_texts == 400 and third.cache_dropped == []


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["the cat sat on the mat"] * 400, "only 1 distinct ones;"),
        ([f"qqq {'z' * (i + 1)}" for i in range(400)], "only 0 distinct ones with a token the model knows"),
        (["hello world", "the dog"] * 200, "only 2 distinct ones"),  # a field with two values
    ],
)
def test_a_corpus_with_no_signal_fails_before_the_teacher_pass_and_saves_nothing(
    student: Path,
    tmp_path: Path,
    tiny_teacher_dir: Path,
    texts: list[str],
    message: str,
) -> None:
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts) + "\n")
    before = digest(student)
    with pytest.raises(InputError, match=message):
        run_refinement(model=str(student), corpus=str(path), save_path=str(student), teacher=str(tiny_teacher_dir))
    assert digest(student) == before  # -o was the model itself: it is left as it was
    assert not (tmp_path / "cache").exists()


def test_a_model_wider_than_its_teacher_is_refused_before_the_teacher_pass(
    tiny_teacher_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    from m2vcli import StaticEmbedder
    from tests.helpers import tiny_model

    wide = tiny_model(dim=64, config={"distillation": {"teacher": str(tiny_teacher_dir)}})
    assert isinstance(wide, StaticEmbedder)
    wide.save_pretrained(tmp_path / "wide")
    with pytest.raises(ConfigError, match="has 64 dims, more than its teacher's 32"):
        run_refinement(model=str(tmp_path / "wide"), corpus=str(corpus), save_path=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_an_unbounded_seed_is_one_line_before_any_work(tiny_model_dir: Path, tmp_path: Path) -> None:
    from tests.helpers import run_m2v

    (tmp_path / "texts.txt").write_text("hello world\n")
    ran = run_m2v(
        "refine", str(tiny_model_dir), "--corpus", str(tmp_path / "texts.txt"), "-o", str(tmp_path / "o"),
        "--seed", str(2**32),
    )  # fmt: skip
    assert (
        ran.returncode == 1
        and ran.stderr.decode() == "Error: --seed must be a whole number from 0 to 4294967295, got 4294967296\n"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["one text, again"] * 500, "only 1 distinct ones"),
        (make_texts(50), "has 50 texts; refining needs at least 200"),
    ],
)
def test_distill_with_a_corpus_too_small_fails_before_distilling(
    tiny_teacher_dir: Path, tmp_path: Path, texts: list[str], message: str
) -> None:
    from m2vcli.refinement import distill_and_refine

    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts) + "\n")
    embedded: list[int] = []
    with pytest.raises(InputError, match=message):
        distill_and_refine(
            model=str(tiny_teacher_dir),
            corpus=str(path),
            pca_dims=8,
            save_path=str(tmp_path / "out"),
            on_progress=lambda done, total: embedded.append(done),
        )
    assert embedded == [] and not (tmp_path / "out").exists()  # the teacher's pass over the vocabulary never ran


def test_a_long_text_is_tokenized_in_windows_and_cut_where_tokens_end(tiny_teacher_dir: Path) -> None:
    from m2vcli.refinement.pieces import TOKEN_CHARS, split_long
    from m2vcli.teacher import Device, Precision, load_teacher

    teacher = load_teacher(str(tiny_teacher_dir), Device.CPU, Precision.FLOAT32, trust_remote_code=False)
    seen: list[int] = []
    encode_batch = teacher.tokenizer.encode_batch

    def spy(batch: list[str], **kwargs: object) -> object:
        seen.extend(len(t) for t in batch)
        return encode_batch(batch, **kwargs)

    teacher.tokenizer.encode_batch = spy  # type: ignore[method-assign]
    words = ["the", "cat", "sat", "on", "the", "mat"]
    long_text = " ".join(words[i % len(words)] for i in range(200_000))  # about 1 MB
    pieces, ids = split_long(["a short one", long_text], teacher)
    assert max(seen) <= max(TOKEN_CHARS * teacher.max_tokens, 1024)  # never the whole text at once
    assert pieces[0] == "a short one" and all(0 < len(ids[i]) <= teacher.max_tokens for i in range(1, len(pieces)))
    whole = encode_batch([long_text], add_special_tokens=False)[0].ids
    assert [t for i in range(1, len(pieces)) for t in ids[i]] == whole  # cut at spaces: no token changes
    assert " ".join(p.strip() for p in pieces[1:]) == long_text


@pytest.mark.parametrize("command", ["refine", "distill"])
def test_an_unwritable_cache_folder_fails_before_the_teacher_loads(
    student: Path, corpus: Path, tmp_path: Path, tiny_teacher_dir: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    from m2vcli.errors import OutputError
    from m2vcli.refinement import distill_and_refine

    (tmp_path / "a_file").write_text("x")
    monkeypatch.setenv("M2V_CACHE", str(tmp_path / "a_file" / "cache"))
    phases: list[str] = []
    with pytest.raises(OutputError, match="cannot make the feature cache folder"):
        if command == "refine":
            run_refinement(
                model=str(student), corpus=str(corpus), save_path=str(tmp_path / "o"), on_phase=phases.append
            )
        else:
            distill_and_refine(
                model=str(tiny_teacher_dir), corpus=str(corpus), save_path=str(tmp_path / "o"), on_phase=phases.append
            )
    assert phases == [] and not (tmp_path / "o").exists()
