"""Both directions of the shared format: m2v <-> model2vec 0.10, and m2v -> sentence-transformers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder

model2vec = pytest.importorskip("model2vec", reason="model2vec is in the test extra")


def assert_same_vectors(ours: np.ndarray, theirs: np.ndarray) -> None:
    """The same rows are all zero (a text with no known token) in both, and every value agrees to the precision
    of the other library's output."""
    assert theirs.shape == ours.shape
    np.testing.assert_array_equal(~ours.any(axis=1), ~theirs.any(axis=1))
    if theirs.dtype == np.float16:
        # model2vec encodes a float16 table in float16: the mean is rounded to float16, and the normalized vector
        # again, so the two agree to float16's precision (about 1e-3), not float32's.
        rtol = atol = float(np.finfo(np.float16).eps)
    else:
        rtol, atol = 1e-5, 1e-6
    np.testing.assert_allclose(ours.astype(np.float64), theirs.astype(np.float64), rtol=rtol, atol=atol)


def with_empty(texts: list[str]) -> list[str]:
    """The texts and an empty one, whose vector is all zeros in m2v and in model2vec (sentence-transformers gives
    it a non-zero vector, so its tests leave it out)."""
    return ["", *texts]


def test_m2v_folder_loads_in_model2vec(real_static_dir: Path, sentences: list[str]) -> None:
    texts = with_empty(sentences)
    ours = StaticEmbedder.from_pretrained(real_static_dir).encode(texts)
    theirs = model2vec.StaticModel.from_pretrained(str(real_static_dir)).encode(texts)
    assert_same_vectors(ours, theirs)


@pytest.mark.slow
def test_m2v_folder_loads_in_sentence_transformers(real_static_dir: Path, sentences: list[str]) -> None:
    from sentence_transformers import SentenceTransformer

    texts = sentences[:500]
    ours = StaticEmbedder.from_pretrained(real_static_dir).encode(texts)
    theirs = SentenceTransformer(str(real_static_dir), device="cpu").encode(texts, convert_to_numpy=True)
    assert_same_vectors(ours, theirs)


@pytest.fixture(scope="module")
def model2vec_source(real_static_dir: Path) -> object:
    return model2vec.StaticModel.from_pretrained(str(real_static_dir))


@pytest.mark.parametrize("variant", ["float16", "int8", "vocabulary"])
def test_model2vec_folder_loads_in_m2v(
    variant: str, model2vec_source: object, tmp_path: Path, sentences: list[str]
) -> None:
    from model2vec.model import quantize_model

    if variant == "vocabulary":
        source = quantize_model(model2vec_source, vocabulary_quantization=32)
        assert source.token_mapping is not None and source.weights is not None
    else:
        source = quantize_model(model2vec_source, quantize_to=variant)
    source.save_pretrained(str(tmp_path / variant))
    ours = StaticEmbedder.from_pretrained(tmp_path / variant)
    assert ours.embeddings.dtype == source.embedding.dtype
    if variant == "vocabulary":
        assert ours.mapping is not None and ours.weights is not None
    texts = with_empty(sentences[:1000])
    assert_same_vectors(ours.encode(texts), source.encode(texts))


@pytest.mark.slow
def test_sentence_transformers_folder_loads_in_m2v(real_static_dir: Path, tmp_path: Path, sentences: list[str]) -> None:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(real_static_dir), device="cpu")
    st.save(str(tmp_path / "st"))
    ours = StaticEmbedder.from_pretrained(tmp_path / "st")
    assert ours.normalize  # from the Normalize module, as there is no config.json
    texts = sentences[:500]
    theirs = st.encode(texts, convert_to_numpy=True)
    assert_same_vectors(ours.encode(texts), theirs)
