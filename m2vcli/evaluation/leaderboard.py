"""``m2v leaderboard``: a results table from ``m2v evaluate`` (and ``m2v bench``) JSON files.

One row per model: Avg (All), Avg (MTEB), then one column per category; or, with ``per_task``, one row per
task and one column per model. A category with no result is missing (shown as a dash), never zero. Models
are compared like with like: every average is over the tasks that all the listed models have.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from m2vcli.config import clip, coerce_enum
from m2vcli.errors import InputError, M2VError, MissingValueError, first_line
from m2vcli.evaluation.categories import Category
from m2vcli.files import read_limited
from m2vcli.tables import EMPTY, Column, ResultTable, TableFormat, plain, render, shorten  # TableFormat: still here

CATEGORIES = [c.value for c in Category]
MTEB_CATEGORIES = [c.value for c in Category if c.is_mteb]
Warn = Callable[[str], None]
MAX_RESULT_BYTES = 64 * 1024**2  # one result or bench JSON file
OLD_TEACHER_ROW = re.compile(r"teacher \((.+)\)")  # how m2v bench named the teacher before it used its own name


@dataclass(frozen=True)
class LeaderboardConfig:
    """Settings of ``m2v leaderboard``."""

    results: tuple[str, ...] = ()
    format: TableFormat = TableFormat.TABLE
    plot: str | None = None
    per_task: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.results, str):
            object.__setattr__(self, "results", (self.results,))
        object.__setattr__(self, "results", tuple(str(r) for r in self.results or ()))
        coerce_enum(self, "format", TableFormat)
        if not self.results:
            raise MissingValueError("no results given: name results folders or bench JSON files", option="RESULTS")


@dataclass
class Row:
    model: str
    scores: dict[str, float] = field(default_factory=dict)  # category -> mean over the shared tasks
    avg_all: float | None = None
    avg_mteb: float | None = None
    covers: list[str] = field(default_factory=list)
    sentences_per_s: float | None = None
    parameters: int | None = None
    left_out: list[str] = field(default_factory=list)  # tasks not every listed model has: not in the averages
    lacks: list[str] = field(default_factory=list)  # tasks another listed model has and this one does not
    tasks: dict[str, dict[str, float]] = field(default_factory=dict)  # category -> task -> score, all tasks
    bench: dict[str, Any] | None = None  # the machine and settings of the m2v bench run behind sentences_per_s


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _finite(value: Any, scale: float = 1.0) -> float | None:
    """``value * scale`` when ``value`` is a number (not a bool, not a string) and the product is finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value) * scale
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def count_of(value: Any) -> int | None:
    """``value`` when it is a whole number of at least 0, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _bench_row(row: Any, path: Path, setup: dict[str, Any], warn: Warn) -> dict[str, Any] | None:
    """A bench JSON row with a finite positive median speed, else None (a failed model's row silently)."""
    if not isinstance(row, dict) or not row.get("sentences_per_s"):
        return None
    speed = row["sentences_per_s"]
    median = _finite(speed.get("median")) if isinstance(speed, dict) else None
    name, folder = row.get("name"), row.get("path")
    if median is None or median <= 0 or not isinstance(name, str) or not isinstance(folder, (str, type(None))):
        warn(f"skipped a model in {path}: its name, path or sentences_per_s.median is not valid ({clip(name)})")
        return None
    return {**row, "sentences_per_s": {**speed, "median": median}, "bench": setup}


def _bench_setup(data: dict[str, Any]) -> dict[str, Any]:
    """The machine and settings of a bench JSON file (each an empty dict when missing or not a dict)."""
    return {key: data[key] if isinstance(data.get(key), dict) else {} for key in ("machine", "settings")}


def parse_mteb_results(
    results: Sequence[Path] | Any, warn: Warn | None = None
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, Any]]:
    """Scores (x100) by model, category and task, and bench rows by model name, from result files (``m2v evaluate``
    and ``m2v bench -o``) or from the report ``run_tasks`` returns. Unreadable files are skipped, each
    with a call to ``warn`` (default: a Python warning)."""
    warn = warn or (lambda message: warnings.warn(message, stacklevel=3))
    outcomes = getattr(results, "outcomes", None)
    paths = [Path(o.path) for o in outcomes if o.path] if outcomes is not None else [Path(p) for p in results]
    scores: dict[str, dict[str, dict[str, float]]] = {}
    speeds: dict[str, Any] = {}
    for path in paths:
        try:
            data = json.loads(read_limited(path, "result file", MAX_RESULT_BYTES).decode("utf-8"))
        except M2VError as exc:
            warn(f"skipped {path}: {first_line(exc, 160)}")
            continue
        except (UnicodeDecodeError, ValueError, RecursionError):
            warn(f"skipped {path}: not a readable JSON file")
            continue
        if isinstance(data, dict) and isinstance(data.get("models"), list) and "machine" in data:
            for row in data["models"]:
                bench_row = _bench_row(row, path, _bench_setup(data), warn)
                if bench_row is not None:
                    speeds[Path(bench_row.get("path") or bench_row["name"]).name] = bench_row
                    speeds[bench_row["name"]] = bench_row
                    old_teacher = OLD_TEACHER_ROW.fullmatch(bench_row["name"])
                    if old_teacher:  # an older bench file: the row also answers to the teacher's own name
                        speeds.setdefault(old_teacher.group(1), bench_row)
            continue
        block = data.get("m2v") if isinstance(data, dict) else None
        if not isinstance(block, dict):
            warn(f"skipped {path}: not an m2v evaluate result (no m2v block)")
            continue
        model, category, main_score = block.get("model"), block.get("category"), block.get("main_score")
        if model is None or category is None or main_score is None:
            warn(f"skipped {path}: partial result (model, category or main_score missing)")
            continue
        if not isinstance(model, str) or not isinstance(category, str) or not model or not category:
            warn(f"skipped {path}: model and category must be non-empty strings, got {clip(model)}, {clip(category)}")
            continue
        score = _finite(main_score, 100.0)
        if score is None:
            warn(f"skipped {path}: main_score must be a finite number, got {clip(main_score)}")
            continue
        scores.setdefault(model, {}).setdefault(category, {})[task_name(path, data)] = score
        speeds.setdefault(f"params:{model}", count_of(block.get("parameters")))
    return scores, speeds


def task_name(path: Path, data: Any) -> str:
    """The task a result file holds: MTEB's ``task_name``, else the file's name."""
    name = data.get("task_name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else path.stem


def shared_tasks(scores: dict[str, dict[str, dict[str, float]]]) -> set[tuple[str, str]]:
    """The (category, task) pairs that every model has: the only ones fit to compare models by."""
    sets = [{(c, t) for c, tasks in by_category.items() for t in tasks} for by_category in scores.values()]
    return set.intersection(*sets) if sets else set()


def summarize_results(
    scores: dict[str, dict[str, dict[str, float]]], speeds: dict[str, Any] | None = None
) -> list[Row]:
    """One row per model, sorted by Avg (All), best first; rows with no average go last.

    Models are compared like with like: every average is over the tasks that all the listed models have
    (``shared_tasks``); a model's other tasks are named in its row's ``left_out``, not averaged, and the
    tasks other models have and it does not in its ``lacks``.
    """
    speeds = speeds or {}
    shared = shared_tasks(scores)
    every = {t for by_category in scores.values() for tasks in by_category.values() for t in tasks}
    rows = []
    for model, by_category in scores.items():
        kept = {c: [s for t, s in tasks.items() if (c, t) in shared] for c, tasks in by_category.items()}
        left_out = sorted(t for c, tasks in by_category.items() for t in tasks if (c, t) not in shared)
        means = {c: sum(v) / len(v) for c, v in kept.items() if v}
        covers = [c for c in CATEGORIES if c in means] + sorted(c for c in means if c not in CATEGORIES)
        bench = speeds.get(model) or speeds.get(Path(model).name)
        parameters = speeds.get(f"params:{model}")
        rows.append(
            Row(
                model=model,
                scores=means,
                avg_all=_mean(list(means.values())),
                avg_mteb=_mean([means[c] for c in MTEB_CATEGORIES if c in means]),
                covers=covers,
                sentences_per_s=float(bench["sentences_per_s"]["median"]) if bench else None,
                parameters=parameters if parameters is not None else count_of((bench or {}).get("parameters")),
                left_out=left_out,
                lacks=sorted(every - {t for tasks in by_category.values() for t in tasks}),
                tasks={c: dict(tasks) for c, tasks in by_category.items()},
                bench=bench.get("bench") if bench else None,
            )
        )
    return sorted(rows, key=lambda r: (r.avg_all is None, -(r.avg_all or 0.0)))


def benched_without_scores(scores: dict[str, Any], speeds: dict[str, Any]) -> list[str]:
    """The models of the bench reports that have no evaluate result."""
    known = set(scores) | {Path(model).name for model in scores}
    return sorted(plain(k) for k in speeds if not k.startswith("params:") and k not in known)


def leaderboard(cfg: LeaderboardConfig, warn: Warn | None = None, unscored: list[str] | None = None) -> list[Row]:
    """The rows of ``m2v leaderboard``: every result file under ``cfg.results``, one row per model.
    ``unscored``, when given, gets the benched models that have no evaluate result (they have no row)."""
    scores, speeds = parse_mteb_results(find_result_files(cfg.results), warn)
    if not scores and speeds:  # bench reports alone: their speeds, one row per model, as benched
        return speed_rows(speeds)
    if not scores:
        raise InputError(f"no m2v evaluate results in {', '.join(cfg.results)}")
    if unscored is not None:
        unscored.extend(benched_without_scores(scores, speeds))
    return summarize_results(scores, speeds)


def speed_rows(speeds: dict[str, Any]) -> list[Row]:
    """One row per benched model (a report names each under its name and its folder's), fastest first:
    a saved ``m2v bench`` report shown again, without scores."""
    rows: dict[str, Row] = {}
    for key, bench in speeds.items():
        if key.startswith("params:") or not isinstance(bench, dict) or key != bench.get("name"):
            continue
        rows[key] = Row(
            model=key,
            sentences_per_s=float(bench["sentences_per_s"]["median"]),
            parameters=count_of(bench.get("parameters")),
            bench=bench.get("bench"),
        )
    return sorted(rows.values(), key=lambda r: -(r.sentences_per_s or 0.0))


def find_result_files(folders: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        path = Path(folder)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += sorted(path.rglob("*.json"))
        else:
            raise InputError(f"results folder {path} does not exist")
    return files


def coverage_notes(rows: Sequence[Row], most: int = 6) -> list[str]:
    """Lines that say what the averages leave out: a first line, then one per model that lacks a task
    or has tasks not every model has. Nothing when every model has the same tasks."""

    def names(tasks: Sequence[str]) -> str:
        more = f", and {len(tasks) - most} more" if len(tasks) > most else ""
        return ", ".join(shorten(plain(t)) for t in tasks[:most]) + more

    alike: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}  # models that lack the same tasks
    for row in rows:
        if row.lacks or row.left_out:
            alike.setdefault((tuple(row.lacks), tuple(row.left_out)), []).append(shorten(plain(row.model)))
    lines = []
    for (lacks, left_out), models in alike.items():
        several = len(models) > 1
        who = ", ".join(models[:-1]) + f" and {models[-1]}" if several else models[0]
        parts = [f"{who} {'lack' if several else 'lacks'}: {names(lacks)}"] if lacks else []
        owner = ("their" if several else "its") if lacks else (f"{who}:" if several else f"{who}'s")
        parts += [f"{owner} other tasks left out: {names(left_out)}"] if left_out else []
        lines.append("  " + "; ".join(parts))
    if not lines:
        return []
    shared = sum(len(tasks) for tasks in rows[0].tasks.values()) - len(rows[0].left_out)
    if not shared:
        return ["note: no task is in every model's results, so there are no averages (compare with --per-task)"]
    return [f"note: averages are over the {shared} task{'s' * (shared != 1)} every model has", *lines]


def averages_note(rows: Sequence[Row]) -> str | None:
    """What the two averages are, named by the categories the rows have: Avg (MTEB) is a mean of the
    MTEB categories present, not the MTEB leaderboard's score."""
    present = [c for c in CATEGORIES if any(c in r.scores for r in rows)]
    if not present:
        return None
    mteb = [c for c in present if c in MTEB_CATEGORIES]
    line = f"Avg (All): the mean of {', '.join(present)}"
    if mteb:
        line += f"; Avg (MTEB): of {', '.join(mteb)} (not an MTEB leaderboard score)"
    return line


def _score(value: float | None) -> str:
    return EMPTY if value is None or not math.isfinite(value) else f"{value:.2f}"


def leaderboard_table(rows: Sequence[Row], fmt: TableFormat | str = TableFormat.TABLE) -> ResultTable:
    """One row per model. Covers only when the rows differ in it; in CSV a speed has no thousands separator."""
    extra = sorted({c for r in rows for c in r.scores if c not in CATEGORIES})
    covers = len({tuple(r.covers) for r in rows}) > 1
    names = ["Avg (All)", "Avg (MTEB)", *CATEGORIES, *extra, "Sentences/s"]
    cols = [Column("Model", text=True), *(Column(name) for name in names)]
    speed = "{:.0f}" if TableFormat(fmt) is TableFormat.CSV else "{:,.0f}"
    body = []
    for r in rows:
        cells = [r.model, _score(r.avg_all), _score(r.avg_mteb), *(_score(r.scores.get(c)) for c in CATEGORIES)]
        cells += [_score(r.scores.get(c)) for c in extra]
        cells.append(EMPTY if r.sentences_per_s is None else speed.format(r.sentences_per_s))
        body.append([*cells, ", ".join(r.covers)] if covers else cells)
    if covers:
        cols.append(Column("Covers", text=True))
    records = [asdict(r) for r in rows]
    return ResultTable("m2v leaderboard (scores x 100)", cols, body, records)


def per_task_table(rows: Sequence[Row], fmt: TableFormat | str = TableFormat.TABLE) -> ResultTable:
    """One row per task, one column per model (in the leaderboard's order). The tasks every model has come
    first, each group by category; Averaged only when some task is left out of the averages."""
    fmt = TableFormat(fmt)
    found = {(c, t) for r in rows for c, tasks in r.tasks.items() for t in tasks}
    shared = {(c, t) for c, t in found if all(t in r.tasks.get(c, {}) for r in rows)}
    order = {c: i for i, c in enumerate(CATEGORIES)}
    tasks = sorted(found, key=lambda ct: (ct not in shared, order.get(ct[0], len(order)), ct[0], ct[1]))
    some_left_out = len(shared) < len(found)
    cols = [Column("Task", text=True), Column("Category", text=True)]
    cols += [Column("Averaged", text=True)] if some_left_out else []
    names = {TableFormat.TABLE: lambda r: shorten(plain(r.model)), TableFormat.MARKDOWN: lambda r: plain(r.model)}
    cols += [Column(names.get(fmt, lambda r: r.model)(r), key=r.model) for r in rows]
    body, records = [], []
    for category, task in tasks:
        found_in = [r.tasks.get(category, {}).get(task) for r in rows]
        averaged = (category, task) in shared
        body.append([task, category, *(["yes" if averaged else "no"] if some_left_out else []), *map(_score, found_in)])
        scores = dict(zip((r.model for r in rows), found_in, strict=True))
        records.append({"task": task, "category": category, "averaged": averaged, "scores": scores})
    return ResultTable("m2v leaderboard per task (scores x 100)", cols, body, records)


def make_leaderboard(
    rows: Sequence[Row],
    fmt: TableFormat | str = TableFormat.MARKDOWN,
    *,
    per_task: bool = False,
    width: int | None = None,
) -> str:
    """The leaderboard as text in ``fmt`` (a table for a terminal ``width`` columns wide, or plain text)."""
    table = per_task_table(rows, fmt) if per_task else leaderboard_table(rows, fmt)
    return render(table, fmt, width=width)


def read_scores(
    results: str | os.PathLike[str], model: str | None = None
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """The scores of one model in an ``m2v evaluate`` results folder (or file): ``model`` names it (its
    ``--name`` or path), else the folder must hold one model's results. Files that cannot be read are
    skipped and named in the second value."""
    skipped: list[str] = []
    try:
        files = find_result_files([str(results)])
    except OSError as exc:
        raise InputError(f"cannot read results {results}: {exc.strerror or exc}") from exc
    scores, _ = parse_mteb_results(files, warn=skipped.append)
    if not scores:
        return {}, skipped
    if model is not None:
        wanted = {model, Path(model).name}
        found = [name for name in scores if name in wanted or Path(name).name in wanted]
        if len(found) == 1:
            return scores[found[0]], skipped
    if len(scores) == 1:
        return next(iter(scores.values())), skipped
    names = ", ".join(sorted(scores)[:5])
    raise InputError(f"{results} holds results of several models ({names}); give one model's folder or file")
