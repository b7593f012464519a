"""``m2v evaluate``: score a model with MTEB's evaluators, offline by default, one JSON per task.

Results go to ``OUTPUT/<model name>/<task>.json`` in MTEB's task-result format plus an ``m2v`` block
(category, model metadata, timing). A task whose file exists is skipped unless ``overwrite``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from m2vcli.config import coerce_enum
from m2vcli.errors import ConfigError, M2VError, OutputError, first_line
from m2vcli.evaluation.models import EncodeCallback, LoadedModel, count_encoded, wrap_model
from m2vcli.evaluation.registry import Suite, category_of, get_tasks
from m2vcli.files import atomic_file
from m2vcli.hub import hub_mode_restored

ProgressCallback = Callable[[str, str], None]


@dataclass(frozen=True)
class EvaluateConfig:
    """Settings of ``m2v evaluate``."""

    model: str | None = None
    tasks: tuple[str, ...] = ()
    suite: Suite | None = None
    task_file: str | None = None
    output_dir: str = "results"
    overwrite: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.tasks, str):
            object.__setattr__(self, "tasks", tuple(t.strip() for t in self.tasks.split(",") if t.strip()))
        object.__setattr__(self, "tasks", tuple(self.tasks or ()))
        coerce_enum(self, "suite", Suite)
        if not self.model:
            raise ConfigError("no model given: pass --model PATH (a static model or a Sentence Transformer)")


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
    from m2vcli.evaluation.mteb_adapter import evaluate_task

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
        task_result = evaluate_task(loaded.encoder, task)
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


def evaluate(
    cfg: EvaluateConfig, *, on_task: ProgressCallback | None = None, on_encode: EncodeCallback | None = None
) -> EvaluationReport:
    """Run the tasks ``cfg`` names on its model (see ``run_tasks``)."""
    tasks = get_tasks(cfg.tasks, cfg.suite) if (cfg.tasks or cfg.suite or not cfg.task_file) else []
    if cfg.task_file:
        from m2vcli.evaluation.tasks.user import load_task_file

        tasks = load_task_file(cfg.task_file) + tasks
    assert cfg.model is not None
    return run_tasks(
        cfg.model, tasks, output_dir=cfg.output_dir, overwrite=cfg.overwrite, on_task=on_task, on_encode=on_encode
    )


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
