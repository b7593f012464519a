"""``m2v evaluate``: score a model with MTEB's evaluators, offline by default, one JSON per task.

Results go to ``OUTPUT/<model name>/<task>.json`` in MTEB's task-result format plus an ``m2v`` block
(category, model metadata, timing). A task whose file exists is skipped unless ``overwrite``.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from m2vcli.callbacks import OnEncode, OnPlan, OnTaskStatus, PlannedTask
from m2vcli.config import coerce_enum
from m2vcli.errors import ConfigError, M2VError, MissingValueError, OutputError, first_line
from m2vcli.evaluation.categories import category_of
from m2vcli.evaluation.leaderboard import MAX_RESULT_BYTES
from m2vcli.evaluation.models import CountingEncoder, EvaluatedModel, evaluated_model
from m2vcli.evaluation.registry import Suite, get_tasks
from m2vcli.extras import require
from m2vcli.files import atomic_file, read_limited
from m2vcli.tables import TableFormat
from m2vcli.teacher.loading import Device, pick_device

MAX_NAME_BYTES = 255  # one file or folder name, on every common file system
MAX_OWNER_FILES = 8  # result files read to learn whose results a folder holds


@dataclass(frozen=True)
class EvaluateConfig:
    """Settings of ``m2v evaluate``."""

    model: str | None = None
    tasks: tuple[str, ...] = ()
    suite: Suite | None = None
    task_file: str | None = None
    output_dir: str = "results"
    overwrite: bool = False
    pearl_data: str | None = None
    name: str | None = None  # the model's name in results and the leaderboard (default: its folder's or hub id)
    batch_size: int = 32  # texts per encoder call of a Sentence Transformer (MTEB's default)
    device: Device = Device.CPU  # where a Sentence Transformer runs (a static model runs on the CPU)
    format: TableFormat = TableFormat.TABLE  # how the command shows the scores

    def __post_init__(self) -> None:
        if isinstance(self.tasks, str):
            object.__setattr__(self, "tasks", tuple(t.strip() for t in self.tasks.split(",") if t.strip()))
        object.__setattr__(self, "tasks", tuple(self.tasks or ()))
        coerce_enum(self, "suite", Suite)
        coerce_enum(self, "format", TableFormat)
        coerce_enum(self, "device", Device)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(
                f"batch_size must be a whole number of at least 1, got {self.batch_size!r}", key="batch_size"
            )
        if not self.model:
            raise MissingValueError(
                "no model given: pass --model PATH (a static model or a Sentence Transformer)", option="--model"
            )


class TaskStatus(str, Enum):
    """What became of a task: ``on_task`` hears RUNNING, then one of the others."""

    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"  # a result was already there and overwrite is off
    FAILED = "failed"


@dataclass
class TaskOutcome:
    task: str
    category: str
    status: TaskStatus
    main_score: float | None = None
    seconds: float | None = None
    message: str | None = None
    path: str | None = None
    traceback: str | None = None  # of a failure, for M2V_DEBUG=1


@dataclass
class EvaluationReport:
    model: str
    meta: dict[str, Any]
    outcomes: list[TaskOutcome] = field(default_factory=list)


def result_path(output_dir: str | Path, model_name: str, task_name: str) -> Path:
    """``output_dir/<model>/<task>.json``, each name made one safe path component (see ``path_component``):
    names come from data (a task file's ``name:``), and a result is never written outside ``output_dir``.

    >>> result_path("results", "org/model", "../../x").as_posix()
    'results/org__model/..__..__x.json'
    """
    root = Path(output_dir)
    folder, file = path_component(model_name), f"{path_component(task_name)}.json"
    for what, part in (("the model's name (--name)", folder), (f"task {task_name[:40]!r}'s name", file)):
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            raise OutputError(
                f"{what} makes a file name of {len(os.fsencode(part)):,} bytes; at most {MAX_NAME_BYTES} fit"
            )
    path = root / folder / file
    if os.path.commonpath([os.path.abspath(root), os.path.abspath(path)]) != os.path.abspath(root):
        raise OutputError(f"result file {path} would be outside the output folder {root}")
    return path


def check_folder_owner(folder: Path, model_name: str) -> None:
    """Refuse to write ``model_name``'s results into ``folder`` when the results already there belong to
    another name that maps to the same folder (``org/model`` and ``org__model``): one would overwrite the
    other's, and the leaderboard would show one under the other's name."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json"))[:MAX_OWNER_FILES]:
        try:
            owner = json.loads(read_limited(path, "result file", MAX_RESULT_BYTES).decode("utf-8"))["m2v"]["model"]
        except (M2VError, ValueError, KeyError, TypeError):
            continue
        if isinstance(owner, str) and owner != model_name:
            raise OutputError(
                f"{folder} holds the results of {owner!r}, and {model_name!r} maps to the same folder: "
                "give another --name or --output-dir"
            )
        return


def path_component(name: str) -> str:
    """``name`` as one file or folder name: path separators become ``__`` (``org/model`` -> ``org__model``),
    control characters (NUL included) ``_``; an empty name, ``.`` and ``..`` get a leading ``_``.

    >>> [path_component(n) for n in ("org/model", "..", "", "../etc")]
    ['org__model', '_..', '_', '..__etc']
    """
    safe = "".join("_" if ord(c) < 32 or c == "\x7f" else c for c in name)
    for separator in {"/", os.sep, os.altsep or "/"}:
        safe = safe.replace(separator, "__")
    return f"_{safe}" if safe in ("", ".", "..") else safe


def _read_main_score(path: Path, fingerprint: str | None) -> float | None:
    """The score already in ``path`` when it was computed for this very model (same fingerprint), else None."""
    try:
        block = json.loads(read_limited(path, "result file", MAX_RESULT_BYTES).decode("utf-8"))["m2v"]
        if block.get("fingerprint") != fingerprint:
            return None  # another model under the same name (re-distilled, edited): evaluate again
        return float(block["main_score"])
    except (M2VError, ValueError, KeyError, TypeError, AttributeError):
        return None


def run_task(task: Any, loaded: EvaluatedModel, path: Path, *, raise_errors: bool = False) -> TaskOutcome:
    """Load one task's data, score the model with MTEB, write the result; failures become outcomes."""
    try:
        return _run_task(task, loaded, path, raise_errors)
    finally:
        if getattr(task, "data_loaded", False):
            task.unload_data()  # knowledge bases and tables need not outlive their task


def _failed(name: str, category: str, message: str) -> TaskOutcome:
    return TaskOutcome(name, category, TaskStatus.FAILED, message=message, traceback=traceback.format_exc())


def _run_task(task: Any, loaded: EvaluatedModel, path: Path, raise_errors: bool) -> TaskOutcome:
    from m2vcli.evaluation.mteb_adapter import evaluate_task
    from m2vcli.hub import is_unreachable

    name, category = task.metadata.name, category_of(task)
    start = time.perf_counter()
    # One task's failure must not end a run of many: each is reported in its row, with its traceback kept
    # for M2V_DEBUG=1. ``raise_errors`` lets anything but missing data and an unreachable hub through.
    try:
        task.load_data()
    except M2VError as exc:
        return _failed(name, category, f"data cannot be loaded: {exc}")
    except Exception as exc:
        if raise_errors and not is_unreachable(exc):
            raise
        message = f"data cannot be loaded: {first_line(exc)}"
        if is_unreachable(exc):
            hint = getattr(task, "offline_hint", "offline, only the offline suite and task files run")
            message += f" (the hub cannot be reached: {hint})"
        return _failed(name, category, message)
    try:
        task_result = evaluate_task(loaded.encoder, task)
    except Exception as exc:
        if raise_errors:
            raise
        return _failed(name, category, first_line(exc))
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: cannot make folder {path.parent}: {exc.strerror or exc}") from exc
    with atomic_file(path) as handle:
        handle.write(json.dumps(payload, indent=2, default=str).encode())
    return TaskOutcome(name, category, TaskStatus.DONE, score, seconds, path=str(path))


def hub_source(task: Any) -> str | None:
    """The Hugging Face hub data set a task will load its data from, or None when its data is local (a
    pinned package, a task file, a local copy of PEARL, data already loaded). MTEB's own tasks load from
    the hub (or its local cache); m2v's name a hub id (``org/name``) only when they read the hub."""
    if getattr(task, "data_loaded", False):
        return None
    source = str(task.metadata.dataset.get("path") or "")
    if getattr(task, "m2v_category", None) is None:
        return source or None
    if "/" not in source:
        return None
    if hasattr(task, "data_dir"):  # PEARL: a local copy wins
        from m2vcli.evaluation.tasks.pearl import DATA_ENV

        if task.data_dir or os.environ.get(DATA_ENV):
            return None
    return source


def evaluate(
    cfg: EvaluateConfig,
    *,
    on_task: OnTaskStatus | None = None,
    on_encode: OnEncode | None = None,
    on_plan: OnPlan | None = None,
) -> EvaluationReport:
    """Run the tasks ``cfg`` names on its model (see ``run_tasks``)."""
    require("evaluate", "evaluating a model")
    wanted = cfg.tasks or cfg.suite or not cfg.task_file
    tasks = get_tasks(cfg.tasks, cfg.suite, pearl_data=cfg.pearl_data) if wanted else []
    if cfg.task_file:
        from m2vcli.evaluation.tasks.user import load_task_file

        tasks = load_task_file(cfg.task_file) + tasks
    return run_tasks(
        cfg.model,
        tasks,
        name=cfg.name,
        output_dir=cfg.output_dir,
        overwrite=cfg.overwrite,
        batch_size=cfg.batch_size,
        device=cfg.device,
        on_task=on_task,
        on_encode=on_encode,
        on_plan=on_plan,
    )


def run_tasks(
    model: Any,
    tasks: Sequence[Any],
    *,
    name: str | None = None,
    output_dir: str | Path = "results",
    overwrite: bool = False,
    batch_size: int | None = None,
    device: Device | str = Device.CPU,
    on_task: OnTaskStatus | None = None,
    on_encode: OnEncode | None = None,
    on_plan: OnPlan | None = None,
    raise_errors: bool = False,
) -> EvaluationReport:
    """Score ``model`` (a path or hub id, a ``StaticEmbedder`` or a ``SentenceTransformer``) on ``tasks``
    (from ``get_tasks``); write one result per task; keep going when one fails (its reason is reported).

    ``on_plan(tasks)`` hears once, before the first task, which tasks will run or be skipped and where
    their data comes from; ``on_task(name, status)`` hears "running", then "done" or "failed", or just
    "skipped" (a result is already there and ``overwrite`` is false); ``on_encode(n, seconds)`` hears
    the texts encoded, a part at a time (``CountingEncoder``). ``batch_size``: texts per encoder call of a
    Sentence Transformer; ``device``: where it runs (checked before it loads). ``raise_errors`` stops at
    an error in a task's own code instead of reporting it in its row.
    """
    require("evaluate", "evaluating a model")
    say = on_task or (lambda task, status: None)
    output = Path(output_dir)
    if output.exists() and not output.is_dir():
        raise OutputError(f"output folder {output} exists and is a file")
    if name:  # checked before the model loads
        result_path(output, name, "")
        check_folder_owner(output / path_component(name), name)
    where = pick_device(Device(device)) if Device(device) is not Device.CPU else "cpu"  # before anything loads
    loaded = evaluated_model(model, name, batch_size, device=where)
    if on_encode is not None or batch_size is not None:
        loaded.encoder = CountingEncoder(loaded.encoder, on_encode, batch_size=batch_size)
    report = EvaluationReport(model=loaded.name, meta=loaded.meta)
    fingerprint = loaded.meta.get("fingerprint")
    plan = []
    check_folder_owner(output / path_component(loaded.name), loaded.name)
    for task in tasks:
        path = result_path(output, loaded.name, task.metadata.name)
        previous = _read_main_score(path, fingerprint) if path.is_file() and not overwrite else None  # not a FIFO
        plan.append((task, path, previous))
    if on_plan is not None:
        on_plan(
            [
                PlannedTask(task.metadata.name, skip=True)
                if previous is not None
                else PlannedTask(task.metadata.name, hub_id=hub_source(task), texts=getattr(task, "m2v_texts", None))
                for task, _, previous in plan
            ]
        )
    for task, path, previous in plan:
        task_name = task.metadata.name
        if previous is not None:
            outcome = TaskOutcome(task_name, category_of(task), TaskStatus.SKIPPED, previous, path=str(path))
            report.outcomes.append(outcome)
            say(task_name, TaskStatus.SKIPPED)
            continue
        say(task_name, TaskStatus.RUNNING)
        outcome = run_task(task, loaded, path, raise_errors=raise_errors)
        report.outcomes.append(outcome)
        say(task_name, outcome.status)
    return report
