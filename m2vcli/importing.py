"""Foreign static tables as m2v models: word vectors (GloVe or word2vec text, fastText ``.vec``, a ``.npy``
table with its word list) and token tables with their tokenizer (WordLlama's safetensors table and
``tokenizer.json``). The result is an ordinary model folder, so ``m2v evaluate``, ``bench`` and ``leaderboard``
show foreign baselines beside m2v's own models, and model2vec and Sentence Transformers load it too.

A word table gets a word-level tokenizer: text is split at whitespace and punctuation (as BERT does),
lower-cased when the table holds no upper-case word, and a word the table lacks is dropped, as m2v drops
unknown tokens. A text's vector is the mean of its words' rows (no frequency weighting: the published
baselines are plain means), normalized.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TextIO

import numpy as np

from m2vcli.errors import ConfigError, InputError, MissingValueError
from m2vcli.model.embedder import StaticEmbedder
from m2vcli.model.quantization import Quantize

UNK = "[UNK]"


class VectorFormat(str, Enum):
    """How the input file is read; ``auto`` goes by its extension."""

    AUTO = "auto"
    TEXT = "text"  # GloVe / word2vec text / fastText .vec: "word v1 v2 ..." per line, optionally "N D" first
    NPY = "npy"  # a .npy table, row i the vector of line i of --words
    SAFETENSORS = "safetensors"  # a token table, row i the vector of token i of --tokenizer


@dataclass(frozen=True)
class ImportConfig:
    path: str | None = None
    save_path: str | None = None  # where import_vectors writes the folder (the command requires it)
    format: VectorFormat = VectorFormat.AUTO
    words: str | None = None  # the word list of a .npy table: a text file (one per line) or a .parquet column
    tokenizer: str | None = None  # the tokenizer.json of a token table
    max_words: int | None = None  # keep the first N rows of a word table (they are sorted by frequency)
    quantize: Quantize = Quantize.FLOAT16
    force: bool = False

    def __post_init__(self) -> None:
        from m2vcli.config import coerce_enum

        coerce_enum(self, "format", VectorFormat)
        coerce_enum(self, "quantize", Quantize)
        if not self.path:
            raise MissingValueError(
                "no vectors given: pass the file to import (GloVe, word2vec, .vec, .npy, ...)", option="PATH"
            )
        if self.max_words is not None and self.max_words < 1:
            raise ConfigError("max_words must be at least 1", key="max_words")
        kind = self.kind()
        if kind is VectorFormat.NPY and not self.words:
            raise ConfigError("a .npy table needs its word list: pass --words FILE (one word per line)", key="words")
        if kind is VectorFormat.SAFETENSORS and not self.tokenizer:
            raise ConfigError("a token table needs its tokenizer: pass --tokenizer tokenizer.json", key="tokenizer")

    def kind(self) -> VectorFormat:
        """The format, ``auto`` resolved by the file's extension (anything but .npy and .safetensors is text)."""
        if self.format is not VectorFormat.AUTO:
            return self.format
        suffix = Path(str(self.path)).suffix.lower()
        return {".npy": VectorFormat.NPY, ".safetensors": VectorFormat.SAFETENSORS}.get(suffix, VectorFormat.TEXT)


@dataclass(frozen=True)
class ImportResult:
    save_path: str | None
    kind: str  # "words" or "tokens"
    rows: int  # words or tokens
    dims: int
    lowercase: bool
    skipped: int  # repeated words left out (the first row of a word wins)


def read_text_vectors(path: Path, max_words: int | None = None) -> tuple[list[str], np.ndarray]:
    """Words and vectors of a GloVe / word2vec / fastText text file. The vector is the last D fields of a
    line (D from the ``N D`` header or the first line), so a word may hold spaces."""
    from m2vcli.texts.lines import check_not_compressed

    try:
        with path.open("rb") as raw:
            head = raw.read(8)
        handle = path.open(encoding="utf-8", newline="\n")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        check_not_compressed(head, str(path), "vectors.txt")
        return _parse_text_vectors(handle, path, max_words)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}): is it a vector file?") from exc
    finally:
        handle.close()


def _parse_text_vectors(handle: TextIO, path: Path, max_words: int | None) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    rows: list[np.ndarray] = []
    dims: int | None = None
    for number, line in enumerate(handle, start=1):
        if max_words is not None and len(words) >= max_words:
            break
        fields = line.rstrip("\r\n").rstrip(" ").split(" ")
        if number == 1 and len(fields) == 2 and all(f.isdigit() for f in fields):
            dims = int(fields[1])  # word2vec / fastText header: rows and dims
            continue
        if fields == [""]:
            continue
        if dims is None:
            dims = len(fields) - 1
            if dims < 1:
                raise InputError(f"{path} line {number} has no vector after its word: is it a vector file?")
        if len(fields) < dims + 1 or (len(fields) > dims + 1 and _is_number(fields[-dims - 1])):
            raise InputError(f"{path} line {number} has {len(fields) - 1} values, not {dims}")
        try:
            vector = np.asarray(fields[-dims:], dtype=np.float32)
        except ValueError as exc:
            bad = str(exc).split(": ")[-1].strip("'")
            raise InputError(f"{path} line {number}: {bad} is not a number") from exc
        words.append(" ".join(fields[:-dims]))
        rows.append(vector)
    if not rows or dims is None:
        raise InputError(f"{path} holds no vectors")
    return words, np.stack(rows)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def read_word_list(path: Path) -> list[str]:
    """A .npy table's words: one per line of a text file, or the one string column of a .parquet file."""
    if path.suffix.lower() == ".parquet":
        from m2vcli.extras import require

        require("parquet", "reading a .parquet word list")
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {path}: {exc}") from exc
        columns = [
            name for name in table.column_names if str(table.schema.field(name).type) in ("string", "large_string")
        ]
        if len(columns) != 1:
            raise InputError(f"{path} should have one text column of words, not {len(columns)}")
        return [str(word) for word in table.column(columns[0]).to_pylist()]
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} as a UTF-8 word list: {exc}") from exc


def _read_npy(path: Path) -> np.ndarray:
    try:
        table = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} as a .npy table: {exc}") from exc
    if table.ndim != 2 or not np.issubdtype(table.dtype, np.floating):
        raise InputError(f"{path} holds a {table.dtype} array of shape {table.shape}, not a table of vectors")
    return np.asarray(table)


def _read_safetensors(path: Path) -> np.ndarray:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(path))
    except (OSError, SafetensorError, ValueError) as exc:
        raise InputError(f"cannot read {path} as safetensors: {exc}") from exc
    tables = {name: t for name, t in tensors.items() if t.ndim == 2 and np.issubdtype(t.dtype, np.floating)}
    if len(tables) != 1:
        raise InputError(f"{path} should hold one 2-D table of vectors, not {len(tables)} ({', '.join(tensors)})")
    return next(iter(tables.values()))


def word_tokenizer(words: list[str], lowercase: bool) -> str:
    """A tokenizer.json for a word table: BERT's pre-tokenizer, an unknown token after the words."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocab = {word: i for i, word in enumerate(words)}
    vocab[UNK] = len(words)
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    steps = [normalizers.NFC(), *([normalizers.Lowercase()] if lowercase else [])]
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return str(tokenizer.to_str())


def word_model(words: list[str], table: np.ndarray, source: str) -> tuple[StaticEmbedder, int, bool]:
    """A model of a word table: each word's first row, and a zero row for the unknown token; the number of
    repeated words left out; whether text is lower-cased (no word in the table has an upper-case letter)."""
    if len(words) != len(table):
        raise InputError(f"{source}: the word list has {len(words):,} words but the table {len(table):,} rows")
    first: dict[str, int] = {}
    for i, word in enumerate(words):
        if word and word != UNK:
            first.setdefault(word, i)
    keep = list(first.values())
    lowercase = not any(word != word.lower() for word in first)
    rows = np.zeros((len(keep) + 1, table.shape[1]), dtype=np.float32)
    rows[:-1] = table[keep]
    if not np.isfinite(rows).all():
        raise InputError(f"{source} holds values that are not finite numbers")
    config = {"normalize": True, "imported_from": source, "tokenizer_name": "words"}
    return (
        StaticEmbedder(rows, word_tokenizer(list(first), lowercase), config=config),
        len(words) - len(keep),
        lowercase,
    )


def token_model(table: np.ndarray, tokenizer_path: Path, source: str) -> StaticEmbedder:
    """A model of a token table with its own tokenizer (special tokens are not pooled)."""
    from m2vcli.model.tokenization import clean_tokenizer_spec

    try:
        spec = json.loads(tokenizer_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read {tokenizer_path} as a tokenizer.json: {exc}") from exc
    if not isinstance(spec, dict) or "model" not in spec:
        raise InputError(f"{tokenizer_path} is not a tokenizer.json (it has no model)")
    rows = np.asarray(table, dtype=np.float32)
    if not np.isfinite(rows).all():
        raise InputError(f"{source} holds values that are not finite numbers")
    config = {"normalize": True, "imported_from": source}
    return StaticEmbedder(rows, json.dumps(clean_tokenizer_spec(spec)), config=config)


def build_model(cfg: ImportConfig) -> tuple[StaticEmbedder, ImportResult]:
    """The model ``cfg.path`` holds, quantized, and what was read (``save_path`` is not written)."""
    path = Path(str(cfg.path))
    if not path.is_file():
        raise InputError(f"{path} is not a file")
    kind = cfg.kind()
    source = path.name
    lowercase, skipped = False, 0
    if kind is VectorFormat.SAFETENSORS:
        model = token_model(_read_safetensors(path), Path(str(cfg.tokenizer)), source)
    else:
        if kind is VectorFormat.TEXT:
            words, table = read_text_vectors(path, cfg.max_words)
        else:
            table = _read_npy(path)
            words = read_word_list(Path(str(cfg.words)))
            if cfg.max_words is not None:
                table, words = table[: cfg.max_words], words[: cfg.max_words]
        model, skipped, lowercase = word_model(words, table, source)
    model = model.quantize(cfg.quantize.value)
    rows, dims = model.embeddings.shape
    tokens = kind is VectorFormat.SAFETENSORS
    result = ImportResult(
        save_path=cfg.save_path,
        kind="tokens" if tokens else "words",
        rows=int(rows) if tokens else int(rows) - 1,  # a word table's last row is the unknown token's
        dims=int(dims),
        lowercase=lowercase,
        skipped=skipped,
    )
    return model, result


def check_save_path(cfg: ImportConfig) -> None:
    """The save path may not be, or hold, any input (the vectors, the word list, the tokenizer), forced or not."""
    target = Path(str(cfg.save_path)).resolve()
    for given in (cfg.path, cfg.words, cfg.tokenizer):
        if given and (Path(str(given)).resolve() == target or target in Path(str(given)).resolve().parents):
            raise ConfigError(
                f"the save path {cfg.save_path} holds the input {given}; pass another -o", key="save_path"
            )


def import_vectors(cfg: ImportConfig) -> ImportResult:
    """Read ``cfg.path`` as ``cfg.kind()`` and write it as a model folder to ``cfg.save_path`` (atomically)."""
    if not cfg.save_path:
        raise ConfigError("no save path given: pass --save-path/-o FOLDER", key="save_path")
    check_save_path(cfg)
    model, result = build_model(cfg)
    model.save_pretrained(str(cfg.save_path), force=cfg.force)
    return result
