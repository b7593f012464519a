"""``m2v leaderboard --plot``: sentences/s against Avg (All), one bubble per model sized by its
parameters. matplotlib is imported only when a plot is drawn."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from m2vcli.errors import InputError
from m2vcli.evaluation.leaderboard import Row, count_of
from m2vcli.extras import require
from m2vcli.tables import plain, shorten

if TYPE_CHECKING:
    from matplotlib.figure import Figure


MAX_AREA, MIN_AREA = 1600.0, 60.0  # bubble areas in points squared


def _area(parameters: float | None, biggest: int) -> float:
    """A bubble's area, proportional to its parameter count (never smaller than ``MIN_AREA``)."""
    return MIN_AREA if not parameters else max(MIN_AREA, MAX_AREA * parameters / biggest)


def count_label(count: float) -> str:
    """A count in two significant digits with k, M or B.

    >>> count_label(150), count_label(1000), count_label(22_713_216), count_label(7_500_000)
    ('150', '1k', '23M', '7.5M')
    """
    value = float(f"{count:.2g}")
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _fit(centres: Sequence[float], radii: Sequence[float], least: float) -> tuple[float, float]:
    """Axis limits in data units under which every bubble (centre, radius as a fraction of the axis length)
    lies inside the axis, spanning at least ``least``."""
    low, high = min(centres), max(centres)
    if high - low < least:
        low, high = (low + high - least) / 2, (low + high + least) / 2
    for _ in range(100):  # a fixed point: the margins grow with the span they are a fraction of
        span = high - low
        low = min(low, *(c - r * span for c, r in zip(centres, radii, strict=True)))
        high = max(high, *(c + r * span for c, r in zip(centres, radii, strict=True)))
        if high - low <= span * (1 + 1e-9):
            break
    return low, high


def _reference_counts(counts: Sequence[int]) -> list[float]:
    """Parameter counts for the size legend: the smallest, the largest and, when they are far apart, one
    between (their geometric mean)."""
    if not counts:
        return []
    low, high = min(counts), max(counts)
    return [low, high] + ([math.sqrt(low * high)] if high > 4 * low else [])


def _setup_note(points: Sequence[Row]) -> str:
    """Where the speeds were measured, as the bench JSON says: the machine, and whether it was ``--quick``."""
    seen = []
    for bench in [r.bench for r in points if r.bench is not None]:
        machine, settings = bench.get("machine", {}), bench.get("settings", {})
        parts = [shorten(plain(machine["cpu"]), 50)] if isinstance(machine.get("cpu"), str) else []
        parts += [f"{machine[k]} {k}" for k in ("cores", "threads") if count_of(machine.get(k)) is not None]
        text = ", ".join(parts) or "an unnamed machine"
        text += "; m2v bench --quick (rough speeds)" if settings.get("quick") is True else ""
        seen += [text] if text not in seen else []
    if not seen:
        return ""
    return "speeds measured on " + " | ".join(seen) if len(seen) < 3 else f"speeds from {len(seen)} bench runs"


def _size_legend(ax: Any, points: Sequence[Row], biggest: int) -> None:
    """A legend beside the axes: reference bubbles labelled by parameter count (and one for unknown)."""
    from matplotlib.lines import Line2D

    known = [r.parameters for r in points if r.parameters]
    sizes = sorted({float(f"{n:.2g}") for n in _reference_counts(known)})
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=math.sqrt(_area(n, biggest)), alpha=0.5, color="gray")
        for n in sizes
    ]
    labels = [count_label(n) for n in sizes]
    if any(not r.parameters for r in points):
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=math.sqrt(MIN_AREA), color="lightgray"))
        labels.append("unknown")
    widest = max((h.get_markersize() for h in handles), default=10.0) / 10  # in font sizes (10 points)
    ax.legend(
        handles, labels, title="parameters", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
        labelspacing=max(1.0, widest), handlelength=widest, handletextpad=1.0, borderpad=1.0,
    )  # fmt: skip


def speed_score_figure(rows: Sequence[Row]) -> Figure:
    """Sentences/s (log axis) against Avg (All), bubble area by parameter count, every bubble whole inside
    the axes, a legend of bubble sizes, and the machine the speeds come from."""
    require("plot", "--plot")
    from matplotlib import ticker
    from matplotlib.figure import Figure

    points = [r for r in rows if r.sentences_per_s and r.avg_all is not None]
    if not points:
        raise InputError("--plot needs models with both evaluate results and m2v bench results")
    biggest = max((r.parameters or 1) for r in points)
    fig = Figure(figsize=(9, 5.5))
    fig.subplots_adjust(left=0.09, right=0.78, top=0.86, bottom=0.12)
    ax = fig.subplots()
    box = ax.get_position()
    size = (box.width * fig.get_figwidth() * 72, box.height * fig.get_figheight() * 72)  # the axes in points
    xs, ys = [math.log10(r.sentences_per_s or 1.0) for r in points], [r.avg_all or 0.0 for r in points]
    areas = [_area(r.parameters, biggest) for r in points]
    pad = 1.25  # room around each bubble's edge, as a share of its radius
    low, high = _fit(xs, [pad * math.sqrt(a) / 2 / size[0] for a in areas], least=1.0)
    bottom, top = _fit(ys, [pad * math.sqrt(a) / 2 / size[1] for a in areas], least=5.0)
    for r, x, y, area in zip(points, xs, ys, areas, strict=True):
        ax.scatter([10**x], [y], s=area, alpha=0.5, clip_on=False, edgecolors="black", linewidths=0.5)
        label = shorten(plain(r.model), 30).replace("$", r"\$")  # no mathtext from a model's name
        side = 1 if x - low < (high - low) / 2 else -1  # the name on the side with more room
        offset = (side * (math.sqrt(area) / 2 + 3), 0)
        ax.annotate(
            label, (10**x, y), xytext=offset, textcoords="offset points", fontsize=8, va="center",
            ha="left" if side > 0 else "right",
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlim(10**low, 10**high)
    ax.set_ylim(bottom, top)
    subs = (1.0, 2.0, 5.0) if high - low <= 4 else (1.0,)
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs, numticks=30))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: count_label(value)))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("sentences per second (log scale)")
    ax.set_ylabel(average_label(points))
    fig.suptitle("Speed against score", x=0.09, ha="left", fontsize=13)
    ax.set_title(_setup_note(points).replace("$", r"\$"), loc="left", fontsize=8, color="dimgray")
    ax.grid(True, which="major", alpha=0.3)
    _size_legend(ax, points, biggest)
    return fig


def average_label(rows: Sequence[Row]) -> str:
    """What the score axis averages: the tasks every model has, counted, so a picture that leaves the
    terminal still says it (a 4-task average is not the suite's).

    >>> average_label([Row(model="m", tasks={"STS": {"a": 1.0, "b": 2.0}, "Class": {"c": 3.0}})])
    'Avg (All) over the 3 tasks every model has, scores x 100'
    """
    first = rows[0]
    shared = sum(len(tasks) for tasks in first.tasks.values()) - len(first.left_out)
    if shared <= 0:
        return "Avg (All), scores x 100"
    return f"Avg (All) over the {shared} task{'s' * (shared != 1)} every model has, scores x 100"


def left_out_of_plot(rows: Sequence[Row]) -> list[str]:
    """One line per model the plot cannot show, with why and what to run."""
    lines = []
    for r in rows:
        name = plain(r.model)
        if r.sentences_per_s and r.avg_all is None:
            lines.append(f"{shorten(name)}: bench speed but no scores, left out of the plot (m2v evaluate -m {name})")
        elif r.avg_all is not None and not r.sentences_per_s:
            lines.append(
                f"{shorten(name)}: scores but no bench speed, left out of the plot "
                f"(m2v bench -m {name} -o bench.json, then add bench.json)"
            )
    return lines


def plot_speed_vs_score(rows: Sequence[Row], path: str | Path, inputs: Sequence[Path] = ()) -> int:
    """Draw ``speed_score_figure`` to a PNG at ``path``. Returns the number of models plotted (those with
    both a speed and a score). ``inputs``: the files the rows were read from, which the plot must not
    overwrite."""
    from m2vcli.files import atomic_file, check_output_file

    target = check_output_file(path, "--plot", inputs=inputs)
    fig = speed_score_figure(rows)
    image = io.BytesIO()  # rendered first: the output may be a FIFO, which cannot seek
    fig.savefig(image, format="png", dpi=120, bbox_inches="tight")
    with atomic_file(target) as handle:
        handle.write(image.getvalue())
    return sum(1 for r in rows if r.sentences_per_s and r.avg_all is not None)
