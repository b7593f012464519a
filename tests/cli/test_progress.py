"""Progress on long work: the chunked counting encoder, evaluate's task rows and lines, the progress bar's
plain lines off a terminal, and distill's phase lines."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from m2vcli import console
from m2vcli.callbacks import PlannedTask
from m2vcli.console import TaskProgress, progress_bar
from tests.helpers import run_m2v, tiny_model


@pytest.fixture
def stderr_text(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the shared stderr console writes, as plain text (not a terminal)."""
    from rich.console import Console

    buffer = io.StringIO()
    monkeypatch.setattr(console, "_console", Console(file=buffer, highlight=False, soft_wrap=True, width=200))
    yield buffer


@pytest.fixture
def terminal_text(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the shared stderr console writes when it is an 80-column terminal."""
    from rich.console import Console

    buffer = io.StringIO()
    fake = Console(file=buffer, force_terminal=True, width=80, color_system=None, highlight=False)
    monkeypatch.setattr(console, "_console", fake)
    yield buffer


def texts_loader(texts: list[str], batch_size: int = 32) -> Any:
    """MTEB's encoder input for a column of texts."""
    from datasets import Dataset
    from torch.utils.data import DataLoader

    return DataLoader(Dataset.from_dict({"text": texts}), batch_size=batch_size)


def test_a_large_encode_call_is_reported_in_chunks_with_the_same_vectors() -> None:
    from m2vcli.adapters import wrap_model
    from m2vcli.evaluation.models import CountingEncoder, for_mteb

    inner = for_mteb(wrap_model(tiny_model(), "tiny")).encoder
    texts = [f"the cat sat on the mat {i}" + " good" * (i % 7) for i in range(2500)]
    seen: list[tuple[int, float]] = []
    counting = CountingEncoder(inner, lambda n, seconds: seen.append((n, seconds)), chunk=1024, first=1024)
    vectors = counting.encode(texts_loader(texts), task_metadata=None, hf_split="test", hf_subset="default")
    assert [n for n, _ in seen] == [1024, 1024, 452]
    assert all(seconds > 0 for _, seconds in seen)
    np.testing.assert_array_equal(vectors, inner.encode(texts_loader(texts)))
    small: list[int] = []
    CountingEncoder(inner, lambda n, seconds: small.append(n)).encode(texts_loader(texts[:10]))
    assert small == [10]


def test_a_slow_model_reports_a_part_every_second_and_a_fast_one_every_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A teacher at 17 texts/s once went a minute between counts (1,024 texts a part)."""
    from m2vcli.evaluation import models

    clock = [0.0]
    monkeypatch.setattr(models.time, "perf_counter", lambda: clock[0])

    class Slow:
        mteb_model_meta = None

        def __init__(self, rate: float) -> None:
            self.rate = rate

        def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
            rows = len(inputs.dataset)
            clock[0] += rows / self.rate
            return np.zeros((rows, 2))

    texts = [f"text {i}" for i in range(3_000)]
    # 17 texts/s: parts of 64 texts (the least), one every 3.8 s; 200 texts/s: a part a second
    for rate, expected in ((17.0, [64] * 46 + [56]), (200.0, [64] + [200] * 14 + [136]), (5e4, [64, 1024, 1024, 888])):
        seen: list[int] = []
        vectors = models.CountingEncoder(Slow(rate), lambda n, s, seen=seen: seen.append(n)).encode(texts_loader(texts))
        assert vectors.shape == (3_000, 2) and seen == expected


def test_the_counting_encoder_sets_the_batch_size_and_passes_the_rest_through() -> None:
    from m2vcli.evaluation.models import CountingEncoder

    class Inner:
        mteb_model_meta = "meta"

        def __init__(self) -> None:
            self.calls: list[dict[str, Any]] = []

        def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
            self.calls.append(kwargs)
            return np.zeros((len(inputs), 2))

        def similarity(self, a: Any, b: Any) -> str:
            return "similar"

    inner = Inner()
    counting = CountingEncoder(inner, batch_size=8)
    assert counting.encode(["a", "b"], batch_size=32, hf_split="test").shape == (2, 2)
    assert inner.calls == [{"batch_size": 8, "hf_split": "test"}]
    assert counting.similarity(1, 2) == "similar" and counting.mteb_model_meta == "meta"


PLAN = [
    PlannedTask("WordSim353"),
    PlannedTask("SimLex999", skip=True),
    PlannedTask("PEARLPPDB", hub_id="Lihuchen/pearl_benchmark"),
]


def run_plan(progress: TaskProgress) -> None:
    """The callbacks of a run of PLAN: one task done, one skipped, one failed."""
    progress.on_plan(PLAN)
    progress.on_task("WordSim353", "running")
    progress.on_encode(600, 0.2)
    progress.on_encode(400, 0.3)
    progress.on_task("WordSim353", "done")
    progress.on_task("SimLex999", "skipped")
    progress.on_task("PEARLPPDB", "running")
    progress.on_task("PEARLPPDB", "failed")


def test_task_lines_off_a_terminal(stderr_text: io.StringIO) -> None:
    with TaskProgress(enabled=False) as progress:
        run_plan(progress)
    lines = stderr_text.getvalue().splitlines()
    assert lines[0] == "[1/3] WordSim353: running"
    assert lines[1].startswith("[1/3] WordSim353: done, 1,000 texts at 2,000 texts/s, ")  # encoding time only
    assert lines[1].endswith(" left")  # one task still to run
    assert lines[2] == "[2/3] SimLex999: skipped (result exists)"
    assert lines[3] == "[3/3] PEARLPPDB: loading data from the Hugging Face hub (Lihuchen/pearl_benchmark)..."
    assert lines[4].startswith("[3/3] PEARLPPDB: failed, ") and "texts" not in lines[4] and "left" not in lines[4]
    assert len(lines) == 5


def test_task_rows_on_a_terminal(terminal_text: io.StringIO) -> None:
    with TaskProgress(enabled=True) as progress:
        run_plan(progress)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal_text.getvalue())  # cursor moves
    lines = [line.rstrip() for line in text.splitlines()]
    assert "PEARLPPDB: loading data from the Hugging Face hub (Lihuchen/pearl_benchmark)..." in lines
    last = {line.split("]", 1)[1].split(":")[0].strip(): line for line in lines if "] " in line}
    assert "1,000 texts at 2,000 texts/s" in last["WordSim353"] and "[1/3] WordSim353: done" in last["WordSim353"]
    assert last["SimLex999"].strip() == "[2/3] SimLex999: skipped (result exists)"  # no counts, rate or time
    assert "[3/3] PEARLPPDB: failed" in last["PEARLPPDB"] and "texts" not in last["PEARLPPDB"]
    assert any("3 of 3 tasks ended" in line for line in lines)
    assert max(len(line) for line in lines) <= 80


def test_the_estimate_is_the_mean_task_time_times_the_tasks_left(stderr_text: io.StringIO) -> None:
    progress = TaskProgress(enabled=False)
    progress.on_plan([PlannedTask(f"T{i}") for i in range(5)] + [PlannedTask("S", skip=True)])
    assert progress._estimate() is None  # nothing ran yet
    progress.started, progress.ran, progress.ran_seconds = 2, 2, 20.0
    assert progress._estimate() == pytest.approx(30.0)  # 10 s a task, three to go; the skipped one is free


def test_the_estimate_comes_from_the_texts_left_and_falls_as_a_slow_task_runs(
    stderr_text: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's case: two small tasks ended, a big one runs at 20 texts/s. A task count said "about
    16 s left" for minutes; the texts left say minutes, and the figure falls as the texts go by."""
    import time

    clock = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    sizes = [200, 200, 6_000, 2_000]
    progress = TaskProgress(enabled=False)
    progress.on_plan([PlannedTask(f"T{i}", texts=n) for i, n in enumerate(sizes)])
    assert progress._estimate() is None  # nothing measured yet: no guess
    for name, texts in (("T0", 200), ("T1", 200)):
        progress.on_task(name, "running")
        for _ in range(texts // 20):
            clock[0] += 1.0
            progress.on_encode(20, 1.0)  # 20 texts/s, all of the task's time spent encoding
        progress.on_task(name, "done")
    assert progress._estimate() == pytest.approx(8_000 / 20)  # not 2 x the 10 s mean task time
    progress.on_task("T2", "running")
    seen = []
    for _ in range(10):
        clock[0] += 30.0
        progress.on_encode(600, 30.0)
        seen.append(progress._estimate())
    assert all(a is not None and b is not None and b < a for a, b in itertools.pairwise(seen))
    assert seen[0] == pytest.approx((5_400 + 2_000) / 20)
    assert seen[-1] == pytest.approx(2_000 / 20)  # T2's texts all encoded: T3's are what is left
    progress.on_task("T2", "done")
    assert stderr_text.getvalue().splitlines()[-1].endswith("about 1:40 left")


def test_an_estimate_adds_the_time_tasks_spend_beyond_encoding_and_uses_the_mean_when_a_size_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    clock = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    progress = TaskProgress(enabled=False)
    progress.on_plan([PlannedTask("A", texts=1_000), PlannedTask("B", texts=1_000), PlannedTask("Hub")])
    progress.on_task("A", "running")
    clock[0] += 15.0  # 5 s encoding 1,000 texts, 10 s fitting a classifier
    progress.on_encode(1_000, 5.0)
    progress.on_task("A", "done")
    assert progress._estimate() == pytest.approx((5.0 + 10.0) + 15.0)  # B by its texts, Hub by the mean
    progress.on_task("B", "running")
    clock[0] += 2.0
    progress.on_encode(500, 2.0)  # B's own rate, 250 texts/s, counts once it has a second of texts
    assert progress._estimate() == pytest.approx(500 / 250 + 10.0 + 15.0)


def test_progress_bar_off_a_terminal_prints_a_line_per_quarter(stderr_text: io.StringIO) -> None:
    with progress_bar("Embedding tokens", unit="tokens", enabled=False, log_lines=True) as update:
        for done in range(0, 30_523, 1000):
            update(done, 30_522)
        update(30_522, 30_522)
    assert stderr_text.getvalue().splitlines() == [
        "Embedding tokens: 8,000 of 30,522 tokens (25%)",
        "Embedding tokens: 16,000 of 30,522 tokens (50%)",
        "Embedding tokens: 23,000 of 30,522 tokens (75%)",
        "Embedding tokens: 30,522 of 30,522 tokens (100%)",
    ]
    with progress_bar("Encoding", unit="lines", enabled=False) as update:
        update(5, 5)
    assert len(stderr_text.getvalue().splitlines()) == 4  # without log_lines: silent


def test_progress_bar_appears_only_once_there_is_progress(terminal_text: io.StringIO) -> None:
    with progress_bar("Embedding tokens", unit="tokens"):
        pass
    assert "Embedding tokens" not in terminal_text.getvalue()
    with progress_bar("Embedding tokens", unit="tokens") as update:
        update(5, 10)
        update(10, 10)
        console.err_console().print("after the bar", markup=False)
    text = terminal_text.getvalue()
    assert "10/10" in text and text.rindex("10/10") < text.index("after the bar")


def test_distill_prints_its_phases_as_lines_off_a_terminal(tiny_teacher_dir: Path, tmp_path: Path) -> None:
    ran = run_m2v("distill", "-m", str(tiny_teacher_dir), "--pca-dims", "8", "-o", str(tmp_path / "out"))
    assert ran.returncode == 0, ran.stderr.decode()
    lines = ran.stderr.decode().splitlines()
    phases = [line.split(": done in ")[0] for line in lines if ": done in " in line]
    assert phases == ["Loading the teacher", "Embedding tokens", "PCA and weighting", "Saving"]
    counted = [line for line in lines if line.startswith("Embedding tokens: ") and " of " in line]
    total = counted[-1].split(" of ")[1].split()[0]
    assert counted[-1] == f"Embedding tokens: {total} of {total} tokens (100%)"
    order = [
        lines.index(counted[-1]),
        next(i for i, line in enumerate(lines) if line.startswith("Embedding tokens: done")),
    ]
    assert order == sorted(order)
    failed = run_m2v("distill", "-m", str(tmp_path / "missing"), "-o", str(tmp_path / "never"))
    assert failed.returncode == 1 and len(failed.stderr.decode().splitlines()) == 1  # the error alone


def test_a_quick_look_on_a_terminal_draws_no_bar_on_the_vectors_line(
    terminal_text: io.StringIO,
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from m2vcli.cli import main

    monkeypatch.setattr(console, "stderr_is_terminal", lambda: True)
    from m2vcli.commands import encode as encode_command

    monkeypatch.setattr(encode_command, "stderr_is_terminal", lambda: True)
    assert main(["encode", "-m", str(tiny_model_dir), "--text", "hello world"]) == 0
    assert "Encoding" not in terminal_text.getvalue() and "━" not in terminal_text.getvalue()
    assert "Encoded 1 line to 1 x 8 vectors" in terminal_text.getvalue()
    assert capsys.readouterr().out.startswith("[")
    assert (
        main(
            [
                "encode",
                "-m",
                str(tiny_model_dir),
                "--text",
                "a",
                "--text",
                "b",
                "-o",
                str(tiny_model_dir.parent / "v.npy"),
            ]
        )
        == 0
    )
    assert "Encoded 2 lines" in terminal_text.getvalue()
