"""``--weighting corpus``: SIF probabilities from the tokens a corpus holds, blended with the rank estimate."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.distillation import Weighting, run_distillation
from m2vcli.distillation.distiller import token_counts
from m2vcli.distillation.numerics import CORPUS_PRIOR, row_probabilities, row_weights
from m2vcli.distillation.vocabulary import Vocabulary
from m2vcli.distillation.wordlists import WordList
from m2vcli.errors import ConfigError
from m2vcli.refinement import distill_and_refine
from tests.helpers import run_m2v

TEXTS = ["the dog sat on the mat", "the cat and the dog", "hello world", "the end"] * 25


def vocab(rows: int, added: int = 0, frequencies: list[float] | None = None) -> Vocabulary:
    return Vocabulary(
        "{}", [f"t{i}" for i in range(rows)], [[i] for i in range(rows)], rows - added, word_frequencies=frequencies
    )


def test_counts_lead_and_the_rank_estimate_fills_in() -> None:
    counts = np.array([0, 0, 0, 900, 100])
    p = row_probabilities(vocab(5), Weighting.CORPUS, counts)
    assert p.sum() == pytest.approx(1.0)
    zipf = row_probabilities(vocab(5), Weighting.ZIPF)
    # a token the corpus never shows keeps its rank estimate's share of the prior
    assert p[0] == pytest.approx(CORPUS_PRIOR * zipf[0] / (1 + CORPUS_PRIOR))
    assert p[3] > 1.5 * zipf[3] and p[3] > p[4] > zipf[4]  # the counted tokens move up, by their counts
    weights = row_weights(vocab(5), 1e-3, Weighting.CORPUS, counts)
    by_rank = row_weights(vocab(5), 1e-3, Weighting.ZIPF)
    assert weights[3] < by_rank[3] and weights[0] > by_rank[0]  # frequent in the corpus: weighted down


def test_an_empty_corpus_leaves_the_rank_estimate() -> None:
    p = row_probabilities(vocab(4, added=1, frequencies=[0.5]), Weighting.CORPUS, np.zeros(4, dtype=np.int64))
    expected = row_probabilities(vocab(4, added=1, frequencies=[0.5]), Weighting.FREQUENCY)
    np.testing.assert_allclose(p, expected / expected.sum())


def test_counts_must_cover_every_row() -> None:
    with pytest.raises(ValueError, match="one token count per row"):
        row_probabilities(vocab(3), Weighting.CORPUS, np.array([1, 2]))
    with pytest.raises(ValueError, match="one token count per row"):
        row_probabilities(vocab(3), Weighting.CORPUS, None)


def test_token_counts_are_the_models_own_tokens(tiny_teacher_dir: Path) -> None:
    words = WordList(source="list", words=["dog sat"])
    model = run_distillation(model=str(tiny_teacher_dir), pca_dims=None, dtype="float32", words=words).model
    rows = model.embeddings.shape[0]
    rows_of = Vocabulary(model.tokenizer_json, [str(i) for i in range(rows)], [[0]] * rows, rows)
    counts = token_counts(rows_of, TEXTS, batch=7)  # batches that do not divide the texts
    expected = np.zeros(rows, dtype=np.int64)
    for ids in model.tokenize(TEXTS, max_length=None):
        for i in ids:
            expected[i] += 1
    np.testing.assert_array_equal(counts, expected)
    phrase, the = model.tokenizer.token_to_id("dog sat"), model.tokenizer.token_to_id("the")
    assert phrase is not None and counts[phrase] == 25  # an added phrase counts whole, once per occurrence
    assert counts[the] == 125


def test_corpus_weighting_rescales_each_row_by_its_weight(tiny_teacher_dir: Path) -> None:
    common = {"model": str(tiny_teacher_dir), "pca_dims": None, "dtype": "float32", "quantize": "float32"}
    plain = run_distillation(**common, sif_coefficient=1e-2)
    counted = run_distillation(**common, sif_coefficient=1e-2, weighting="corpus", corpus_texts=TEXTS)
    unweighted = run_distillation(**common, sif_coefficient=None)
    rows = unweighted.model.embeddings.shape[0]
    counts = np.zeros(rows)
    for ids in unweighted.model.tokenize(TEXTS, max_length=None):
        np.add.at(counts, ids, 1)
    total, ranks = counts.sum(), np.arange(1, rows + 1)
    zipf = 1 / (ranks * np.sum(1 / ranks))
    p = (counts + CORPUS_PRIOR * total * zipf) / (total + CORPUS_PRIOR * total)
    expected = unweighted.model.embeddings * (1e-2 / (1e-2 + p))[:, None]
    np.testing.assert_allclose(counted.model.embeddings, expected, rtol=1e-4, atol=1e-7)
    the = plain.model.tokenizer.token_to_id("the")
    # "the" (125 of the corpus's tokens) is weighted down more than by its rank
    assert np.linalg.norm(counted.model.embeddings[the]) < 0.8 * np.linalg.norm(plain.model.embeddings[the])
    assert counted.model.config["distillation"]["weighting"] == "corpus"


def test_corpus_weighting_needs_a_corpus(tiny_teacher_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="give --corpus too"):
        run_distillation(model=str(tiny_teacher_dir), weighting="corpus")
    with pytest.raises(ConfigError, match="drop --no-sif"):
        run_distillation(model=str(tiny_teacher_dir), weighting="corpus", sif_coefficient=None, corpus_texts=TEXTS)
    out = tmp_path / "model"
    ran = run_m2v("distill", "-m", str(tiny_teacher_dir), "--weighting", "corpus", "-o", str(out))
    assert ran.returncode == 1 and not out.exists()
    message = ran.stderr.decode().strip()
    assert "--weighting corpus" in message and "give --corpus too" in message and len(message.splitlines()) == 1


def test_distill_with_a_corpus_weights_by_it_then_refines(tiny_teacher_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "texts.txt"
    rng = random.Random(0)
    words = " ".join(TEXTS[:4]).split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) for _ in range(300)]
    corpus.write_text("\n".join(texts), encoding="utf-8")
    out = tmp_path / "model"
    result = distill_and_refine(
        model=str(tiny_teacher_dir), pca_dims=8, dtype="float32", corpus=str(corpus), weighting="corpus",
        save_path=str(out),
    )  # fmt: skip
    config = StaticEmbedder.from_pretrained(out).config
    assert config["distillation"]["weighting"] == "corpus" and config["refinement"]["corpus"]["texts"] == 300
    assert result.model.embeddings.shape[1] == 8


def test_no_refine_only_counts_the_corpus(tiny_teacher_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "texts.txt"
    corpus.write_text("\n".join(TEXTS[:4]), encoding="utf-8")  # 4 texts: too few to refine on, enough to count
    out = tmp_path / "model"
    common = ("distill", "-m", str(tiny_teacher_dir), "--pca-dims", "8", "--dtype", "float32")
    ran = run_m2v(*common, "--corpus", str(corpus), "--weighting", "corpus", "--no-refine", "-o", str(out))
    assert ran.returncode == 0, ran.stderr
    assert "4texts(notrefinedon)" in "".join(ran.stderr.decode().split())  # the summary, however it wraps
    config = StaticEmbedder.from_pretrained(out).config
    assert "refinement" not in config
    assert config["distillation"]["weighting"] == "corpus" and config["distillation"]["corpus"]["texts"] == 4
    plain = run_distillation(model=str(tiny_teacher_dir), pca_dims=8, dtype="float32").model
    counted = StaticEmbedder.from_pretrained(out)
    the = plain.tokenizer.token_to_id("the")
    assert np.linalg.norm(counted.embeddings[the]) < 0.8 * np.linalg.norm(plain.embeddings[the])


@pytest.mark.parametrize(
    "extra",
    [
        ["--no-refine"],  # no corpus
        ["--no-refine", "--corpus", "CORPUS"],  # a corpus nothing counts
        ["--no-refine", "--vocabulary", "wordfreq:en:10", "--corpus", "CORPUS"],
    ],
)
def test_no_refine_needs_a_corpus_to_count(tiny_teacher_dir: Path, tmp_path: Path, extra: list[str]) -> None:
    corpus = tmp_path / "texts.txt"
    corpus.write_text("\n".join(TEXTS), encoding="utf-8")
    out = tmp_path / "model"
    args = [str(corpus) if a == "CORPUS" else a for a in extra]
    ran = run_m2v("distill", "-m", str(tiny_teacher_dir), *args, "-o", str(out))
    message = ran.stderr.decode().strip()
    assert ran.returncode == 1 and not out.exists()
    assert "--no-refine" in message and "--weighting corpus" in message and len(message.splitlines()) == 1


def test_python_distill_counts_a_list_of_texts_without_refining(tiny_teacher_dir: Path) -> None:
    from m2vcli import distill

    model = distill(
        model=str(tiny_teacher_dir), pca_dims=8, dtype="float32", corpus=TEXTS, vocabulary="corpus:3",
        refine=False,
    )  # fmt: skip
    assert "refinement" not in model.config and model.config["distillation"]["corpus"]["texts"] == len(TEXTS)
    assert model.tokenizer.token_to_id("dog sat") is None  # corpus:N adds whole words only
