"""``m2v bench``: an honest speed report, static models against their teacher.

Every figure comes from timing real calls: encoding the texts (already in memory) is repeated after a
warm-up and reported as min, median and max; single-text latency is the p50/p99 of many calls; cold
start and peak memory come from a fresh process per model.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from m2vcli.adapters import Encoder, LoadedModel, load_folder
from m2vcli.benchmark.settings import BenchConfig
from m2vcli.benchmark.targets import Target, resolve_targets
from m2vcli.callbacks import OnMessage, OnProgress
from m2vcli.errors import InputError, M2VError
from m2vcli.files import atomic_file, check_not_read, check_output_file, folder_bytes, local_path
from m2vcli.tables import json_safe
from m2vcli.texts import ReadSettings, gather_texts

SHORT_TEXT = "It's dangerous to go alone!"
MAX_CORPUS_CHARS = 1024**3  # the texts are held in memory while they are timed


@dataclass
class ModelReport:
    name: str  # as ``m2v evaluate`` names the model (see ``m2vcli.adapters.display_name``)
    kind: str
    path: str | None = None
    error: str | None = None
    teacher: bool = False  # the teacher the other models are compared with
    sentences_per_s: dict[str, float] = field(default_factory=dict)
    tokens_per_s: float | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    batch_latency_ms: float | None = None
    cold_start_s: float | None = None
    peak_mib: float | None = None
    bytes_on_disk: int | None = None
    parameters: int | None = None
    dims: int | None = None
    speedup_vs_teacher: float | None = None


@dataclass
class BenchReport:
    machine: dict[str, Any]
    versions: dict[str, str]
    settings: dict[str, Any]
    models: list[ModelReport]

    def to_json(self) -> str:
        """The report as JSON; a value that is not finite is written as null."""
        return json.dumps(json_safe(asdict(self)), indent=2, allow_nan=False)


def read_corpus(path: str, first: int | None = None) -> list[str]:
    """The non-blank texts of a corpus (plain text, or the ``text`` field of JSON lines, CSV, Parquet),
    the ``first`` of them when given."""
    texts = gather_texts(path, ReadSettings(), field_given=False, limit_chars=MAX_CORPUS_CHARS, first=first).texts
    if not texts:
        raise InputError(f"corpus file {path} has no text")
    return texts


def machine_info(threads: int) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads, "python": platform.python_version()}


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("m2v", "numpy", "tokenizers", "torch", "sentence-transformers", "model2vec"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def time_encoding(
    model: LoadedModel,
    texts: Sequence[str],
    repeats: int,
    warmup: int = 64,
    on_pass: Callable[[int], None] | None = None,
) -> list[float]:
    """Wall seconds of ``repeats`` full passes over ``texts``, after one warm-up on a slice; ``on_pass(i)``
    hears before pass ``i`` (from 1)."""
    model.encode(texts[: min(len(texts), warmup)])
    times = []
    for i in range(1, repeats + 1):
        if on_pass is not None:
            on_pass(i)
        start = time.perf_counter()
        model.encode(texts)
        times.append(time.perf_counter() - start)
    return times


def time_latency(model: LoadedModel, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        model.encode([SHORT_TEXT])
        times.append(time.perf_counter() - start)
    return times


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile(list(range(1, 101)), 99)
    (2.0, 99)
    """
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def cold_start(kind: Encoder, path: Path, corpus_file: Path, batch_size: int) -> tuple[float, float]:
    """(seconds from process start to the first vector, peak MiB after encoding the corpus)."""
    cmd = [sys.executable, "-m", "m2vcli.benchmark.worker", kind.value, str(path), str(corpus_file), str(batch_size)]
    start = time.perf_counter()
    elapsed = None
    lines: list[str] = []
    with tempfile.TemporaryFile(mode="w+") as errors:
        # stderr goes to a file so that a chatty library cannot fill a pipe and stall the worker; stdout is
        # read through one buffered reader only (mixing it with communicate() can drop buffered lines).
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                if elapsed is None and line.strip() == "first-vector":
                    elapsed = time.perf_counter() - start
                lines.append(line)
            returncode = proc.wait()
        errors.seek(0)
        err = errors.read()
    reports = [line for line in lines if line.startswith("{")]
    if returncode != 0 or elapsed is None or not reports:
        last = (err.strip().splitlines() or ["no output"])[-1]
        raise M2VError(f"the cold-start process failed: {last[:200]}")
    return elapsed, float(json.loads(reports[-1])["peak_mib"])


def measure(
    model: LoadedModel, texts: Sequence[str], cfg: BenchConfig, corpus_file: Path, progress: OnMessage
) -> ModelReport:
    report = ModelReport(name=model.name, kind=model.encoder.value, path=str(model.path) if model.path else None)
    warmup = 8 if cfg.quick else 64
    repeats = cfg.repeats or 1
    n = len(texts)

    def on_pass(i: int) -> None:
        progress(f"{model.name}: throughput pass {i} of {repeats} ({n:,} texts)...")

    times = time_encoding(model, texts, repeats, warmup, on_pass)
    report.sentences_per_s = {"median": n / statistics.median(times), "min": n / max(times), "max": n / min(times)}
    report.tokens_per_s = model.count_tokens(texts) / statistics.median(times)
    calls = cfg.latency_calls or 1
    progress(f"{model.name}: latency ({calls:,} single-text calls)...")
    single = time_latency(model, calls)
    report.latency_ms = {"p50": 1000 * percentile(single, 50), "p99": 1000 * percentile(single, 99)}
    batch = list(texts[: cfg.batch_size])
    # a batch of all the texts is what the throughput passes timed already
    if len(batch) != n:
        passes = f"{repeats} pass" + ("" if repeats == 1 else "es")
        progress(f"{model.name}: batch latency ({passes} over {len(batch):,} texts)...")
    batch_times = times if len(batch) == n else time_encoding(model, batch, repeats, warmup)
    report.batch_latency_ms = 1000 * statistics.median(batch_times)
    report.parameters, report.dims = model.parameters, model.dims
    report.bytes_on_disk = folder_bytes(model.path)
    if cfg.cold_start and model.path is not None:
        progress(f"{model.name}: cold start (a fresh process)...")
        report.cold_start_s, report.peak_mib = cold_start(model.encoder, model.path, corpus_file, cfg.batch_size)
    return report


def run_bench(
    cfg: BenchConfig,
    targets: Sequence[Target],
    texts: Sequence[str],
    *,
    progress: OnMessage | None = None,
    loader: Callable[[Target, int], LoadedModel] | None = None,
) -> BenchReport:
    """Measure every target on ``texts``; a target that fails to load is reported, not fatal."""
    say = progress or (lambda message: None)
    load = loader or (lambda t, batch: load_folder(t.name, t.path, t.kind, batch))
    if cfg.output:
        report_path = check_output_file(cfg.output, "--output", inputs=[cfg.corpus])
        check_not_read(report_path, [cfg.corpus, *(local_path(m) for m in cfg.models)], "--output")
    reports: list[ModelReport] = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus_file = Path(tmp) / "corpus.txt"
        corpus_file.write_text("\n".join(texts), encoding="utf-8")
        for target in targets:
            say(f"{target.name}: loading...")
            try:
                if target.error:
                    raise M2VError(target.error)
                model = load(target, cfg.batch_size)
                reports.append(measure(model, texts, cfg, corpus_file, say))
            except M2VError as exc:
                reports.append(
                    ModelReport(name=target.name, kind=target.kind.value, path=str(target.path), error=str(exc))
                )
            reports[-1].teacher = target.is_teacher
    teacher = next((r for r, t in zip(reports, targets, strict=True) if t.is_teacher and not r.error), None)
    for report in reports:
        if teacher is not None and report.sentences_per_s:
            report.speedup_vs_teacher = report.sentences_per_s["median"] / teacher.sentences_per_s["median"]
    threads = _threads()
    settings = {"n": len(texts), "batch_size": cfg.batch_size, "repeats": cfg.repeats, "quick": cfg.quick}
    result = BenchReport(machine_info(threads), library_versions(), settings, reports)
    if cfg.output:
        with atomic_file(Path(cfg.output)) as handle:
            handle.write(result.to_json().encode())
    return result


def _threads() -> int:
    if "torch" in sys.modules:
        return int(sys.modules["torch"].get_num_threads())
    return os.cpu_count() or 1


def bench(cfg: BenchConfig, *, progress: OnMessage | None = None, on_progress: OnProgress | None = None) -> BenchReport:
    """``m2v bench``: read the texts (``cfg.corpus``, else movie-review sentences), find the models to time
    (see ``targets.resolve_targets``) and time them. ``progress(message)`` hears each phase;
    ``on_progress(done, total)`` the tokens embedded while the default model is distilled."""
    if cfg.corpus:
        texts = read_corpus(cfg.corpus, cfg.texts)
    else:
        from m2vcli.packaged_data import movie_review_sentences

        texts = movie_review_sentences(cfg.texts, seed=0)
    return run_bench(cfg, resolve_targets(cfg, progress, on_progress), texts, progress=progress)
