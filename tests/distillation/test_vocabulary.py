"""Custom vocabularies on WordPiece, byte-level BPE and Unigram teachers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.distillation import Weighting, run_distillation
from m2vcli.distillation.numerics import row_weights
from m2vcli.distillation.vocabulary import Vocabulary
from m2vcli.distillation.wordlists import read_word_file, wordfreq_list
from m2vcli.errors import ConfigError, InputError

KINDS = ["wordpiece", "bpe", "unigram"]


def exact(**kwargs: object) -> dict[str, object]:
    return {
        "pca_dims": None,
        "sif_coefficient": None,
        "quantize": "float32",
        "dtype": "float32",
        "pooling": "mean",
        **kwargs,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_default_vocabulary_for_every_tokenizer_type(kind: str, tiny_teachers: dict[str, Path], tmp_path: Path) -> None:
    result = run_distillation(model=str(tiny_teachers[kind]), pca_dims=8, save_path=str(tmp_path / kind))
    model = StaticEmbedder.from_pretrained(tmp_path / kind)
    assert model.embeddings.shape[0] == model.vocab_size == result.vocab_size
    vectors = model.encode(["the cat sat on the mat", "a good movie", ""])
    assert vectors.shape == (3, 8) and np.isfinite(vectors).all()
    assert np.isclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-5) and not vectors[2].any()


@pytest.mark.parametrize("kind", KINDS)
def test_added_words_are_whole_tokens_embedded_by_the_teacher(
    kind: str, tiny_teachers: dict[str, Path], tmp_path: Path
) -> None:
    import torch
    from tokenizers import Tokenizer
    from transformers import BertModel

    words = tmp_path / "words.txt"
    words.write_text("secretly\ndogs\n", encoding="utf-8")
    result = run_distillation(model=str(tiny_teachers[kind]), vocabulary=str(words), **exact())
    model = result.model
    assert result.added == 2
    ids = model.tokenize(["the cat is secretly good"])[0]
    added_id = model.vocab_size - 2
    assert added_id in ids
    before = ids[: ids.index(added_id)]
    assert before == model.tokenize(["the cat is"])[0]  # the space before the word leaves no stray token
    teacher_tok = Tokenizer.from_file(str(tiny_teachers[kind] / "tokenizer.json"))
    teacher_tok.no_padding()
    teacher_ids = teacher_tok.encode("secretly").ids  # with the teacher's special tokens
    teacher = BertModel.from_pretrained(str(tiny_teachers[kind])).eval()
    with torch.inference_mode():
        expected = teacher(input_ids=torch.tensor([teacher_ids])).last_hidden_state.mean(dim=1)[0].numpy()
    np.testing.assert_allclose(model.embeddings[added_id], expected, rtol=1e-4, atol=1e-5)


def test_word_file_cases_are_handled_and_counted(tiny_teacher_dir: Path, tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    lines = ["\ufeffdogs", "", "dogs", "Cat", "cat", "Secretly", "secretly", "dangerous dog", "x" * 150]
    words.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_distillation(model=str(tiny_teacher_dir), vocabulary=str(words), **exact())
    vocab = json.loads(result.model.tokenizer_json)
    assert result.added == 3  # dogs, secretly, "dangerous dog"
    assert result.normalized == 1  # Secretly -> secretly
    assert result.skipped["blank"] == 1 and result.skipped["duplicate"] == 1
    assert result.skipped["already in vocabulary"] == 2  # Cat, cat
    assert result.skipped["duplicate after normalization"] == 1  # secretly after Secretly
    assert result.skipped["too long"] == 1
    assert "dogs" in vocab["model"]["vocab"] and "secretly" in vocab["model"]["vocab"]
    phrase = [t for t in vocab["added_tokens"] if t["content"] == "dangerous dog"]
    assert phrase and phrase[0]["single_word"]
    model = result.model
    tokens = [model.tokenizer.id_to_token(i) for i in model.tokenize(["It was SECRETLY a Dangerous Dog!"])[0]]
    assert tokens == ["it", "secretly", "a", "dangerous dog", "!"]


def test_frequency_weighting_uses_counts(tiny_teacher_dir: Path, tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("dogs\t990\nsecretly\t10\n", encoding="utf-8")
    wl = read_word_file(words)
    assert wl.frequencies == [0.99, 0.01]
    base = Vocabulary("{}", ["a", "b", "w1", "w2"], [[0], [1], [2], [3]], n_teacher=2, word_frequencies=[0.99, 0.01])
    freq = row_weights(base, 1e-3, Weighting.FREQUENCY)
    zipf = row_weights(base, 1e-3, Weighting.ZIPF)
    np.testing.assert_allclose(freq[2:], [1e-3 / (1e-3 + 0.99), 1e-3 / (1e-3 + 0.01)], rtol=1e-5)
    assert zipf[2] > zipf[1]  # rank alone: an added word weighs at least as much as any teacher token
    result = run_distillation(model=str(tiny_teacher_dir), vocabulary=str(words), pca_dims=None, quantize="float32")
    norms = np.linalg.norm(result.model.embeddings[-2:], axis=1)
    assert norms[0] < norms[1]  # the frequent word is weighted down


def test_wordfreq_source() -> None:
    wl = wordfreq_list("wordfreq:en:100")
    assert len(wl.words) == 100 and wl.words[0] == "the"
    assert wl.frequencies is not None and wl.frequencies[0] > wl.frequencies[-1] > 0
    for bad in ["wordfreq:en", "wordfreq:en:x", "wordfreq:xx:10"]:
        with pytest.raises(ConfigError, match="wordfreq"):
            wordfreq_list(bad)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "has no words"),
        (b"\n\n  \n", "has no words"),
        (b"\x00\x01\x02binary", "is binary"),
        (b"ok\n\xff\xfe\n", "line 2 is not valid UTF-8"),
        (b"a\t1\nb\tmany\n", "line 2: count 'many' is not a number"),
        (b"a\t1\nb\n", "a count on every line or on none"),
    ],
)
def test_bad_word_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "words.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_word_file(path)


def test_bad_word_file_fails_before_loading_the_teacher(tmp_path: Path) -> None:
    (tmp_path / "words.txt").write_bytes(b"")
    with pytest.raises(InputError, match="has no words"):
        run_distillation(model=str(tmp_path / "no-teacher-here"), vocabulary=str(tmp_path / "words.txt"))
    with pytest.raises(InputError, match="does not exist"):
        run_distillation(model=str(tmp_path / "no-teacher-here"), vocabulary=str(tmp_path / "missing.txt"))
