"""Reading and writing static-model folders.

The format is shared with model2vec and sentence-transformers:

- ``model.safetensors``: ``embeddings`` (rows x dim; float32, float16 or int8), optionally ``weights``
  (one per token id) and ``mapping`` (token id -> row) as vocabulary quantization writes them. A
  sentence-transformers ``StaticEmbedding`` folder names the tensor ``embedding.weight`` instead.
- ``tokenizer.json``: a Hugging Face ``tokenizers`` document.
- ``config.json``: ``normalize``, ``max_length``, ``hidden_dim``, ``embedding_dtype`` and the
  distillation settings. m2v adds ``embedding_scale`` for int8 tables (model2vec ignores it, which only
  scales its vectors).
- ``modules.json`` (so sentence-transformers can load the folder) and a ``README.md`` model card.

A folder is data, never code: tensors come from safetensors only and nothing is unpickled or executed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.config import clip
from m2vcli.errors import ModelFormatError, ModelLoadError, OutputError, first_line
from m2vcli.files import atomic_folder, check_not_read, read_limited, umask_mode
from m2vcli.hub import Fetch, resolve_model
from m2vcli.model.folder import (
    ModelKind,
    model_kind,
    normalizes,
    present,
    read_json,
    st_modules,
    static_module,
    tensor_headers,
)

MODEL_FILES = ["config.json", "model.safetensors", "tokenizer.json", "modules.json", "README.md"]
# safetensors dtypes numpy can hold (not BF16 or the F8 kinds).
_NUMPY_DTYPES = {"BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F16", "F32", "F64"}
_EMBEDDING_DTYPES = ("float32", "float16", "float64", "int8")
MAX_TOKENIZER_BYTES = 1024**3
MAX_CARD_BYTES = 16 * 1024**2  # README.md: only this much is read
# Per float size: the unsigned type of the same size and the exponent bits, all set for NaN and infinity.
_EXPONENT_BITS: dict[int, tuple[type[np.unsignedinteger[Any]], int]] = {
    2: (np.uint16, 0x7C00),
    4: (np.uint32, 0x7F800000),
    8: (np.uint64, 0x7FF0000000000000),
}


@dataclass(frozen=True)
class RawModel:
    """The contents of a model folder, checked for consistency but not yet turned into a model."""

    folder: Path
    embeddings: np.ndarray
    tokenizer_json: str
    config: dict[str, Any]
    weights: np.ndarray | None
    mapping: np.ndarray | None
    card: str | None


def resolve_model_folder(
    name_or_path: str | os.PathLike[str], *, revision: str | None = None, token: str | None = None
) -> Path:
    """A local folder for a path or hub id; a hub id fetches the static model's files only (``m2vcli.hub``)."""
    return resolve_model(name_or_path, Fetch.STATIC, revision=revision, token=token)


def _module_folder(folder: Path) -> Path:
    found = static_module(folder)
    if found is not None:
        return found
    missing = [f for f in ("model.safetensors", "tokenizer.json") if not (folder / f).is_file()]
    raise ModelFormatError(f"{folder} is not a model folder: missing {' and '.join(missing)}")


def _read_tensors(path: Path) -> dict[str, np.ndarray]:
    import safetensors

    for key, (dtype, _) in tensor_headers(path).items():
        if dtype not in _NUMPY_DTYPES:
            raise ModelFormatError(f"{path} stores {key!r} as {dtype}, which numpy cannot read")
    try:
        with safetensors.safe_open(str(path), framework="np") as handle:
            return {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except safetensors.SafetensorError as exc:
        raise ModelFormatError(f"{path} is corrupt or not a safetensors file ({first_line(exc)})") from exc
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from exc


def all_finite(array: np.ndarray, chunk_rows: int = 65536) -> bool:
    """True when ``array`` holds no NaN and no infinity (an integer array always). Float values are tested by
    their exponent bits, ten times faster than ``np.isfinite`` on float16, a chunk of rows at a time.

    >>> all_finite(np.array([1.0, -2.5], dtype=np.float16)), all_finite(np.array([[1.0], [np.inf]]))
    (True, False)
    """
    if array.dtype.kind != "f":
        return True
    if array.ndim == 0 or not array.dtype.isnative or array.dtype.itemsize not in _EXPONENT_BITS:
        return bool(np.isfinite(array).all())
    unsigned, mask = _EXPONENT_BITS[array.dtype.itemsize]
    bits = array.view(unsigned)
    for start in range(0, len(bits), chunk_rows):
        part = bits[start : start + chunk_rows]
        if part.size and int(np.bitwise_and(part, unsigned(mask)).max()) == mask:
            return False
    return True


def _check_finite(name: str, array: np.ndarray, source: str) -> None:
    if not all_finite(array):
        bad = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
        raise ModelFormatError(
            f"{source}: the tensor {name!r} holds NaN or infinite values (first at row {int(np.argmax(bad))})"
        )


def check_tensors(
    embeddings: Any, weights: Any, mapping: Any, source: str, *, embeddings_key: str = "embeddings"
) -> None:
    """The checks every model's tensors pass, read from a folder or built in memory: the embeddings 2-D,
    non-empty, of a supported dtype and finite; the weights 1-D finite numbers; the mapping 1-D whole
    numbers that point at embedding rows. ``source`` starts each one-line ``ModelFormatError``."""
    shape = getattr(embeddings, "shape", None)
    if not isinstance(embeddings, np.ndarray) or embeddings.ndim != 2 or 0 in embeddings.shape:
        raise ModelFormatError(f"{source}: the tensor {embeddings_key!r} must be 2-D and non-empty, got shape {shape}")
    if embeddings.dtype.name not in _EMBEDDING_DTYPES:
        supported = ", ".join(_EMBEDDING_DTYPES)
        raise ModelFormatError(f"{source}: the tensor {embeddings_key!r} is {embeddings.dtype}; supported: {supported}")
    _check_finite(embeddings_key, embeddings, source)
    if weights is not None:
        values = np.asarray(weights)
        if values.ndim != 1 or values.dtype.kind not in "fiu":
            raise ModelFormatError(
                f"{source}: the tensor 'weights' must be 1-D numbers, got shape {values.shape} of {values.dtype}"
            )
        _check_finite("weights", values, source)
    if mapping is not None:
        rows = np.asarray(mapping)
        if rows.ndim != 1 or rows.dtype.kind not in "iu":
            raise ModelFormatError(
                f"{source}: the tensor 'mapping' must be 1-D whole numbers, got shape {rows.shape} of {rows.dtype}"
            )
        if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= embeddings.shape[0]):
            raise ModelFormatError(
                f"{source}: the mapping points outside the {embeddings.shape[0]} embedding rows "
                f"(its values run from {int(rows.min())} to {int(rows.max())})"
            )


def _whole(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _positive_finite(value: Any) -> bool:
    if not (_whole(value) or isinstance(value, (float, np.floating))):
        return False
    try:
        return 0 < float(value) < float("inf")
    except OverflowError:  # an int too large for a float
        return False


_CONFIG_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "normalize": (lambda v: isinstance(v, bool), "true or false"),
    "max_length": (lambda v: v is None or (_whole(v) and v >= 0), "a whole number of at least 0, or null"),
    "hidden_dim": (lambda v: _whole(v) and v >= 1, "a whole number of at least 1"),
    "embedding_scale": (_positive_finite, "a finite number above 0"),
    "embedding_dtype": (lambda v: isinstance(v, str), "a string"),
}


def check_model_config(config: Any, source: str) -> None:
    """A model config is a JSON object whose known keys hold values of the right type and range; an unknown
    key is left alone (model2vec and sentence-transformers add their own)."""
    if not isinstance(config, dict):
        raise ModelFormatError(f"{source} must hold a JSON object, got {type(config).__name__}")
    for key, (valid, expected) in _CONFIG_CHECKS.items():
        if key in config and not valid(config[key]):
            raise ModelFormatError(f"{source}: {key} must be {expected}, got {clip(config[key])}")


def read_model_folder(folder: Path) -> RawModel:
    """Read and cross-check a static model folder."""
    module = _module_folder(folder)
    tensors = _read_tensors(module / "model.safetensors")
    embeddings = tensors.get("embeddings", tensors.get("embedding.weight"))
    if embeddings is None:
        if any(k.endswith(("word_embeddings.weight", "attention.self.query.weight")) for k in tensors):
            raise ModelFormatError(
                f"{folder} holds a transformer, not a static model; distill it first: m2v distill --model {folder}"
            )
        raise ModelFormatError(f"{module / 'model.safetensors'} has no 'embeddings' tensor")
    tensor_file = str(module / "model.safetensors")
    key = "embeddings" if "embeddings" in tensors else "embedding.weight"
    check_tensors(embeddings, tensors.get("weights"), tensors.get("mapping"), tensor_file, embeddings_key=key)
    config_path = folder / "config.json"
    config = read_json(config_path)
    config = {} if config is None else config
    check_model_config(config, str(config_path))
    if "normalize" not in config and present(folder / "modules.json"):
        # A sentence-transformers folder says "normalize" with a Normalize module instead of a config key.
        config["normalize"] = normalizes(st_modules(folder))
    dim = config.get("hidden_dim")
    if dim is not None and dim != embeddings.shape[1]:
        raise ModelFormatError(
            f"{config_path} says hidden_dim {dim} but the embeddings have {embeddings.shape[1]} dimensions"
        )
    tokenizer_path = module / "tokenizer.json"
    tokenizer_bytes = read_limited(tokenizer_path, "tokenizer file", MAX_TOKENIZER_BYTES, ModelFormatError)
    try:
        tokenizer_json = tokenizer_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFormatError(f"{tokenizer_path} is not UTF-8 text") from exc
    del tokenizer_bytes
    card_path = folder / "README.md"
    card = None
    if card_path.is_file():
        try:
            with card_path.open("rb") as handle:
                card = handle.read(MAX_CARD_BYTES).decode("utf-8", errors="replace")
        except OSError:
            card = None  # the card is only shown, never needed
    return RawModel(
        folder=folder,
        embeddings=embeddings,
        tokenizer_json=tokenizer_json,
        config=config,
        weights=tensors.get("weights"),
        mapping=tensors.get("mapping"),
        card=card,
    )


def check_model_target(target: Path, *, force: bool, reads: Iterable[str | None] = ()) -> None:
    """Refuse a target that is a file, or a non-empty folder that is not a static model (unless forced),
    or one that is, holds or lies inside something the command reads (``reads``: the teacher, a corpus, a
    word file), forced or not.

    A symlink is followed. A name the file system cannot hold, or a folder that cannot be read, is a
    one-line ``OutputError`` here, before any work.
    """
    target = Path(target)
    check_not_read(target, reads, "save path")
    try:
        os.stat(target)
    except FileNotFoundError:
        return
    except ValueError as exc:
        raise OutputError(f"cannot write {target!r}: the name contains a NUL byte") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    if not target.is_dir():
        raise OutputError(f"{target} exists and is a file, not a folder")
    try:
        empty = not any(target.iterdir())
    except OSError as exc:
        raise OutputError(f"cannot read {target}: {exc.strerror or exc}") from exc
    if not empty and model_kind(target) is not ModelKind.STATIC and not force:
        raise OutputError(f"{target} exists and is not a static model; choose another path or pass --force")
    if not os.access(target, os.W_OK | os.X_OK):  # the old folder could be swapped out but never removed
        raise OutputError(f"cannot replace {target}: permission denied")


def write_folder_atomically(target: Path, fill: Callable[[Path], None], *, force: bool = False) -> None:
    """Write a model folder with ``fill(tmp)`` and put it in place atomically (``files.atomic_folder``).

    An existing folder is replaced only when it is empty, a static model, or ``force`` is set. A static
    model's files that are not part of a model (notes, an extra module) are kept, as model2vec keeps them;
    a folder replaced with ``force`` is replaced whole. A classifier's head (``head.safetensors``) belongs
    to the table it was trained with: it is never carried into a new model.
    """
    target = Path(target)
    check_model_target(target, force=force)
    keep = model_kind(target) is ModelKind.STATIC
    atomic_folder(target, fill, keep_existing=keep, never_keep=("head.safetensors", "pipeline.skops"))


HEAD_KEYS = ("head_config", "classifier")  # config.json keys of a classifier's head (m2vcli.model.head)


def write_model_folder(
    model: Any,
    target: Path,
    *,
    force: bool = False,
    extra_config: dict[str, Any] | None = None,
    extra_files: Callable[[Path], None] | None = None,
) -> None:
    """``model`` (a ``StaticEmbedder``) as a folder at ``target``, atomically: its config with the effective
    settings and ``extra_config``, a card, and whatever ``extra_files(folder)`` adds. A head's keys in the
    model's own config are dropped: a head is never saved without its file."""
    from m2vcli.model.modelcard import model_card

    own = {k: v for k, v in model.config.items() if k not in HEAD_KEYS}
    config = {
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        **own,
        "normalize": model.normalize,
        "max_length": model.max_length,
        **(extra_config or {}),
    }
    config["hidden_dim"] = model.dim
    config["embedding_dtype"] = np.dtype(model.embeddings.dtype).name
    if model.mapping is not None:
        config["vocabulary_quantization"] = int(model.embeddings.shape[0])
    rows = model.embeddings.shape[0]
    card = model_card(target.name or "model", config, rows=rows, dim=model.dim, vocab_size=model.vocab_size)

    def fill(folder: Path) -> None:
        write_model_files(
            folder,
            embeddings=model.embeddings,
            tokenizer_json=model.tokenizer_json,
            config=config,
            weights=model.weights,
            mapping=model.mapping,
            card=card,
        )
        if extra_files is not None:
            extra_files(folder)

    write_folder_atomically(target, fill, force=force)


def write_model_files(
    folder: Path,
    *,
    embeddings: np.ndarray,
    tokenizer_json: str,
    config: dict[str, Any],
    weights: np.ndarray | None,
    mapping: np.ndarray | None,
    card: str,
) -> None:
    """Write the five files of a model folder into ``folder`` (which must exist)."""
    from safetensors.numpy import save_file

    tensors = {"embeddings": np.ascontiguousarray(embeddings)}
    if weights is not None:
        tensors["weights"] = np.ascontiguousarray(weights)
    if mapping is not None:
        tensors["mapping"] = np.ascontiguousarray(mapping)
    save_file(tensors, str(folder / "model.safetensors"))
    (folder / "model.safetensors").chmod(umask_mode(0o666))  # safetensors creates it private
    (folder / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
    (folder / "config.json").write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")
    modules = [{"idx": 0, "name": "0", "path": ".", "type": "sentence_transformers.models.StaticEmbedding"}]
    if config.get("normalize"):
        modules.append({"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"})
    (folder / "modules.json").write_text(json.dumps(modules, indent=4) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(card, encoding="utf-8")
