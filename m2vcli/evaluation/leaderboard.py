"""``m2v leaderboard``: the seed's results table from ``m2v evaluate`` (and ``m2v bench``) JSON files.

One row per model: Avg (All), Avg (MTEB), then one column per category. A category with no result
is missing (shown as a dash), never zero, and each row says which categories its averages cover.
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from m2vcli.config import clip, coerce_enum
from m2vcli.errors import InputError, M2VError, MissingValueError, first_line
from m2vcli.evaluation.registry import Category
from m2vcli.files import read_limited

CATEGORIES = [c.value for c in Category]
MTEB_CATEGORIES = [c.value for c in Category if c.is_mteb]
Warn = Callable[[str], None]
MAX_RESULT_BYTES = 64 * 1024**2  # one result or bench JSON file


class TableFormat(str, Enum):
    TABLE = "table"
    MARKDOWN = "markdown"
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True)
class LeaderboardConfig:
    """Settings of ``m2v leaderboard``."""

    results: tuple[str, ...] = ()
    format: TableFormat = TableFormat.TABLE
    plot: str | None = None

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
    scores: dict[str, float] = field(default_factory=dict)
    avg_all: float | None = None
    avg_mteb: float | None = None
    covers: list[str] = field(default_factory=list)
    sentences_per_s: float | None = None
    parameters: int | None = None
    left_out: list[str] = field(default_factory=list)  # tasks not every listed model has: not in the averages


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


def _bench_row(row: Any, path: Path, warn: Warn) -> dict[str, Any] | None:
    """A bench JSON row with a finite positive median speed, else None (a failed model's row silently)."""
    if not isinstance(row, dict) or not row.get("sentences_per_s"):
        return None
    speed = row["sentences_per_s"]
    median = _finite(speed.get("median")) if isinstance(speed, dict) else None
    name, folder = row.get("name"), row.get("path")
    if median is None or median <= 0 or not isinstance(name, str) or not isinstance(folder, (str, type(None))):
        warn(f"skipped a model in {path}: its name, path or sentences_per_s.median is not valid ({clip(name)})")
        return None
    return {**row, "sentences_per_s": {**speed, "median": median}}


def parse_mteb_results(
    results: Sequence[Path] | Any, warn: Warn | None = None
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, Any]]:
    """Scores (x100) by model, category and task, and bench rows by model name, from result files (``m2v evaluate``
    and ``m2v bench --json``) or from the report ``run_tasks`` returns. Unreadable files are skipped, each
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
                bench_row = _bench_row(row, path, warn)
                if bench_row is not None:
                    speeds[Path(bench_row.get("path") or bench_row["name"]).name] = bench_row
                    speeds[bench_row["name"]] = bench_row
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
        parameters = block.get("parameters")
        valid = isinstance(parameters, int) and not isinstance(parameters, bool) and parameters >= 0
        speeds.setdefault(f"params:{model}", parameters if valid else None)
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
    (``shared_tasks``); a model's other tasks are named in its row's ``left_out``, not averaged.
    """
    speeds = speeds or {}
    shared = shared_tasks(scores)
    rows = []
    for model, by_category in scores.items():
        kept = {c: [s for t, s in tasks.items() if (c, t) in shared] for c, tasks in by_category.items()}
        left_out = sorted(t for c, tasks in by_category.items() for t in tasks if (c, t) not in shared)
        means = {c: sum(v) / len(v) for c, v in kept.items() if v}
        covers = [c for c in CATEGORIES if c in means] + sorted(c for c in means if c not in CATEGORIES)
        bench = speeds.get(model) or speeds.get(Path(model).name)
        rows.append(
            Row(
                model=model,
                scores=means,
                avg_all=_mean(list(means.values())),
                avg_mteb=_mean([means[c] for c in MTEB_CATEGORIES if c in means]),
                covers=covers,
                sentences_per_s=float(bench["sentences_per_s"]["median"]) if bench else None,
                parameters=speeds.get(f"params:{model}"),
                left_out=left_out,
            )
        )
    return sorted(rows, key=lambda r: (r.avg_all is None, -(r.avg_all or 0.0)))


def leaderboard(cfg: LeaderboardConfig, warn: Warn | None = None) -> list[Row]:
    """The rows of ``m2v leaderboard``: every result file under ``cfg.results``, one row per model."""
    scores, speeds = parse_mteb_results(find_result_files(cfg.results), warn)
    if not scores:
        raise InputError(f"no m2v evaluate results in {', '.join(cfg.results)}")
    return summarize_results(scores, speeds)


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


def columns(rows: Sequence[Row]) -> list[str]:
    head = ["Model", "Avg (All)", "Avg (MTEB)", *CATEGORIES]
    extra = sorted({c for r in rows for c in r.scores if c not in CATEGORIES})
    tail = ["Sentences/s"] if any(r.sentences_per_s for r in rows) else []
    return head + extra + tail + ["Covers"]


def cells(row: Row, names: Sequence[str]) -> list[str]:
    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    out = []
    for name in names:
        if name == "Model":
            out.append(row.model)
        elif name == "Avg (All)":
            out.append(fmt(row.avg_all))
        elif name == "Avg (MTEB)":
            out.append(fmt(row.avg_mteb))
        elif name == "Sentences/s":
            out.append("-" if row.sentences_per_s is None else f"{row.sentences_per_s:,.0f}")
        elif name == "Covers":
            out.append(", ".join(row.covers))
        else:
            out.append(fmt(row.scores.get(name)))
    return out


def rich_table(rows: Sequence[Row]) -> Any:
    """The table for a terminal. Cells are ``Text``, so a model named ``[bold]`` shows as written."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="m2v leaderboard (scores x 100; Covers: the categories in the averages)")
    names = columns(rows)
    for name in names:
        table.add_column(name, justify="left" if name in ("Model", "Covers") else "right")
    for row in rows:
        table.add_row(*(Text(cell) for cell in cells(row, names)))
    return table


def make_leaderboard(rows: Sequence[Row], fmt: TableFormat | str = TableFormat.MARKDOWN) -> str:
    """The table as markdown, csv or json text (``rich_table`` draws it for a terminal)."""
    fmt = TableFormat(fmt)
    names = columns(rows)
    if fmt is TableFormat.JSON:
        return json.dumps([_json_safe(asdict(r)) for r in rows], indent=2, allow_nan=False)
    if fmt is TableFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([_csv_text(name) for name in names])
        text_columns = [name in ("Model", "Covers") for name in names]
        for r in rows:
            writer.writerow(
                [_csv_text(c) if text else c for c, text in zip(cells(r, names), text_columns, strict=True)]
            )
        return buffer.getvalue()
    lines = ["| " + " | ".join(_markdown_cell(n) for n in names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(_markdown_cell(c) for c in cells(r, names)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None (null), so the JSON stays valid."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _csv_text(cell: str) -> str:
    """A text cell a spreadsheet will not run as a formula: one starting with =, +, -, @, tab or carriage
    return gets a leading single quote (numbers are ours, formatted, and stay as they are).

    >>> _csv_text("=HYPERLINK(1)"), _csv_text("model-a")
    ("'=HYPERLINK(1)", 'model-a')
    """
    return "'" + cell if cell.startswith(("=", "+", "-", "@", "\t", "\r")) else cell


def _markdown_cell(cell: str) -> str:
    """A cell that stays in its markdown table cell: ``|`` escaped, line breaks turned into spaces."""
    return " ".join(cell.splitlines()).replace("|", "\\|")


def plot_speed_vs_score(rows: Sequence[Row], path: str | Path, inputs: Sequence[Path] = ()) -> int:
    """Scatter of sentences/s (log axis) against Avg (All), bubble area by parameter count. Returns the
    number of models plotted (those with both a speed and a score). ``inputs``: the files the rows were
    read from, which the plot must not overwrite."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise InputError("--plot needs matplotlib: pip install matplotlib (or the m2v[plot] extra)") from exc
    from m2vcli.files import atomic_file, check_output_file

    target = check_output_file(path, "--plot", inputs=inputs)
    points = [r for r in rows if r.sentences_per_s and r.avg_all is not None]
    if not points:
        raise InputError("--plot needs models with both evaluate results and m2v bench results")
    biggest = max((r.parameters or 1) for r in points)
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    for r in points:
        x, y = float(r.sentences_per_s or 0), float(r.avg_all or 0)
        area = 100 + 2000 * (r.parameters or biggest / 20) / biggest
        ax.scatter(x, y, s=area, alpha=0.5)
        ax.annotate(r.model, (x, y), ha="center", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("sentences per second (log scale)")
    ax.set_ylabel("Avg (All)")
    ax.set_title("Speed against score (bubble area: parameters)")
    ax.grid(True, alpha=0.3)
    image = io.BytesIO()  # rendered first: the output may be a FIFO, which cannot seek
    fig.savefig(image, format="png", dpi=120, bbox_inches="tight")
    with atomic_file(target) as handle:
        handle.write(image.getvalue())
    return len(points)
