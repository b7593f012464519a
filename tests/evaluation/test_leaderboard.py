"""`m2v leaderboard`: tables that fit a terminal, the per-task view, what each model lacks, the teacher's
bench row under its own name, and a plot whose bubbles, ticks and legend can be read."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from m2vcli.evaluation.leaderboard import (
    LeaderboardConfig,
    Row,
    TableFormat,
    find_result_files,
    leaderboard_table,
    make_leaderboard,
    parse_mteb_results,
    per_task_table,
    summarize_results,
)
from m2vcli.evaluation.plot import speed_score_figure
from m2vcli.tables import render
from tests.helpers import run_m2v

FORTY = "org-with-a-long-name/model-named-at-40-c"  # exactly 40 characters: shown whole
LONG = "another-organisation/a-distilled-model-whose-name-goes-on-and-on"
MACHINE = {"cpu": "Test CPU 9000", "cores": 2, "threads": 2}


def write_result(
    folder: Path, model: str, task: str, category: str, score: float, parameters: int | None = None
) -> None:
    path = folder / model.replace("/", "__") / f"{task}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    block: dict[str, Any] = {"model": model, "category": category, "main_score": score}
    if parameters is not None:
        block["parameters"] = parameters
    path.write_text(json.dumps({"task_name": task, "m2v": block}))


def write_bench(path: Path, speeds: dict[str, float], quick: bool = False, parameters: int | None = None) -> None:
    models = [
        {"name": name, "path": None, "sentences_per_s": {"median": speed}, "parameters": parameters}
        for name, speed in speeds.items()
    ]
    path.write_text(json.dumps({"machine": MACHINE, "settings": {"n": 100, "quick": quick}, "models": models}))


def board(folder: Path) -> list[Row]:
    return summarize_results(*parse_mteb_results(find_result_files([str(folder)])))


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """Three models on the same two tasks, one of them with a 40-character name and one with a longer name."""
    folder = tmp_path / "results"
    for model, shift in (("teacher", 0.1), (FORTY, 0.0), (LONG, -0.05)):
        write_result(folder, model, "WordSim353", "WordSim", 0.6 + shift, 22_000_000 if model == "teacher" else None)
        write_result(folder, model, "LeeDocSim", "STS", 0.7 + shift, 22_000_000 if model == "teacher" else None)
    write_bench(folder / "bench.json", {"teacher": 150.0, FORTY: 21_000.0, LONG: 35_000.0})
    return folder


def test_table_fits_80_columns_with_names_whole_and_no_empty_columns(results: Path) -> None:
    rows = board(results)
    text = render(leaderboard_table(rows), TableFormat.TABLE, width=80)
    lines = text.splitlines()
    assert lines[0] == "m2v leaderboard (scores x 100)"
    assert all(len(line) <= 80 for line in lines), text
    assert sum(FORTY in line for line in lines) >= 2  # whole, in every part the table is split into
    assert "another-organisation" in text and "goes-on-and-on" in text  # a longer name keeps both ends
    header = " ".join(line for line in lines if line.startswith("Model"))
    assert "WordSim" in header and "Sentences/s" in header and "35,000" in text
    assert "PairClass" not in header and "Class " not in header + " "  # columns that are all dashes are left out
    assert "Covers" not in header  # every row covers the same categories
    wide = render(leaderboard_table(rows), TableFormat.TABLE, width=120).splitlines()
    assert all(len(line) <= 120 for line in wide) and sum(line.startswith("Model") for line in wide) == 1


def test_covers_shows_only_when_rows_differ(tmp_path: Path) -> None:
    same = [Row(model="a", covers=["STS"]), Row(model="b", covers=["STS"])]
    differ = [Row(model="a", covers=["STS"]), Row(model="b", covers=["STS", "WordSim"])]
    assert "Covers" not in make_leaderboard(same, "csv").splitlines()[0]
    assert make_leaderboard(differ, "csv").splitlines()[0].endswith(",Covers")
    assert "| STS, WordSim |" in make_leaderboard(differ, "markdown")


def test_markdown_escapes_bars_and_drops_empty_columns() -> None:
    rows = [Row(model="a|b", scores={"STS": 50.0}, avg_all=50.0, avg_mteb=50.0, covers=["STS"])]
    lines = make_leaderboard(rows, "markdown").splitlines()
    assert lines[0] == "| Model | Avg (All) | Avg (MTEB) | STS |"
    assert lines[2] == "| a\\|b | 50.00 | 50.00 | 50.00 |"


def test_csv_has_empty_fields_for_missing_values_and_plain_numbers(results: Path) -> None:
    write_result(results, "unbenched", "WordSim353", "WordSim", 0.5)
    write_result(results, "unbenched", "LeeDocSim", "STS", 0.5)
    header, *body = list(csv.reader(io.StringIO(make_leaderboard(board(results), "csv"))))
    assert header[:4] == ["Model", "Avg (All)", "Avg (MTEB)", "Class"]
    by_model = {line[0]: dict(zip(header, line, strict=True)) for line in body}
    assert by_model[LONG]["Sentences/s"] == "35000" and float(by_model[LONG]["Avg (All)"]) == pytest.approx(60.0)
    assert by_model["unbenched"]["Sentences/s"] == "" and by_model["unbenched"]["Class"] == ""


def test_json_keeps_every_field_of_a_row_and_ends_with_a_newline(results: Path) -> None:
    text = make_leaderboard(board(results), "json")
    assert text.endswith("]\n")
    teacher = next(record for record in json.loads(text) if record["model"] == "teacher")
    assert teacher["tasks"] == {"WordSim": {"WordSim353": pytest.approx(70.0)}, "STS": {"LeeDocSim": pytest.approx(80)}}
    assert teacher["scores"]["STS"] == pytest.approx(80.0) and teacher["avg_all"] == pytest.approx(75.0)
    assert teacher["sentences_per_s"] == 150.0 and teacher["parameters"] == 22_000_000
    assert teacher["left_out"] == [] and teacher["lacks"] == [] and teacher["covers"] == ["STS", "WordSim"]
    assert teacher["bench"] == {"machine": MACHINE, "settings": {"n": 100, "quick": False}}


def test_the_command_writes_plain_text_off_a_terminal_and_its_help_has_no_jargon(results: Path) -> None:
    ran = run_m2v("leaderboard", str(results))
    assert (
        ran.returncode == 0
        and ran.stderr == b"Avg (All): the mean of STS, WordSim; Avg (MTEB): of STS (not an MTEB leaderboard score)\n"
    )
    out = ran.stdout.decode()
    assert out.startswith("m2v leaderboard (scores x 100)\n") and FORTY in out and "\x1b[" not in out
    assert not any(ch in out for ch in "┏│┃")  # no box drawing: a file or a pipe gets aligned text
    help_text = run_m2v("leaderboard", "--help").stdout.decode()
    assert "seed" not in help_text and "--per-task" in help_text


def test_per_task_view_puts_shared_tasks_first_by_category(tmp_path: Path) -> None:
    write_result(tmp_path, "teacher", "WordSim353", "WordSim", 0.8)
    write_result(tmp_path, "teacher", "LeeDocSim", "STS", 0.9)
    write_result(tmp_path, "teacher", "IMDBOffline", "Class", 0.7)
    write_result(tmp_path, "mine", "WordSim353", "WordSim", 0.6)
    write_result(tmp_path, "mine", "LeeDocSim", "STS", 0.5)
    rows = board(tmp_path)
    table = per_task_table(rows)
    assert [c.name for c in table.columns] == ["Task", "Category", "Averaged", "teacher", "mine"]
    assert table.rows == [
        ["LeeDocSim", "STS", "yes", "90.00", "50.00"],
        ["WordSim353", "WordSim", "yes", "80.00", "60.00"],
        ["IMDBOffline", "Class", "no", "70.00", "-"],
    ]
    markdown = make_leaderboard(rows, "markdown", per_task=True).splitlines()
    assert markdown[4] == "| IMDBOffline | Class | no | 70.00 | - |"
    assert make_leaderboard(rows, "csv", per_task=True).splitlines()[3] == "IMDBOffline,Class,no,70.00,"
    records = json.loads(make_leaderboard(rows, "json", per_task=True))
    assert records[2] == {"task": "IMDBOffline", "category": "Class", "averaged": False, "scores": records[2]["scores"]}
    assert records[2]["scores"] == {"teacher": 70.0, "mine": None}
    plain_text = run_m2v("leaderboard", str(tmp_path), "--per-task").stdout.decode()
    assert plain_text.splitlines()[0] == "m2v leaderboard per task (scores x 100)"
    assert "IMDBOffline" in plain_text and "70.00" in plain_text


def test_per_task_comes_from_the_flag_or_the_config_file(tmp_path: Path) -> None:
    write_result(tmp_path / "r", "m", "WordSim353", "WordSim", 0.8)
    config = tmp_path / "leaderboard.yaml"
    config.write_text(f"results: [{tmp_path / 'r'}]\nper_task: true\nformat: csv\n")
    from_file = run_m2v("leaderboard", "--config", str(config))
    overridden = run_m2v("leaderboard", "--config", str(config), "--per-model")
    assert from_file.returncode == overridden.returncode == 0
    assert from_file.stdout.decode().splitlines()[0] == "Task,Category,m"
    assert overridden.stdout.decode().startswith("Model,Avg (All)")
    assert LeaderboardConfig(results=("r",), per_task=True).per_task is True
    bad = tmp_path / "bad.yaml"
    bad.write_text("results: [r]\nper_task: sometimes\n")
    ran = run_m2v("leaderboard", "--config", str(bad))
    assert ran.returncode == 1 and "per_task must be true or false" in ran.stderr.decode()


def test_the_note_says_which_tasks_each_model_lacks(tmp_path: Path) -> None:
    for task, category in (("WordSim353", "WordSim"), ("LeeDocSim", "STS")):
        write_result(tmp_path, "teacher", task, category, 0.8)
        write_result(tmp_path, "my_model", task, category, 0.7)
    write_result(tmp_path, "teacher", "IMDBOffline", "Class", 0.8)
    write_result(tmp_path, "teacher", "TwentyNewsClust", "Clust", 0.4)
    write_result(tmp_path, "my_model", "MyToyTask", "Class", 1.0)
    write_result(tmp_path, "n" * 80, "WordSim353", "WordSim", 0.5)
    write_result(tmp_path, "n" * 80, "LeeDocSim", "STS", 0.5)
    ran = run_m2v("leaderboard", str(tmp_path), "--format", "csv")
    assert ran.returncode == 0
    lines = ran.stderr.decode().splitlines()
    assert lines[0] == "note: averages are over the 2 tasks every model has"
    by_model = {line.split()[0]: line for line in lines[1:]}
    assert by_model["teacher"].strip() == (
        "teacher lacks: MyToyTask; its other tasks left out: IMDBOffline, TwentyNewsClust"
    )
    assert by_model["my_model"].strip() == (
        "my_model lacks: IMDBOffline, TwentyNewsClust; its other tasks left out: MyToyTask"
    )
    long_line = next(line for line in lines if line.strip().startswith("nnn"))
    assert "…" in long_line and "lacks: IMDBOffline, MyToyTask, TwentyNewsClust" in long_line
    assert len(lines) == 4  # one line per model
    assert ran.stdout.decode().splitlines()[0].startswith("Model,")  # results on stdout only


def test_models_with_the_same_gaps_share_one_note_line_wrapped_between_words_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A teacher evaluated on 4 tasks beside three full-suite models: one line for the three, not three
    lines that each split "BBCNewsCluster" / "ing" at 80 columns."""
    import io

    from rich.console import Console

    from m2vcli import console
    from m2vcli.cli import main

    tasks = [("WordSim353", "WordSim"), ("LeeDocSim", "STS"), ("IMDBOffline", "Class"), ("BBCNewsClustering", "Clust")]
    more = [("SimLex999", "WordSim"), ("RottenTomatoesOffline", "Class"), ("BBCNewsClassification", "Class")]
    for task, category in tasks:
        write_result(tmp_path, "all-MiniLM-L6-v2", task, category, 0.8)
    for model in ("my_model", "my_model_refined", "potion-base-8M"):
        for task, category in tasks + more:
            write_result(tmp_path, model, task, category, 0.7)
    buffer = io.StringIO()
    fake = Console(file=buffer, force_terminal=True, width=80, color_system=None, highlight=False, soft_wrap=True)
    monkeypatch.setattr(console, "_console", fake)
    monkeypatch.setattr(console, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr("m2vcli.commands.leaderboard.stderr_is_terminal", lambda: True)
    assert main(["leaderboard", str(tmp_path), "--format", "csv"]) == 0
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "note: averages are over the 4 tasks every model has"
    assert lines[1] == "  all-MiniLM-L6-v2 lacks: BBCNewsClassification, RottenTomatoesOffline,"
    assert lines[2] == "    SimLex999"  # wrapped between names, under the line it continues
    assert lines[3].startswith("  my_model, my_model_refined and potion-base-8M: other tasks left out:")
    assert max(len(line) for line in lines) <= 80 and len(lines) == 5  # the three models share one note
    words = " ".join(lines[3:]).split()
    assert {"BBCNewsClassification,", "RottenTomatoesOffline,", "SimLex999"} <= set(words)  # whole names


def test_a_note_with_no_shared_task(tmp_path: Path) -> None:
    write_result(tmp_path, "a", "WordSim353", "WordSim", 0.8)
    write_result(tmp_path, "b", "LeeDocSim", "STS", 0.7)
    ran = run_m2v("leaderboard", str(tmp_path))
    assert ran.returncode == 0
    assert ran.stderr.decode().splitlines()[0].startswith("note: no task is in every model's results")


def test_an_old_bench_row_named_teacher_x_joins_the_teachers_results(tmp_path: Path) -> None:
    write_result(tmp_path, "all-MiniLM-L6-v2", "WordSim353", "WordSim", 0.8)
    write_result(tmp_path, "my_model", "WordSim353", "WordSim", 0.7)
    write_bench(tmp_path / "bench.json", {"teacher (all-MiniLM-L6-v2)": 180.0, "my_model": 20_000.0})
    rows = {r.model: r for r in board(tmp_path)}
    assert rows["all-MiniLM-L6-v2"].sentences_per_s == 180.0 and rows["my_model"].sentences_per_s == 20_000.0
    ran = run_m2v("leaderboard", str(tmp_path), "--format", "csv")
    assert "all-MiniLM-L6-v2,80.00,,,,,,,,,,80.00,,180" in ran.stdout.decode()


def test_a_row_under_the_teachers_own_name_wins_over_an_old_one(tmp_path: Path) -> None:
    write_result(tmp_path, "all-MiniLM-L6-v2", "WordSim353", "WordSim", 0.8)
    write_bench(tmp_path / "new.json", {"all-MiniLM-L6-v2": 200.0})
    write_bench(tmp_path / "old.json", {"teacher (all-MiniLM-L6-v2)": 100.0})
    (row,) = board(tmp_path)
    assert row.sentences_per_s == 200.0


def test_no_results_is_exit_1_with_the_message_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    ran = run_m2v("leaderboard", str(tmp_path / "empty"))
    assert ran.returncode == 1 and ran.stdout == b"" and "no m2v evaluate results" in ran.stderr.decode()


def drawn(rows: list[Row], tmp_path: Path) -> Any:
    """The figure, saved to a PNG (which draws it), and its axes."""
    fig = speed_score_figure(rows)
    fig.savefig(tmp_path / "plot.png", format="png", dpi=120, bbox_inches="tight")
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig, fig.axes[0]


def assert_bubbles_inside(fig: Any, ax: Any) -> int:
    box = ax.bbox
    seen = 0
    for collection in ax.collections:
        for (x, y), size in zip(collection.get_offsets(), collection.get_sizes(), strict=False):
            cx, cy = ax.transData.transform((x, y))
            radius = math.sqrt(size) / 2 * fig.dpi / 72
            assert box.x0 <= cx - radius and cx + radius <= box.x1, (x, y, radius)
            assert box.y0 <= cy - radius and cy + radius <= box.y1, (x, y, radius)
            seen += 1
    return seen


def x_tick_labels(ax: Any) -> list[str]:
    low, high = ax.get_xlim()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text() and low <= t.get_position()[0] <= high]


def test_plot_keeps_bubbles_inside_labels_ticks_and_shows_sizes(tmp_path: Path) -> None:
    rows = [
        Row(model="teacher", avg_all=80.0, sentences_per_s=150.0, parameters=22_000_000),
        Row(model="fast", avg_all=60.0, sentences_per_s=30_000.0, parameters=8_000_000),
        Row(model="mid", avg_all=79.5, sentences_per_s=2_000.0, parameters=1_000_000),
        Row(model="no speed", avg_all=90.0),
    ]
    fig, ax = drawn(rows, tmp_path)
    assert assert_bubbles_inside(fig, ax) == 3
    labels = x_tick_labels(ax)
    assert len(labels) >= 3 and {"200", "1k", "10k"} <= set(labels), labels
    assert not any("10^" in label or "$" in label for label in labels)
    legend = ax.get_legend()
    assert legend is not None and legend.get_title().get_text() == "parameters"
    assert [t.get_text() for t in legend.get_texts()] == ["1M", "4.7M", "22M"]


def test_plot_fits_one_model_and_says_the_machine_and_quick(tmp_path: Path) -> None:
    write_result(tmp_path, "only", "WordSim353", "WordSim", 0.5)
    write_bench(tmp_path / "bench.json", {"only": 5_000.0}, quick=True, parameters=7_500_000)
    rows = board(tmp_path)
    assert rows[0].parameters == 7_500_000  # from the bench row, the result file has none
    fig, ax = drawn(rows, tmp_path)
    assert assert_bubbles_inside(fig, ax) == 1
    assert len(x_tick_labels(ax)) >= 3
    note = ax.get_title(loc="left")
    assert "Test CPU 9000, 2 cores, 2 threads" in note and "--quick" in note
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["7.5M"]


def test_plot_of_models_with_unknown_sizes_and_hostile_names(tmp_path: Path) -> None:
    rows = [
        Row(model="$\\frac{a}{$", avg_all=50.0, sentences_per_s=10.0),
        Row(model="b", avg_all=50.0, sentences_per_s=10.0, parameters=3_000_000, bench={"machine": {}}),
    ]
    fig, ax = drawn(rows, tmp_path)
    assert assert_bubbles_inside(fig, ax) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["3M", "unknown"]
    assert "speeds measured on an unnamed machine" in ax.get_title(loc="left")


def test_plot_through_the_command(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    ran = run_m2v("leaderboard", str(results), "--plot", str(out), "--format", "markdown")
    assert ran.returncode == 0 and "Plotted 3 models" in ran.stderr.decode()
    assert out.read_bytes()[:4] == b"\x89PNG" and ran.stdout.decode().startswith("| Model |")


def test_the_plot_says_what_it_averages_and_why_a_model_is_missing(results: Path, tmp_path: Path) -> None:
    write_bench(results / "bench2.json", {"benched only": 9_000.0})
    write_result(results, "scored only", "WordSim353", "WordSim", 0.5)
    write_result(results, "scored only", "LeeDocSim", "STS", 0.5)
    rows = board(results)
    _, ax = drawn(rows, tmp_path)
    assert ax.get_ylabel() == "Avg (All) over the 2 tasks every model has, scores x 100"
    out = tmp_path / "plot.png"
    ran = run_m2v("leaderboard", str(results), "--plot", str(out))
    err = ran.stderr.decode()
    assert ran.returncode == 0, err
    assert "benched only: bench speed but no scores, left out of the plot (m2v evaluate -m benched only)" in err
    assert "scored only: scores but no bench speed, left out of the plot" in err
    assert "Plotted 3 models" in err
    one = tmp_path / "one"
    write_result(one, "m", "WordSim353", "WordSim", 0.5)
    write_bench(one / "bench.json", {"m": 100.0})
    ran = run_m2v("leaderboard", str(one), "--plot", str(tmp_path / "one.png"))
    assert "Plotted 1 model to" in ran.stderr.decode()


def test_a_bench_report_alone_is_shown_again_as_a_speed_table(tmp_path: Path) -> None:
    write_bench(tmp_path / "bench.json", {"all-MiniLM-L6-v2": 150.0, "my_model": 21_000.0})
    ran = run_m2v("leaderboard", str(tmp_path / "bench.json"), "--format", "csv")
    assert ran.returncode == 0, ran.stderr
    rows = list(csv.DictReader(io.StringIO(ran.stdout.decode())))
    assert [(r["Model"], r["Sentences/s"]) for r in rows] == [("my_model", "21000"), ("all-MiniLM-L6-v2", "150")]
    assert all(r["Avg (All)"] == "" for r in rows)  # no scores: empty, never zero
    assert "speeds only: no m2v evaluate results in" in ran.stderr.decode()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_m2v("leaderboard", str(empty)).returncode == 1  # neither scores nor speeds: an error still


def test_a_note_says_which_categories_each_average_covers(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    write_result(folder, "m", "WordSim353", "WordSim", 0.6)
    write_result(folder, "m", "PEARLAutoFJ", "PEARL", 0.6)
    only_other = run_m2v("leaderboard", str(folder)).stderr.decode()
    assert only_other == "Avg (All): the mean of PEARL, WordSim\n"  # no MTEB category: no MTEB average to explain
    write_result(folder, "m", "BBCNewsClustering", "Clust", 0.7)
    write_result(folder, "m", "IMDBClassification", "Class", 0.7)
    note = run_m2v("leaderboard", str(folder)).stderr.decode()
    assert note.startswith("Avg (All): the mean of Class, Clust, PEARL, WordSim; Avg (MTEB): of Class, Clust ")
    for quiet in (("--format", "csv"), ("--format", "json"), ("--per-task",)):
        assert run_m2v("leaderboard", str(folder), *quiet).stderr == b""
