"""What a model folder holds, read from its files without loading the model (``m2v info``).

A static model (m2v's or model2vec's format, or a sentence-transformers ``StaticEmbedding``) is described
from its config.json and the header of its safetensors file: dimensions, rows, storage type, the
distillation settings its config records. A Sentence Transformer (or a plain transformers folder) is
described from its config files and its weights' headers. No tensor is read, so a model of gigabytes is
described in a moment.

A config.json that cannot be read or parsed is a one-line ``ModelFormatError``; a value of the wrong type
is shown as missing (``-``), never trusted.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from m2vcli.config import coerce_enum
from m2vcli.errors import MissingValueError, ModelFormatError, ModelLoadError
from m2vcli.files import folder_bytes
from m2vcli.hub import Fetch, packaged_hub_id, resolve_model
from m2vcli.model.folder import (
    ModelKind,
    json_object,
    model_kind,
    module_folder,
    normalizes,
    st_modules,
    static_module,
    teacher_of,
    tensor_headers,
)
from m2vcli.tables import EMPTY, Column, ResultTable, TableFormat, plain

MAX_SHOWN = 120  # characters of a text setting shown in the table (JSON holds it whole)
_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I8": "int8", "U8": "uint8"}
_FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")


@dataclass(frozen=True)
class InfoConfig:
    """Settings of ``m2v info``."""

    model: str | None = None
    format: TableFormat = TableFormat.TABLE

    def __post_init__(self) -> None:
        coerce_enum(self, "format", TableFormat)
        if not self.model:
            raise MissingValueError("give the model to describe: a folder or a hub id", option="MODEL")


@dataclass(frozen=True)
class Fact:
    """One line of the description: ``value`` for JSON (None when unknown), ``text`` for the table."""

    key: str
    label: str
    value: Any
    text: str
    shown: bool = True  # False: the config does not mention it, so the table leaves the row out


@dataclass(frozen=True)
class ModelInfo:
    name: str
    kind: ModelKind
    facts: tuple[Fact, ...]
    distillation: tuple[Fact, ...]  # static models only: the settings their config.json records
    origin: tuple[Fact, ...]  # size on disk, where the folder came from, the folder

    def as_dict(self) -> dict[str, Any]:
        """The description as one JSON object."""
        out: dict[str, Any] = {"model": self.name, "kind": self.kind.value}
        out.update({f.key: f.value for f in self.facts})
        if self.kind is ModelKind.STATIC:
            out["distillation"] = {f.key: f.value for f in self.distillation}
        out.update({f.key: f.value for f in self.origin})
        return out


def human_bytes(size: int) -> str:
    """A size in decimal units, as disks are sold.

    >>> human_bytes(999), human_bytes(15_627_264), human_bytes(999_960), human_bytes(2_345_678_901)
    ('999 B', '15.6 MB', '1.0 MB', '2.3 GB')
    """
    if size < 1000:
        return f"{size} B"
    for power, unit in enumerate(("kB", "MB", "GB", "TB"), start=1):
        value = size / 1000**power
        if round(value, 1) < 1000 or unit == "TB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def human_count(count: int) -> str:
    """A count of weights as model cards give it.

    >>> human_count(7_813_632), human_count(22_713_216), human_count(950)
    ('7.8M', '22.7M', '950')
    """
    return f"{count / 1e6:.1f}M" if count >= 1_000_000 else f"{count:,}"


def model_info(name_or_path: str) -> ModelInfo:
    """Describe the model at a folder or hub id (the hub is used as ``m2vcli.hub.resolve_model`` says)."""
    folder = resolve_model(name_or_path, Fetch.ANY)
    config = json_object(folder / "config.json")  # read strictly first: a broken file is one line
    modules = st_modules(folder)
    kind = model_kind(folder)
    if kind is None and not static_module(folder):
        raise ModelLoadError(f"{folder} is not a model folder: it has no config.json or modules.json")
    if kind is ModelKind.SENTENCE_TRANSFORMER:
        facts = _transformer_facts(folder, config, modules)
        distillation: tuple[Fact, ...] = ()
    else:
        kind = ModelKind.STATIC
        facts, distillation = _static_facts(folder, config or {}, modules)
    hub_id = packaged_hub_id(folder)
    if hub_id is not None:
        name, source, where = hub_id.split("/")[-1], "package", f"the {_package_name()} package (a copy of {hub_id})"
    elif Path(name_or_path).expanduser().exists():
        name, source, where = folder.resolve().name, "local", "local folder"
    else:
        hub_id, name, source, where = name_or_path, name_or_path, "hub", "Hugging Face hub (local cache)"
    try:
        size = folder_bytes(folder)
    except OSError:
        size = None
    origin = (
        _fact("bytes_on_disk", "size on disk", size, human_bytes(size) if size is not None else None),
        Fact("source", "source", source, where),
        Fact("hub_id", "hub id", hub_id, _show(hub_id), shown=hub_id is not None),
        Fact("folder", "folder", str(folder.resolve()), str(folder.resolve())),
    )
    return ModelInfo(name, kind, facts, distillation, origin)


def info_table(info: ModelInfo, width: int | None = None) -> ResultTable:
    """The description as a two-column table; for a terminal ``width`` columns wide, a long value (a path)
    continues on the next rows rather than running past the edge."""
    facts = [f for f in (*info.facts, *info.distillation, *info.origin) if f.shown]
    label_width = max(len(f.label) for f in facts)
    room = width - label_width - 2 if width else 0
    rows: list[list[str]] = []
    for fact in facts:
        lines = wrap_cell(plain(fact.text), room) if room >= 20 else [plain(fact.text)]
        rows += [[fact.label if i == 0 else "", line] for i, line in enumerate(lines)]
    return ResultTable(f"m2v info: {info.name}", [Column("field", text=True), Column("value", text=True)], rows)


def wrap_cell(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken after a ``/`` or a space where one is near.

    >>> wrap_cell("/home/me/models/my_model", 12)
    ['/home/me/', 'models/', 'my_model']
    """
    lines = []
    while len(text) > width:
        cut = max(text.rfind("/", 0, width), text.rfind(" ", 0, width)) + 1
        if cut <= width // 2:
            cut = width
        lines.append(text[:cut].rstrip(" "))
        text = text[cut:]
    return [*lines, text]


# ----- static models -----------------------------------------------------------------------------------


def _static_facts(
    folder: Path, config: dict[str, Any], modules: list[dict[str, Any]]
) -> tuple[tuple[Fact, ...], tuple[Fact, ...]]:
    module = static_module(folder)
    if module is None:
        raise ModelFormatError(f"{folder} is not a static model folder: no model.safetensors beside a tokenizer.json")
    tensors = tensor_headers(module / "model.safetensors")
    key = "embeddings" if "embeddings" in tensors else "embedding.weight"
    if key not in tensors or len(tensors[key][1]) != 2:
        raise ModelFormatError(f"{module / 'model.safetensors'} has no 2-D 'embeddings' tensor")
    dtype, (rows, dims) = tensors[key]
    mapping = tensors.get("mapping")
    tokens = mapping[1][0] if mapping and len(mapping[1]) == 1 else rows
    normalize = config.get("normalize")
    if "normalize" not in config and modules:
        normalize = normalizes(modules)
    version = _valid(config.get("m2v_version"), str)
    made_by = "model2vec" if config.get("model_type") == "model2vec" else "sentence-transformers (StaticEmbedding)"
    recorded = config.get("distillation")
    settings: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
    teacher = teacher_of(config)
    quantized = f"{tokens:,} tokens share {rows:,} rows" if mapping else "no"
    facts = (
        Fact("format", "folder format", made_by, made_by),
        _fact("m2v_version", "made by", version, f"m2v {version}", shown=version is not None),
        _fact("dims", "dims", dims),
        _fact("vocabulary_size", "vocabulary", tokens, f"{tokens:,} tokens"),
        _fact("rows", "embedding rows", rows),
        _fact("parameters", "parameters", rows * dims, human_count(rows * dims)),
        _fact("dtype", "dtype", _DTYPES.get(dtype, dtype.lower())),
        _setting(config, "embedding_scale", "embedding scale", _is_number),
        _fact("weights", "token weights", "weights" in tensors),
        Fact("vocabulary_quantization", "vocabulary quantized", bool(mapping), quantized),
        _fact("normalize", "normalize", _valid(normalize, bool)),
        _setting(config, "max_length", "max length", _is_count),
        _fact("teacher", "teacher", teacher),
    )
    distillation = (
        _setting(config, "apply_pca", "pca dims", _is_number, key="pca_dims"),
        _setting(config, "sif_coefficient", "sif coefficient", _is_number),
        _setting(config, "apply_zipf", "zipf weighting", _is_flag),
        _setting(settings if "pooling" in settings else config, "pooling", "token pooling", _is_text),
        _setting(settings, "vocabulary", "vocabulary spec", _is_text),
        _setting(settings, "weighting", "weighting", _is_text),
        _setting(settings, "quantize", "quantize", _is_text),
        _setting(settings, "precision", "teacher precision", _is_text),
        _setting(settings, "token_remove_pattern", "token remove pattern", _is_text),
        *_refinement_facts(config.get("refinement")),
    )
    return facts, distillation


def _refinement_facts(recorded: Any) -> tuple[Fact, ...]:
    """What ``m2v refine`` recorded: the corpus and how training went (nothing for a plain model)."""
    if not isinstance(recorded, dict):
        return ()
    found = recorded.get("corpus")
    corpus: dict[str, Any] = found if isinstance(found, dict) else {}
    name, texts = _valid(corpus.get("name"), str), _valid(corpus.get("texts"), int)
    steps, best = _valid(recorded.get("steps"), int), _valid(recorded.get("best_step"), int)
    loss = recorded.get("validation_loss") if _is_number(recorded.get("validation_loss")) else None
    return (
        _fact("refined_on", "refined on", name, f"{name} ({texts:,} texts)" if texts is not None else name),
        _fact(
            "refinement_steps", "refinement steps", steps, f"{steps:,} (best {best:,})" if best is not None else None
        ),
        _fact("refinement_loss", "held-out loss", loss),
        _fact(
            "refinement_pooling",
            "refined toward",
            pooling := _valid(recorded.get("pooling"), str),
            f"the teacher's {pooling}-pooled text vectors" if pooling else None,
        ),
    )


# ----- Sentence Transformers ------------------------------------------------------------------------------


def _transformer_facts(
    folder: Path, top_config: dict[str, Any] | None, modules: list[dict[str, Any]]
) -> tuple[Fact, ...]:
    transformer = module_folder(folder, modules, "Transformer") or folder
    config = (top_config if transformer == folder else json_object(transformer / "config.json")) or {}
    st_config = json_object(transformer / "sentence_bert_config.json") or {}
    tokenizer_config = json_object(transformer / "tokenizer_config.json") or {}
    max_length = _valid(st_config.get("max_seq_length"), int)
    if max_length is None:
        limit = _valid(tokenizer_config.get("model_max_length"), int)
        max_length = limit if limit is not None and limit < 1_000_000 else None
    if max_length is None:
        max_length = _valid(config.get("max_position_embeddings"), int)
    hidden = _valid(config.get("hidden_size"), int) or _valid(config.get("d_model"), int)
    pooling_folder = module_folder(folder, modules, "Pooling")
    pooling = (json_object(pooling_folder / "config.json") or {}) if pooling_folder else {}
    modes = [
        k.removeprefix("pooling_mode_").removesuffix("_tokens").removesuffix("_token")
        for k, v in pooling.items()
        if k.startswith("pooling_mode_") and v is True
    ]
    dims = _valid(pooling.get("word_embedding_dimension"), int)
    dims = dims * max(1, len(modes)) if dims else hidden
    dense = module_folder(folder, modules, "Dense", last=True)
    if dense is not None:
        dims = _valid((json_object(dense / "config.json") or {}).get("out_features"), int) or dims
    parameters, dtype = _weights(transformer)
    vocab_size = _valid(config.get("vocab_size"), int)
    architectures = config.get("architectures")
    architecture = architectures[0] if isinstance(architectures, list) and architectures else None
    made_by = "sentence-transformers" if modules else "transformers"
    return (
        Fact("format", "format", made_by, made_by),
        _fact("architecture", "architecture", _valid(architecture, str)),
        _fact("model_type", "model type", _valid(config.get("model_type"), str)),
        _fact("dims", "dims", dims),
        _fact("max_length", "max length", max_length),
        _fact("vocabulary_size", "vocabulary", vocab_size, f"{vocab_size:,} tokens" if vocab_size else None),
        _fact("layers", "layers", _valid(config.get("num_hidden_layers"), int)),
        _fact("hidden_size", "hidden size", hidden),
        _fact("parameters", "parameters", parameters, human_count(parameters) if parameters else None),
        _fact("dtype", "dtype", dtype),
        _fact("pooling", "pooling", "+".join(modes) or None, shown=bool(modules)),
        _fact("normalize", "normalize", normalizes(modules), shown=bool(modules)),
    )


def _weights(folder: Path) -> tuple[int | None, str | None]:
    """The number of weights in the folder's safetensors files and their most common float type."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None, None
    count, types = 0, Counter[str]()
    for file in files:
        for dtype, shape in tensor_headers(file).values():
            if dtype in _FLOAT_DTYPES:
                size = math.prod(shape)
                count += size
                types[dtype] += size
    common = types.most_common(1)[0][0] if types else None
    return count, _DTYPES.get(common) if common else None


# ----- values from files -------------------------------------------------------------------------------


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _is_flag(value: Any) -> bool:
    return isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _valid(value: Any, kind: type) -> Any:
    """``value`` when it is a ``kind`` (a bool is not an int; a count is not negative), else None."""
    checks = {int: _is_count, bool: _is_flag, str: _is_text}
    return value if checks[kind](value) else None


def _show(value: Any) -> str:
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _fact(key: str, label: str, value: Any, text: str | None = None, *, shown: bool = True) -> Fact:
    return Fact(key, label, value, _show(value) if value is None or text is None else text, shown)


def _setting(config: dict[str, Any], name: str, label: str, valid: Any, *, key: str | None = None) -> Fact:
    """A setting from a config: null is "none", a value ``valid`` rejects is unknown (``-``), and one the
    config does not name is left out of the table."""
    if name not in config:
        return _fact(key or name, label, None, shown=False)
    value = config[name]
    if value is None:
        return Fact(key or name, label, None, "none")
    return _fact(key or name, label, value if valid(value) else None)


def _package_name() -> str:
    from m2vcli.packaged_data import TEACHER

    return TEACHER[1].split("==")[0]
