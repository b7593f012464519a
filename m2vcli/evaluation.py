"""``m2v evaluate``: score a model with MTEB's evaluators, offline by default, one JSON per task.

Results go to ``OUTPUT/<model name>/<task>.json`` in MTEB's task-result format plus an ``m2v`` block
(category, model metadata, timing). A task whose file exists is skipped unless ``overwrite``.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.errors import ConfigError, M2VError, ModelLoadError, OutputError, first_line
from m2vcli.files import atomic_file, folder_bytes
from m2vcli.hub import hub_mode_restored
from m2vcli.persistence import is_static_folder

MTEB_CATEGORIES = {
    "Classification": "Class",
    "Clustering": "Clust",
    "PairClassification": "PairClass",
    "Reranking": "Rank",
    "Retrieval": "Ret",
    "STS": "STS",
    "Summarization": "Sum",
}
SUITES = ("offline", "pearl", "seed-classification")
ProgressCallback = Callable[[str, str], None]
EncodeCallback = Callable[[int], None]


@dataclass(frozen=True)
class EvaluateConfig:
    """Settings of ``m2v evaluate``."""

    model: str | None = None
    tasks: tuple[str, ...] = ()
    suite: str | None = None
    task_file: str | None = None
    output_dir: str = "results"
    overwrite: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.tasks, str):
            object.__setattr__(self, "tasks", tuple(t.strip() for t in self.tasks.split(",") if t.strip()))
        object.__setattr__(self, "tasks", tuple(self.tasks or ()))
        if self.suite is not None and self.suite not in SUITES:
            raise ConfigError(f"suite must be one of {', '.join(SUITES)}, got {self.suite!r}")
        if not self.model:
            raise ConfigError("no model given: pass --model PATH (a static model or a Sentence Transformer)")


def suite_tasks(suite: str) -> dict[str, Any]:
    """The task classes of a built-in suite, by name."""
    from m2vcli.mteb_tasks import OFFLINE_SUITE, SEED_CLASSIFICATION
    from m2vcli.pearl import PEARL_TASKS, PEARLAutoFJ

    suites = {
        "offline": {**OFFLINE_SUITE, "PEARLAutoFJ": PEARLAutoFJ},
        "pearl": PEARL_TASKS,
        "seed-classification": SEED_CLASSIFICATION,
    }
    if suite not in suites:
        raise ConfigError(f"suite must be one of {', '.join(SUITES)}, got {suite!r}")
    return suites[suite]


def describe_tasks() -> list[dict[str, str]]:
    """m2v's own tasks, suite by suite: name, category, data source and description."""
    return [
        {
            "suite": suite,
            "task": name,
            "category": cls.m2v_category,
            "data": cls.metadata.dataset["path"],
            "description": cls.metadata.description,
        }
        for suite in SUITES
        for name, cls in suite_tasks(suite).items()
    ]


def local_tasks() -> dict[str, Any]:
    """m2v's own tasks (every suite's), by name."""
    return {name: cls for suite in SUITES for name, cls in suite_tasks(suite).items()}


def all_task_names() -> list[str]:
    import mteb

    return [*local_tasks(), *(t.metadata.name for t in mteb.get_tasks(exclude_superseded=False))]


def get_tasks(names: Sequence[str] = (), suite: str | None = None) -> list[Any]:
    """Task objects: a built-in suite (``offline``, the default when nothing is named; ``pearl``, the PEARL
    phrase benchmark; ``seed-classification``, SST-2, IMDB, TREC, AG News from the hub) and/or tasks by
    name (m2v's or any MTEB task)."""
    chosen = suite or ("offline" if not names else None)
    tasks: list[Any] = [cls() for cls in suite_tasks(chosen).values()] if chosen else []
    if names:
        import mteb

        local = local_tasks()
        known = all_task_names()
        for name in names:
            if name in local:
                tasks.append(local[name]())
                continue
            if name not in known:
                close = difflib.get_close_matches(name, known, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ConfigError(f"unknown task {name!r}{hint}")
            tasks += list(mteb.get_tasks(tasks=[name], exclude_superseded=False))
    return tasks


def category_of(task: Any) -> str:
    return getattr(task, "m2v_category", None) or MTEB_CATEGORIES.get(task.metadata.type, task.metadata.type)


@dataclass
class LoadedModel:
    name: str
    encoder: Any
    meta: dict[str, Any]


def load_model(path_or_id: str, name: str | None = None) -> LoadedModel:
    """Wrap a static model (m2v, model2vec) or a Sentence Transformer, from a folder or hub id, for MTEB."""
    from m2vcli.persistence import resolve_model_folder
    from m2vcli.teacher import DEFAULT_TEACHER, packaged_teacher

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
            raise ModelLoadError(
                f"cannot load {path_or_id} as a Sentence Transformer: {first_line(exc, 160)}"
            ) from None
        loaded = _wrap_object(st, name)
    loaded.meta["bytes_on_disk"] = folder_bytes(folder)
    loaded.meta["path"] = str(folder)
    return loaded


def _wrap_object(model: Any, name: str, release_date: str | None = None) -> LoadedModel:
    """A ``StaticEmbedder`` or a ``SentenceTransformer`` in memory, wrapped for MTEB."""
    from m2vcli.model import StaticEmbedder

    if isinstance(model, StaticEmbedder):
        meta = {"kind": "static", "parameters": int(model.embeddings.size), "dims": model.dim}
        if release_date:
            meta["release_date"] = release_date
        return LoadedModel(name=name, encoder=_static_encoder(model, name, release_date), meta=meta)
    if hasattr(model, "encode") and hasattr(model, "parameters"):  # a SentenceTransformer
        from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

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


def _static_encoder(model: Any, name: str, release_date: str | None = None) -> Any:
    from mteb.models.abs_encoder import AbsEncoder
    from mteb.models.model_meta import ModelMeta

    class StaticEncoder(AbsEncoder):
        def __init__(self) -> None:
            self.model = model
            self.mteb_model_meta = ModelMeta(
                loader=None,
                name=name if "/" in name else f"local/{name}",
                revision="local",
                release_date=release_date,
                languages=None,
                n_parameters=int(model.embeddings.size),
                memory_usage_mb=round(model.embeddings.nbytes / 2**20, 2),
                max_tokens=model.max_length,
                embed_dim=model.dim,
                license=None,
                open_weights=True,
                public_training_code=None,
                public_training_data=None,
                similarity_fn_name="cosine",  # type: ignore[arg-type]
                framework=["NumPy"],
                reference=None,
                use_instructions=False,
                training_datasets=None,
            )

        def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
            return np.asarray(model.encode([text for batch in inputs for text in batch["text"]]))

    return StaticEncoder()


@dataclass
class TaskOutcome:
    task: str
    category: str
    status: str  # "done", "skipped" (already there), "failed"
    main_score: float | None = None
    seconds: float | None = None
    message: str | None = None
    path: str | None = None


@dataclass
class EvaluationReport:
    model: str
    meta: dict[str, Any]
    outcomes: list[TaskOutcome] = field(default_factory=list)


def result_path(output_dir: str | Path, model_name: str, task_name: str) -> Path:
    return Path(output_dir) / model_name.replace("/", "__") / f"{task_name}.json"


def _read_main_score(path: Path) -> float | None:
    try:
        data = json.loads(path.read_text())
        return float(data["m2v"]["main_score"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_task(task: Any, loaded: LoadedModel, path: Path) -> TaskOutcome:
    """Load one task's data, score the model with MTEB, write the result; failures become outcomes."""
    try:
        return _run_task(task, loaded, path)
    finally:
        if getattr(task, "data_loaded", False):
            task.unload_data()  # knowledge bases and tables need not outlive their task


def _run_task(task: Any, loaded: LoadedModel, path: Path) -> TaskOutcome:
    import mteb

    name, category = task.metadata.name, category_of(task)
    start = time.perf_counter()
    try:
        task.load_data()
    except M2VError as exc:
        return TaskOutcome(name, category, "failed", message=f"data cannot be loaded: {exc}")
    except Exception as exc:
        message = f"data cannot be loaded: {first_line(exc)}"
        if "hub" in message.lower():
            hint = getattr(task, "offline_hint", "offline, only the offline suite and task files run")
            message += f" (the hub cannot be reached: {hint})"
            if isinstance(exc, ConnectionError):  # later tasks use the local cache without waiting on the network
                from m2vcli.hub import go_offline

                go_offline()
        return TaskOutcome(name, category, "failed", message=message)
    try:
        task_result = mteb.evaluate(loaded.encoder, [task], cache=None, show_progress_bar=False).task_results[0]
    except Exception as exc:
        return TaskOutcome(name, category, "failed", message=first_line(exc))
    seconds = time.perf_counter() - start
    score = float(task_result.get_score())
    payload = task_result.to_dict()
    payload["m2v"] = {
        "category": category,
        "main_score": score,
        "seconds": seconds,
        "model": loaded.name,
        **loaded.meta,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as handle:
        handle.write(json.dumps(payload, indent=2, default=str).encode())
    return TaskOutcome(name, category, "done", score, seconds, path=str(path))


def count_encoded(encoder: Any, on_encode: EncodeCallback) -> None:
    """Make ``encoder.encode`` report how many texts each call encoded."""
    encode = encoder.encode

    def counted(*args: Any, **kwargs: Any) -> Any:
        vectors = encode(*args, **kwargs)
        on_encode(len(vectors))
        return vectors

    encoder.encode = counted


def evaluate(
    cfg: EvaluateConfig, *, on_task: ProgressCallback | None = None, on_encode: EncodeCallback | None = None
) -> EvaluationReport:
    """Run the tasks ``cfg`` names on its model (see ``run_tasks``)."""
    tasks = get_tasks(cfg.tasks, cfg.suite) if (cfg.tasks or cfg.suite or not cfg.task_file) else []
    if cfg.task_file:
        from m2vcli.user_tasks import load_task_file

        tasks = load_task_file(cfg.task_file) + tasks
    assert cfg.model is not None
    return run_tasks(
        cfg.model, tasks, output_dir=cfg.output_dir, overwrite=cfg.overwrite, on_task=on_task, on_encode=on_encode
    )


def wrap_model(model: Any, name: str | None = None) -> LoadedModel:
    """A model for MTEB from a path or hub id, a ``StaticEmbedder`` or a ``SentenceTransformer``."""
    if isinstance(model, (str, Path)):
        return load_model(str(model), name)
    if not name:
        raise ConfigError("a model given as an object needs a name= (its results folder and leaderboard row)")
    return _wrap_object(model, name)


def run_tasks(
    model: Any,
    tasks: Sequence[Any],
    *,
    name: str | None = None,
    output_dir: str | Path = "results",
    overwrite: bool = False,
    on_task: ProgressCallback | None = None,
    on_encode: EncodeCallback | None = None,
) -> EvaluationReport:
    """Score ``model`` (a path or hub id, a ``StaticEmbedder`` or a ``SentenceTransformer``) on ``tasks``
    (from ``get_tasks``); write one result per task; keep going when one fails (its reason is reported).

    ``on_task(name, status)`` hears "running", then "done", "failed" or "skipped" (a result is already there
    and ``overwrite`` is false); ``on_encode(n)`` hears the number of texts of each encoder call.
    """
    say = on_task or (lambda task, status: None)
    output = Path(output_dir)
    if output.exists() and not output.is_dir():
        raise OutputError(f"output folder {output} exists and is a file")
    loaded = wrap_model(model, name)
    if on_encode is not None:
        count_encoded(loaded.encoder, on_encode)
    report = EvaluationReport(model=loaded.name, meta=loaded.meta)
    with hub_mode_restored():  # a run that went offline leaves the process as it found it
        for task in tasks:
            task_name = task.metadata.name
            path = result_path(output, loaded.name, task_name)
            previous = _read_main_score(path) if path.exists() and not overwrite else None
            if previous is not None:
                report.outcomes.append(TaskOutcome(task_name, category_of(task), "skipped", previous, path=str(path)))
                say(task_name, "skipped")
                continue
            say(task_name, "running")
            outcome = run_task(task, loaded, path)
            report.outcomes.append(outcome)
            say(task_name, outcome.status)
    return report
