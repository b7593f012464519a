"""Facts of a model folder, each read in one place: its JSON files, its tensors' headers, a
sentence-transformers ``modules.json`` (with its module paths kept inside the folder), which teacher made
the model, and what kind of model the folder holds. ``persistence``, ``info``, ``bench``, ``refine``, the
teacher loader and the model card all read through these."""

from __future__ import annotations

import json
import os
import stat
from enum import Enum
from pathlib import Path
from typing import Any

from m2vcli.errors import M2VError, ModelFormatError, ModelLoadError, first_line
from m2vcli.files import read_limited

MAX_JSON_BYTES = 64 * 1024**2  # config.json, modules.json
STATIC_SUBFOLDERS = ("", "0_StaticEmbedding")


class ModelKind(str, Enum):
    """What a model folder holds: a static model, or a Sentence Transformer (or plain transformer)."""

    STATIC = "static"
    SENTENCE_TRANSFORMER = "sentence-transformer"


def present(path: Path) -> bool:
    """Whether anything stands at ``path`` (a dangling or looping symlink counts: it is not absent)."""
    return os.path.lexists(path)


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when nothing stands there. Anything else that is not a readable
    regular file of valid JSON (a folder, a FIFO, a symlink loop, invalid UTF-8, over ``MAX_JSON_BYTES``)
    is a one-line ``ModelFormatError``; a leading BOM is dropped."""
    if not present(path):
        return None
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ModelFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise ModelFormatError(f"{path} is {kind}, not a JSON file")
    data = read_limited(path, "model file", MAX_JSON_BYTES, ModelFormatError)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFormatError(f"{path} is not valid JSON ({first_line(exc, 80)})") from exc


def json_object(path: Path) -> dict[str, Any] | None:
    """``read_json``, which must give a JSON object (None when the file is absent)."""
    data = read_json(path)
    if data is not None and not isinstance(data, dict):
        raise ModelFormatError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return data


def peek_json(path: Path) -> Any:
    """``read_json``, with None for anything that cannot be read: for guessing, never for loading."""
    try:
        return read_json(path)
    except M2VError:
        return None


def tensor_headers(path: Path) -> dict[str, tuple[str, list[int]]]:
    """Each tensor's safetensors type (``F16``) and shape, read from the file's header alone."""
    import safetensors

    try:
        with safetensors.safe_open(str(path), framework="np") as handle:
            found = {}
            for key in handle.keys():  # noqa: SIM118
                part = handle.get_slice(key)
                found[key] = (str(part.get_dtype()), [int(n) for n in part.get_shape()])
            return found
    except safetensors.SafetensorError as exc:
        raise ModelFormatError(f"{path} is corrupt or not a safetensors file ({first_line(exc)})") from exc
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from exc


def st_modules(folder: Path) -> list[dict[str, Any]]:
    """The entries of ``folder/modules.json`` (none when it is absent), each with a string ``type`` and a
    ``path`` inside ``folder``: a module path that is absolute or climbs out with ``..`` is refused."""
    path = folder / "modules.json"
    data = read_json(path)
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
        raise ModelFormatError(f"{path} must hold a JSON list of objects")
    modules = []
    for number, module in enumerate(data):
        kind, where = module.get("type", ""), module.get("path", "")
        if not isinstance(kind, str):
            raise ModelFormatError(f"{path}: module {number} has a type that is not a string: {str(kind)[:60]}")
        if not isinstance(where, str):
            raise ModelFormatError(f"{path}: module {number} has a path that is not a string: {str(where)[:60]}")
        if where.startswith(("/", "\\")) or ".." in Path(where.replace("\\", "/")).parts:
            raise ModelFormatError(f"{path}: module {number}'s path {where[:60]!r} leaves the model folder")
        modules.append({**module, "type": kind, "path": where})
    return modules


def module_folder(folder: Path, modules: list[dict[str, Any]], kind: str, *, last: bool = False) -> Path | None:
    """The subfolder of the first (or ``last``) module whose type's last part is ``kind``, or None."""
    found = [m for m in modules if m["type"].rsplit(".", 1)[-1] == kind]
    if not found:
        return None
    return folder / found[-1 if last else 0]["path"]


def normalizes(modules: list[dict[str, Any]]) -> bool:
    """Whether the modules end in a Normalize module (sentence-transformers' way to say "normalize")."""
    return any(m["type"].endswith("Normalize") for m in modules)


def teacher_of(config: Any) -> str | None:
    """The teacher a static model's config names: the last one it was trained toward. Refinement's
    ``refinement.teacher``, else distillation's ``distillation.teacher``, else model2vec's
    ``tokenizer_name``; None when none is a non-blank string.

    >>> teacher_of({"tokenizer_name": "a", "distillation": {"teacher": "b"}})
    'b'
    >>> teacher_of({"refinement": {"teacher": "c"}, "distillation": {"teacher": "b"}}), teacher_of([])
    ('c', None)
    """
    if not isinstance(config, dict):
        return None
    for section in ("refinement", "distillation"):
        record = config.get(section)
        name = record.get("teacher") if isinstance(record, dict) else None
        if isinstance(name, str) and name.strip():
            return name
    name = config.get("tokenizer_name")
    return name if isinstance(name, str) and name.strip() else None


def static_module(folder: Path) -> Path | None:
    """The folder holding a static model's ``model.safetensors`` and ``tokenizer.json`` (the folder
    itself, or sentence-transformers' ``0_StaticEmbedding``), or None."""
    for sub in STATIC_SUBFOLDERS:
        candidate = folder / sub if sub else folder
        if (candidate / "model.safetensors").is_file() and (candidate / "tokenizer.json").is_file():
            return candidate
    return None


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
    if present(config) and (path / "model.safetensors").is_file():
        data = peek_json(config)
        if isinstance(data, dict) and data.get("model_type") == "model2vec":
            return ModelKind.STATIC
    if present(modules):
        data = peek_json(modules)
        if isinstance(data, list) and any(
            isinstance(m, dict) and str(m.get("type", "")).rsplit(".", 1)[-1] == "StaticEmbedding" for m in data
        ):
            return ModelKind.STATIC
    return ModelKind.SENTENCE_TRANSFORMER if present(config) or present(modules) else None


def is_classifier(path: Path) -> bool:
    """Whether a model folder holds a classification head (``head.safetensors``, or a ``head_config`` in
    its config): ``m2v train`` made it, or model2vec's ``StaticModelPipeline``. Nothing is loaded."""
    if not path.is_dir():
        return False
    if present(path / "head.safetensors") or present(path / "pipeline.skops"):
        return True
    config = peek_json(path / "config.json") if present(path / "config.json") else None
    return isinstance(config, dict) and "head_config" in config
