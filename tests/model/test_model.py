from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.model.pooling import pooled_sums
from tests.helpers import tiny_model, tiny_tokenizer


def manual_mean(model: StaticEmbedder, text: str, max_length: int | None = None) -> np.ndarray:
    """An independent computation: the raw tokenizer, a Python loop, numpy mean."""
    ids = tiny_tokenizer().encode(text, add_special_tokens=False).ids
    ids = ids[:max_length] if max_length else ids
    unk = model.tokenizer.token_to_id("[UNK]")
    kept = [i for i in ids if i != unk]
    if not kept:
        return np.zeros(model.dim, dtype=np.float32)
    table = model.embeddings.astype(np.float64)
    return np.mean([table[i] for i in kept], axis=0)


def test_encode_is_the_mean_of_token_vectors() -> None:
    model = tiny_model()
    texts = ["Hello world", "The cat sat on the mat!", "dogs", "unseeing"]
    out = model.encode(texts)
    assert out.dtype == np.float32 and out.shape == (4, model.dim)
    for text, row in zip(texts, out, strict=True):
        np.testing.assert_allclose(row, manual_mean(model, text), rtol=1e-5, atol=1e-6)


def test_single_string_gives_a_vector_and_empty_input_an_empty_matrix() -> None:
    model = tiny_model()
    assert model.encode("hello").shape == (model.dim,)
    assert model.encode([]).shape == (0, model.dim)


def test_unknown_tokens_are_dropped_and_empty_text_is_zero() -> None:
    model = tiny_model()
    a, b, empty, unknown = model.encode(["hello world", "hello ☃ world §", "", "☃ zzz"])
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not empty.any() and not unknown.any()
    assert model.tokenize(["hello ☃"]) == [[model.tokenizer.token_to_id("hello")]]


def test_truncation_keeps_the_first_tokens() -> None:
    model = tiny_model()
    text = "the cat sat on the mat"
    np.testing.assert_allclose(model.encode(text, max_length=2), manual_mean(model, text, 2), rtol=1e-5)
    assert not np.allclose(model.encode(text, max_length=2), model.encode(text))
    np.testing.assert_allclose(model.encode(text, max_length=None), manual_mean(model, text), rtol=1e-5)
    assert len(model.tokenize([text], max_length=3)[0]) == 3


def test_normalization_follows_config_unless_overridden() -> None:
    plain = tiny_model()
    unit = tiny_model(config={"normalize": True})
    assert not np.isclose(np.linalg.norm(plain.encode("hello world")), 1.0)
    assert np.isclose(np.linalg.norm(unit.encode("hello world")), 1.0, atol=1e-6)
    assert np.isclose(np.linalg.norm(plain.encode("hello world", normalize=True)), 1.0, atol=1e-6)
    assert not unit.encode("").any()  # a zero vector stays zero, no NaN


def test_max_length_omitted_is_the_models_and_none_is_no_limit() -> None:
    emb = tiny_model().embeddings
    text = "the cat sat on the mat"
    assert StaticEmbedder(emb, tiny_tokenizer().to_str()).max_length == 512
    model = StaticEmbedder(emb, tiny_tokenizer().to_str(), config={"max_length": 2})
    assert model.max_length == 2 and len(model.tokenize([text])[0]) == 2
    assert len(model.tokenize([text], max_length=None)[0]) == 6
    assert StaticEmbedder(emb, tiny_tokenizer().to_str(), config={"max_length": 2}, max_length=None).max_length is None


def test_concurrent_encodes_with_different_max_lengths_match_single_threaded_results() -> None:
    model = tiny_model()
    texts = [" ".join(["the cat sat on the mat"] * (1 + i % 4)) + f" {i}" for i in range(160)]
    limits = (3, None)
    expected = {n: model.encode(texts, max_length=n, batch_size=8) for n in limits}
    assert not np.array_equal(expected[3], expected[None])

    def run(limit: int | None) -> int:
        return sum(
            not np.array_equal(model.encode(texts, max_length=limit, batch_size=8), expected[limit]) for _ in range(20)
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        mismatches = list(pool.map(run, limits))
    assert mismatches == [0, 0]


def test_the_callers_config_is_left_alone_and_the_effective_settings_are_saved(tmp_path: Path) -> None:
    given = {"tokenizer_name": "tiny"}
    model = StaticEmbedder(tiny_model().embeddings, tiny_tokenizer().to_str(), config=given, max_length=7)
    assert given == {"tokenizer_name": "tiny"}
    assert model.config == {"tokenizer_name": "tiny"}
    assert model.normalize is False and model.max_length == 7
    model.save_pretrained(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["normalize"] is False and saved["max_length"] == 7 and saved["tokenizer_name"] == "tiny"
    assert model.config == {"tokenizer_name": "tiny"}


def test_encode_reports_progress_to_a_callback() -> None:
    heard: list[tuple[int, int]] = []
    tiny_model().encode(["hello world"] * 10, batch_size=3, on_progress=lambda done, total: heard.append((done, total)))
    assert heard == [(3, 10), (6, 10), (9, 10), (10, 10)]


@pytest.mark.subprocess
def test_the_model_does_not_import_the_cli_console() -> None:
    code = "import sys, m2vcli.model; print('m2vcli.console' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("batch_size", [1, 3, 7, 4096])
def test_results_do_not_depend_on_batch_size(batch_size: int) -> None:
    model = tiny_model()
    texts = [f"the cat {'sat ' * (i % 9)} on the mat {i}" for i in range(50)] + [""]
    np.testing.assert_allclose(model.encode(texts, batch_size=batch_size), model.encode(texts), rtol=1e-6)


def test_encode_as_sequence_pools_to_encode() -> None:
    model = tiny_model()
    seqs = model.encode_as_sequence(["hello world", "hello ☃", ""])
    assert [s.shape for s in seqs] == [(2, model.dim), (1, model.dim), (0, model.dim)]
    np.testing.assert_allclose(seqs[0].mean(axis=0), model.encode("hello world"), rtol=1e-6)
    assert model.encode_as_sequence("hello").shape == (1, model.dim)


def test_sizes() -> None:
    model = tiny_model(dim=6)
    assert model.dim == 6
    assert len(model) == model.vocab_size == tiny_tokenizer().get_vocab_size()


def test_mapping_and_weights_follow_the_vocabulary_quantized_layout() -> None:
    base = tiny_model()
    vocab = base.vocab_size
    rng = np.random.default_rng(3)
    centroids = rng.normal(size=(5, base.dim)).astype(np.float32)
    mapping = rng.integers(0, 5, size=vocab)
    weights = rng.uniform(0.5, 2.0, size=vocab).astype(np.float32)
    model = StaticEmbedder(
        centroids, base.tokenizer_json, config={"normalize": False}, mapping=mapping, weights=weights
    )
    text = "the good movie is great"
    ids = tiny_tokenizer().encode(text, add_special_tokens=False).ids
    expected = np.mean([centroids[mapping[i]] * weights[i] for i in ids], axis=0)
    np.testing.assert_allclose(model.encode(text), expected, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_save_and_load_round_trip(tmp_path: Path, dtype: str) -> None:
    model = tiny_model(config={"normalize": True})
    table = model.embeddings
    config = dict(model.config)
    if dtype == "int8":
        scale = float(np.abs(table).max() / 127)
        stored = np.round(table / scale).astype(np.int8)
        config["embedding_scale"] = scale
    else:
        stored = table.astype(dtype)
    model = StaticEmbedder(stored, model.tokenizer_json, config=config)
    model.save_pretrained(tmp_path / "m")
    loaded = StaticEmbedder.from_pretrained(tmp_path / "m")
    assert loaded.embeddings.dtype == np.dtype(dtype)
    assert loaded.config["embedding_dtype"] == dtype and loaded.normalize
    texts = ["hello world", "the cat sat", ""]
    np.testing.assert_allclose(loaded.encode(texts), model.encode(texts), rtol=1e-6)
    raw = StaticEmbedder(table, model.tokenizer_json, config={"normalize": False})
    restored = loaded.encode(texts, normalize=False)
    np.testing.assert_allclose(restored, raw.encode(texts), atol=0.02)  # magnitudes survive int8 too


def test_pooled_sums_match_a_python_loop() -> None:
    rng = np.random.default_rng(0)
    table = np.vstack([rng.normal(size=(50, 4)), np.zeros((1, 4))]).astype(np.float32)
    lengths = rng.integers(0, 40, size=700)
    rows = rng.integers(0, 50, size=int(lengths.sum()))
    weights = rng.uniform(size=rows.size).astype(np.float32)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    expected = np.array([table[rows[s : s + n]].sum(axis=0) for s, n in zip(starts, lengths, strict=True)])
    np.testing.assert_allclose(pooled_sums(table, rows, lengths), expected, rtol=1e-4, atol=1e-5)
    expected_w = np.array(
        [(table[rows[s : s + n]] * weights[s : s + n, None]).sum(axis=0) for s, n in zip(starts, lengths, strict=True)]
    )
    np.testing.assert_allclose(pooled_sums(table, rows, lengths, weights), expected_w, rtol=1e-4, atol=1e-5)
