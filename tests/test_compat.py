"""Both directions of the shared format: m2v <-> model2vec 0.10, and m2v -> sentence-transformers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder

model2vec = pytest.importorskip("model2vec", reason="model2vec is in the test extra")


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    nonzero = (np.linalg.norm(a, axis=1) > 0) & (np.linalg.norm(b, axis=1) > 0)
    a, b = a[nonzero], b[nonzero]
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cos.min())


def test_m2v_folder_loads_in_model2vec(real_static_dir: Path, sentences: list[str]) -> None:
    ours = StaticEmbedder.from_pretrained(real_static_dir).encode(sentences)
    theirs = model2vec.StaticModel.from_pretrained(str(real_static_dir)).encode(sentences)
    assert theirs.shape == ours.shape
    assert min_cosine(ours, theirs) >= 0.999


@pytest.mark.slow
def test_m2v_folder_loads_in_sentence_transformers(real_static_dir: Path, sentences: list[str]) -> None:
    from sentence_transformers import SentenceTransformer

    texts = sentences[:500]
    ours = StaticEmbedder.from_pretrained(real_static_dir).encode(texts)
    theirs = SentenceTransformer(str(real_static_dir), device="cpu").encode(texts, convert_to_numpy=True)
    assert theirs.shape == ours.shape
    assert min_cosine(ours, theirs) >= 0.999


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
    texts = sentences[:1000]
    assert min_cosine(ours.encode(texts), source.encode(texts)) >= 0.999


@pytest.mark.slow
def test_sentence_transformers_folder_loads_in_m2v(real_static_dir: Path, tmp_path: Path, sentences: list[str]) -> None:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(real_static_dir), device="cpu")
    st.save(str(tmp_path / "st"))
    ours = StaticEmbedder.from_pretrained(tmp_path / "st")
    assert ours.normalize  # from the Normalize module, as there is no config.json
    texts = sentences[:500]
    theirs = st.encode(texts, convert_to_numpy=True)
    assert min_cosine(ours.encode(texts), theirs) >= 0.999
