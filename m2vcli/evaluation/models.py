"""The model under evaluation, wrapped in MTEB's encoder protocol with its metadata: a static model (m2v
or model2vec) or a Sentence Transformer, from a folder, a hub id or an object in memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from m2vcli.errors import ConfigError, M2VError, ModelLoadError, first_line
from m2vcli.files import folder_bytes
from m2vcli.model.persistence import is_static_folder

EncodeCallback = Callable[[int], None]


@dataclass
class LoadedModel:
    name: str
    encoder: Any
    meta: dict[str, Any]


def load_model(path_or_id: str, name: str | None = None) -> LoadedModel:
    """Wrap a static model (m2v, model2vec) or a Sentence Transformer, from a folder or hub id, for MTEB."""
    from m2vcli.distillation.teacher import DEFAULT_TEACHER, packaged_teacher
    from m2vcli.model.persistence import resolve_model_folder

    folder = resolve_model_folder(path_or_id)
    if not name:
        name = folder.name if Path(path_or_id).exists() else path_or_id
        try:
            if folder.resolve() == packaged_teacher().path.resolve():
                name = DEFAULT_TEACHER.split("/")[-1]
        except M2VError:
            pass  # the packaged teacher is not installed: nothing to compare with
    if is_static_folder(folder):
        from m2vcli.model import StaticEmbedder

        loaded = _wrap_object(StaticEmbedder.from_pretrained(folder), name, release_date=_written_on(folder))
    else:
        from sentence_transformers import SentenceTransformer

        try:
            st = SentenceTransformer(str(folder), device="cpu")
        except Exception as exc:
            raise ModelLoadError(f"cannot load {path_or_id} as a Sentence Transformer: {first_line(exc, 160)}") from exc
        loaded = _wrap_object(st, name)
    loaded.meta["bytes_on_disk"] = folder_bytes(folder)
    loaded.meta["path"] = str(folder)
    return loaded


def _wrap_object(model: Any, name: str, release_date: str | None = None) -> LoadedModel:
    """A ``StaticEmbedder`` or a ``SentenceTransformer`` in memory, wrapped for MTEB."""
    from m2vcli.evaluation.mteb_adapter import static_encoder
    from m2vcli.model import StaticEmbedder

    if isinstance(model, StaticEmbedder):
        meta = {"kind": "static", "parameters": int(model.embeddings.size), "dims": model.dim}
        if release_date:
            meta["release_date"] = release_date
        return LoadedModel(
            name=name,
            encoder=static_encoder(
                model.encode,
                name,
                parameters=int(model.embeddings.size),
                memory_mb=round(model.embeddings.nbytes / 2**20, 2),
                max_tokens=model.max_length,
                dims=model.dim,
                release_date=release_date,
            ),
            meta=meta,
        )
    if hasattr(model, "encode") and hasattr(model, "parameters"):  # a SentenceTransformer
        from m2vcli.evaluation.mteb_adapter import SentenceTransformerEncoderWrapper

        meta = {"kind": "sentence-transformer", "parameters": int(sum(p.numel() for p in model.parameters()))}
        meta["dims"] = int(model.get_embedding_dimension() or 0) if hasattr(model, "get_embedding_dimension") else None
        return LoadedModel(name=name, encoder=SentenceTransformerEncoderWrapper(model), meta=meta)
    raise ConfigError(
        f"cannot evaluate a {type(model).__name__}: pass a path, a StaticEmbedder or a SentenceTransformer"
    )


def _written_on(folder: Path) -> str | None:
    """The date (UTC) the model's weights were written: the release date of a local static model."""
    import datetime

    weights = [folder / "model.safetensors", *sorted(folder.glob("*/model.safetensors"))]
    found = [w for w in weights if w.is_file()]
    if not found:
        return None
    written = datetime.datetime.fromtimestamp(found[0].stat().st_mtime, tz=datetime.timezone.utc)
    return written.date().isoformat()


def wrap_model(model: Any, name: str | None = None) -> LoadedModel:
    """A model for MTEB from a path or hub id, a ``StaticEmbedder`` or a ``SentenceTransformer``."""
    if isinstance(model, (str, Path)):
        return load_model(str(model), name)
    if not name:
        raise ConfigError("a model given as an object needs a name= (its results folder and leaderboard row)")
    return _wrap_object(model, name)


def count_encoded(encoder: Any, on_encode: EncodeCallback) -> None:
    """Make ``encoder.encode`` report how many texts each call encoded."""
    encode = encoder.encode

    def counted(*args: Any, **kwargs: Any) -> Any:
        vectors = encode(*args, **kwargs)
        on_encode(len(vectors))
        return vectors

    encoder.encode = counted
