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
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.errors import ModelFormatError, ModelLoadError, OutputError, first_line
from m2vcli.files import atomic_folder, umask_mode
from m2vcli.hub import Fetch, resolve_model

MODEL_FILES = ["config.json", "model.safetensors", "tokenizer.json", "modules.json", "README.md"]
_SUBFOLDERS = ("", "0_StaticEmbedding")
# safetensors dtypes numpy can hold (not BF16 or the F8 kinds).
_NUMPY_DTYPES = {"BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F16", "F32", "F64"}


class ModelKind(str, Enum):
    """What a model folder holds: a static model, or a Sentence Transformer (or plain transformer)."""

    STATIC = "static"
    SENTENCE_TRANSFORMER = "sentence-transformer"


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


def resolve_model_folder(name_or_path: str | os.PathLike[str]) -> Path:
    """A local folder for a path or hub id; a hub id fetches the static model's files only (``m2vcli.hub``)."""
    return resolve_model(name_or_path, Fetch.STATIC)


def _module_folder(folder: Path) -> Path:
    for sub in _SUBFOLDERS:
        candidate = folder / sub if sub else folder
        if (candidate / "model.safetensors").is_file() and (candidate / "tokenizer.json").is_file():
            return candidate
    missing = [f for f in ("model.safetensors", "tokenizer.json") if not (folder / f).is_file()]
    raise ModelFormatError(f"{folder} is not a model folder: missing {' and '.join(missing)}")


def _read_tensors(path: Path) -> dict[str, np.ndarray]:
    import safetensors

    try:
        with safetensors.safe_open(str(path), framework="np") as handle:
            tensors = {}
            for key in handle.keys():  # noqa: SIM118
                dtype = handle.get_slice(key).get_dtype()
                if dtype not in _NUMPY_DTYPES:
                    raise ModelFormatError(f"{path} stores {key!r} as {dtype}, which numpy cannot read")
                tensors[key] = handle.get_tensor(key)
            return tensors
    except safetensors.SafetensorError as exc:
        raise ModelFormatError(f"{path} is corrupt or not a safetensors file ({first_line(exc)})") from exc
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{path} is not valid JSON ({exc})") from exc


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
    if embeddings.ndim != 2 or embeddings.shape[0] == 0 or embeddings.shape[1] == 0:
        raise ModelFormatError(f"the embeddings tensor must be 2-D and non-empty, got shape {embeddings.shape}")
    if embeddings.dtype not in (np.float32, np.float16, np.float64, np.int8):
        raise ModelFormatError(f"unsupported embeddings dtype {embeddings.dtype}")
    config_path = folder / "config.json"
    config = _read_json(config_path) if config_path.is_file() else {}
    if not isinstance(config, dict):
        raise ModelFormatError(f"{config_path} must hold a JSON object")
    if "normalize" not in config and (folder / "modules.json").is_file():
        # A sentence-transformers folder says "normalize" with a Normalize module instead of a config key.
        modules = _read_json(folder / "modules.json")
        if isinstance(modules, list):
            config["normalize"] = any(str(m.get("type", "")).endswith("Normalize") for m in modules)
    dim = config.get("hidden_dim")
    if dim is not None and dim != embeddings.shape[1]:
        raise ModelFormatError(
            f"{config_path} says hidden_dim {dim} but the embeddings have {embeddings.shape[1]} dimensions"
        )
    try:
        tokenizer_json = (module / "tokenizer.json").read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFormatError(f"{module / 'tokenizer.json'} is not UTF-8 text") from exc
    card_path = folder / "README.md"
    card = card_path.read_text(encoding="utf-8", errors="replace") if card_path.is_file() else None
    return RawModel(
        folder=folder,
        embeddings=embeddings,
        tokenizer_json=tokenizer_json,
        config=config,
        weights=tensors.get("weights"),
        mapping=tensors.get("mapping"),
        card=card,
    )


def model_kind(path: Path) -> ModelKind | None:
    """What kind of model folder ``path`` is, or None when it is not one.

    ``STATIC``: an m2v or model2vec folder (``config.json`` with ``model_type`` "model2vec", and
    ``model.safetensors``), or a sentence-transformers folder whose ``modules.json`` names a
    ``StaticEmbedding`` module. ``SENTENCE_TRANSFORMER``: any other folder holding ``modules.json`` or
    ``config.json`` (a corrupt one included). Nothing is loaded and nothing raises.
    """
    if not path.is_dir():
        return None
    config, modules = path / "config.json", path / "modules.json"
    if config.is_file() and (path / "model.safetensors").is_file():
        data = _peek_json(config)
        if isinstance(data, dict) and data.get("model_type") == "model2vec":
            return ModelKind.STATIC
    if modules.is_file():
        data = _peek_json(modules)
        if isinstance(data, list) and any(
            isinstance(m, dict) and str(m.get("type", "")).rsplit(".", 1)[-1] == "StaticEmbedding" for m in data
        ):
            return ModelKind.STATIC
    return ModelKind.SENTENCE_TRANSFORMER if config.is_file() or modules.is_file() else None


def _peek_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it cannot be read or parsed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_model_folder(path: Path) -> bool:
    """True when ``path`` holds a static model (see ``model_kind``)."""
    return model_kind(path) is ModelKind.STATIC


def is_static_folder(path: Path) -> bool:
    """True when ``path`` holds a static model (see ``model_kind``); the same as ``is_model_folder``."""
    return model_kind(path) is ModelKind.STATIC


def check_model_target(target: Path, *, force: bool) -> None:
    """Refuse a target that is a file, or a non-empty folder that is not a static model (unless forced)."""
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target} exists and is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and model_kind(target) is not ModelKind.STATIC and not force:
        raise OutputError(f"{target} exists and is not a static model; choose another path or pass --force")


def write_folder_atomically(target: Path, fill: Callable[[Path], None], *, force: bool = False) -> None:
    """Write a model folder with ``fill(tmp)`` and put it in place atomically (``files.atomic_folder``).

    An existing folder is replaced only when it is empty, a static model, or ``force`` is set.
    """
    target = Path(target)
    check_model_target(target, force=force)
    atomic_folder(target, fill)


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
