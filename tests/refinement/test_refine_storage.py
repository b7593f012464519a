"""Refinement's compact storage: token ids as one flat array, feature shards and training targets on disk."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from m2vcli.errors import InputError, M2VError
from m2vcli.refinement import features as features_module
from m2vcli.refinement.features import Features, _write_shard
from m2vcli.refinement.storage import Ragged, RowFile
from m2vcli.refinement.train import TrainSettings, pca_targets, split_validation, train_table


def random_rows(n: int, seed: int = 0, high: int = 50) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, high, size=int(rng.integers(0, 9))) for _ in range(n)]


def test_ragged_holds_each_row_and_takes_any_selection() -> None:
    rows = random_rows(300)
    ragged = Ragged.from_rows(rows)
    assert ragged.flat.dtype == np.int32 and len(ragged) == 300 and ragged.tokens == sum(len(r) for r in rows)
    for got, row in zip(ragged, rows, strict=True):
        assert got.tolist() == row.tolist()
    assert ragged[-1].tolist() == rows[-1].tolist()
    with pytest.raises(IndexError):
        ragged[300]
    part = ragged[100:220]  # a slice keeps the rows it names, views into the same array
    assert len(part) == 120 and [r.tolist() for r in part] == [r.tolist() for r in rows[100:220]]
    assert part[0].base is not None
    chosen = np.array([5, 250, 5, 0, 299, 17])  # unsorted, a repeat
    for source, offset in ((ragged, 0), (part, 100)):
        picked = chosen[chosen < len(source)] if offset else chosen
        flat, offsets, lengths = source.take(picked)
        expected = [rows[i + offset] for i in picked]
        assert lengths.tolist() == [len(r) for r in expected]
        assert flat.tolist() == np.concatenate(expected).tolist()
        assert offsets.tolist() == np.concatenate([[0], np.cumsum(lengths)[:-1]]).tolist()
    assert [len(x) for x in ragged.take(np.array([], dtype=np.int64))] == [0, 0, 0]
    assert len(Ragged.from_rows([])) == 0


def test_a_row_file_gives_back_any_rows_it_holds(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(1000, 7)).astype(np.float32)
    rows = RowFile(tmp_path / "rows.f32", 1000, 7)
    with pytest.raises(ValueError, match="holds 0 of its 1000 rows"):
        rows[np.array([0])]
    for start in range(0, 1000, 300):
        rows.append(matrix[start : start + 300])
    with pytest.raises(ValueError, match="do not fit"):
        rows.append(matrix[:1])
    for chosen in (
        rng.permutation(1000)[:256],
        np.arange(1000),
        np.array([3, 3, 4, 2, 999, 0, 4]),  # repeats and a run broken by a repeat
        np.array([], dtype=np.int64),
    ):
        np.testing.assert_array_equal(rows[chosen], matrix[chosen])
    with pytest.raises(IndexError):
        rows[np.array([1000])]
    assert (tmp_path / "rows.f32").stat().st_size == matrix.nbytes
    rows.close()
    assert not (tmp_path / "rows.f32").exists()


def test_a_full_disk_while_writing_rows_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = RowFile(tmp_path / "rows.f32", 10, 2)

    class Full:
        def seek(self, offset: int) -> None:
            pass

        def write(self, data: object) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    real = rows._handle
    monkeypatch.setattr(rows, "_handle", Full())
    with pytest.raises(M2VError, match=r"^cannot write .*rows.f32: No space left on device$"):
        rows.append(np.zeros((2, 2), dtype=np.float32))
    real.close()
    with pytest.raises(M2VError, match="cannot write"):
        RowFile(tmp_path / "no-such-folder" / "rows.f32", 1, 1)


def test_pca_targets_from_shards_on_disk_match_those_from_an_array(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    vectors = (rng.normal(size=(900, 12)) @ rng.normal(size=(12, 12))).astype(np.float32)
    shards = Features(dim=12)
    for i, start in enumerate(range(0, 900, 256)):
        path = tmp_path / f"{i}.npy"
        _write_shard(path, vectors[start : start + 256])
        shards.parts.append(path)
        shards.counts.append(len(vectors[start : start + 256]))
    np.testing.assert_array_equal(shards.array(), vectors)
    train = np.arange(0, 900, 3)
    expected = pca_targets(vectors, train, 5)
    on_disk = RowFile(tmp_path / "targets.f32", 900, 5)
    pca_targets(shards, train, 5, out=on_disk)
    np.testing.assert_allclose(on_disk[np.arange(900)], expected, atol=1e-5)
    on_disk.close()
    (tmp_path / "1.npy").write_bytes(b"not a shard any more")
    with pytest.raises(InputError, match=r"shard .*1\.npy changed while it was in use \(.*\); run again"):
        shards.array()


def test_training_on_disk_targets_and_flat_ids_matches_training_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    table = rng.normal(size=(50, 6)).astype(np.float32)
    rows = random_rows(600, seed=4)
    truth = rng.normal(size=(50, 6))
    targets = np.stack([truth[r].mean(axis=0) if len(r) else np.zeros(6) for r in rows]).astype(np.float32)
    settings = TrainSettings(epochs=3, learning_rate=0.01, batch_size=64, anchor=0.5)
    train, held = split_validation(600, settings)
    in_memory = train_table(table, rows, targets, settings, train, held)
    on_disk = RowFile(tmp_path / "targets.f32", 600, 6)
    on_disk.append(targets)
    flat = train_table(table, Ragged.from_rows(rows), on_disk, settings, train, held)
    np.testing.assert_array_equal(flat.table, in_memory.table)
    assert flat.history == in_memory.history and flat.tokens_seen == in_memory.tokens_seen
    assert flat.validation_loss < flat.initial_validation_loss


def test_featurizing_without_a_folder_keeps_the_vectors_and_with_one_names_the_shards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_teacher_dir: Path
) -> None:
    from m2vcli.refinement.pieces import split_long
    from m2vcli.teacher import Device, Pooling, Precision, load_teacher

    monkeypatch.setattr(features_module, "SHARD_TEXTS", 16)
    teacher = load_teacher(str(tiny_teacher_dir), Device.CPU, Precision.FLOAT32, trust_remote_code=False)
    words = ["the", "movie", "was", "great", "good", "film", "hello", "world"]
    rng = np.random.default_rng(5)
    texts = [" ".join(rng.choice(words, size=3 + i % 7)) for i in range(40)]
    _, ids = split_long(texts, teacher)
    kept = features_module.featurize(teacher, ids, Pooling.TOKENS, None)
    assert all(isinstance(p, np.ndarray) for p in kept.parts) and kept.counts == [16, 16, 8]
    shards = features_module.featurize(teacher, ids, Pooling.TOKENS, tmp_path / "cache")
    assert all(isinstance(p, Path) and p.is_file() for p in shards.parts) and shards.cached == 0
    np.testing.assert_allclose(shards.array(), kept.array(), rtol=1e-5, atol=1e-6)
    again = features_module.featurize(teacher, ids, Pooling.TOKENS, tmp_path / "cache")
    assert again.cached == 40 and again.parts == shards.parts


def test_the_teachers_pass_bounds_torchs_kernel_caches_and_puts_the_variables_back(
    monkeypatch: pytest.MonkeyPatch, tiny_teacher_dir: Path
) -> None:
    from m2vcli.teacher import Device, Pooling, Precision, embed, forward, load_teacher

    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    monkeypatch.setenv("LRU_CACHE_CAPACITY", "8")  # a value the user set is kept
    teacher = load_teacher(str(tiny_teacher_dir), Device.CPU, Precision.FLOAT32, trust_remote_code=False)
    assert "ONEDNN_PRIMITIVE_CACHE_CAPACITY" not in os.environ  # loading runs no kernel: nothing set yet
    seen: list[tuple[str | None, str | None]] = []
    real = forward.pooled_outputs

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append((os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY"), os.environ.get("LRU_CACHE_CAPACITY")))
        return real(*args, **kwargs)

    monkeypatch.setattr(forward, "pooled_outputs", watched)
    embed(teacher, [[5], [6, 7]], Pooling.MEAN, batch_size=1)
    assert seen and set(seen) == {("64", "8")}  # set while the first kernels run
    assert "ONEDNN_PRIMITIVE_CACHE_CAPACITY" not in os.environ and os.environ["LRU_CACHE_CAPACITY"] == "8"
