"""``m2v encode`` at scale: peak memory and throughput of the streaming job, against the in-memory way
(all lines read, then encoded) and model2vec 0.10, and the Ray engine on this machine, in one run.

Inputs are natural sentences (movie reviews from a PyPI package) repeated to 100k, 1M and 10M lines. Each
case runs in a fresh process under GNU time (wall seconds, peak RSS); outputs are deleted after each run.

Cases:
- ``npy-file``: ``m2v encode -m MODEL in.txt -o out.npy`` (header written again at the end);
- ``npy-stdout``: ``m2v encode -m MODEL in.txt > /dev/null`` (a device: lines counted first);
- ``npy-pipe``: ``cat in.txt | m2v encode -m MODEL | cat > /dev/null`` (vectors spooled to a temporary file);
- ``jsonl``, ``parquet``: ``-o out.jsonl``, ``-o out.parquet``;
- ``in-memory``: ``StaticEmbedder.encode`` on all lines read into a list, then ``np.save`` (m2v's Python API);
- ``model2vec``: ``StaticModel.encode`` on all lines, then ``np.save`` (needs the bench extra);
- ``ray``: ``m2v encode --engine ray in.parquet --column text -o out/`` (local Ray, every CPU), with Ray's
  start-up timed on its own (``ray.init`` then ``ray.shutdown``).

Usage: python benchmarks/encode_scale.py MODEL_DIR [--lines 100000 1000000 10000000] [--cases ...]
       [--work DIR] [--ray-lines 1000000]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CASES = ["npy-file", "npy-stdout", "npy-pipe", "jsonl", "parquet", "in-memory", "model2vec"]
IN_MEMORY_MAX = 1_000_000  # the in-memory ways hold every line and vector: not run beyond this


def make_text(path: Path, lines: int) -> None:
    from m2vcli.packaged_data import movie_review_sentences

    base = movie_review_sentences(50_000, seed=0)
    block = ("\n".join(base) + "\n").encode()
    with path.open("wb") as handle:
        full, rest = divmod(lines, len(base))
        for _ in range(full):
            handle.write(block)
        handle.write(("\n".join(base[:rest]) + "\n").encode() if rest else b"")


def make_parquet(text: Path, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = text.read_text(encoding="utf-8").splitlines()
    pq.write_table(pa.table({"text": lines}), path, row_group_size=65_536)


def gnu_time(command: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a shell command run under GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        full = f"/usr/bin/time -o {report.name} -f '%e %M' bash -c {shlex.quote(command)}"
        proc = subprocess.run(full, shell=True, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"failed: {command}\n{proc.stderr[-2000:]}")
        wall, rss = report.read().split()[-2:]
    return float(wall), int(rss) / 1024


def in_memory(model: str, src: Path, out: Path, reference: bool) -> str:
    if reference:
        load = f"from model2vec import StaticModel; m = StaticModel.from_pretrained({model!r})"
    else:
        load = f"from m2vcli import StaticEmbedder; m = StaticEmbedder.from_pretrained({model!r})"
    code = (
        f"import numpy as np; {load}; "
        f"lines = open({str(src)!r}, encoding='utf-8').read().splitlines(); "
        f"np.save({str(out)!r}, m.encode(lines))"
    )
    return f"{sys.executable} -c {shlex.quote(code)}"


def command(case: str, model: str, src: Path, work: Path) -> tuple[str, Path | None]:
    m2v = f"{shutil.which('m2v')} encode -m {model}"
    out = work / "out"
    if case == "npy-file":
        return f"{m2v} {src} -o {out}.npy", out.with_suffix(".npy")
    if case == "npy-stdout":
        return f"{m2v} {src} > /dev/null", None
    if case == "npy-pipe":
        return f"cat {src} | {m2v} | cat > /dev/null", None
    if case in ("jsonl", "parquet"):
        return f"{m2v} {src} -o {out}.{case}", out.with_suffix(f".{case}")
    if case in ("in-memory", "model2vec"):
        return in_memory(model, src, out.with_suffix(".npy"), case == "model2vec"), out.with_suffix(".npy")
    raise ValueError(case)


def ray_startup() -> float:
    code = (
        "import os, time; os.environ['RAY_USAGE_STATS_ENABLED'] = '0'; import ray; t = time.perf_counter(); "
        "ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level='ERROR'); "
        "ray.shutdown(); print(time.perf_counter() - t)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(proc.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--lines", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--cases", nargs="+", default=CASES, choices=CASES)
    parser.add_argument("--ray-lines", type=int, default=1_000_000, help="0: leave Ray out")
    parser.add_argument("--work", type=Path, default=None, help="folder for inputs and outputs (default: a temp one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="m2v-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[int, str], tuple[float, float]] = {}
    print(f"{'lines':>11}  {'case':<11} {'wall s':>8} {'lines/s':>11} {'peak MiB':>9}", flush=True)
    for n in args.lines:
        src = work / f"in-{n}.txt"
        if not src.exists():
            make_text(src, n)
        for case in args.cases:
            if case in ("in-memory", "model2vec") and n > IN_MEMORY_MAX:
                continue
            cmd, out = command(case, args.model, src, work)
            wall, rss = gnu_time(cmd)
            results[(n, case)] = (wall, rss)
            if out is not None and out.exists():
                out.unlink()
            print(f"{n:>11,}  {case:<11} {wall:>8.1f} {n / wall:>11,.0f} {rss:>9,.0f}", flush=True)
    if args.ray_lines:
        n = args.ray_lines
        src = work / f"in-{n}.txt"
        if not src.exists():
            make_text(src, n)
        table = work / f"in-{n}.parquet"
        if not table.exists():
            make_parquet(src, table)
        m2v = f"{shutil.which('m2v')} encode -m {args.model}"
        for case, cmd in (
            ("parquet-local", f"{m2v} {table} --column text -o {work}/local.parquet"),
            ("ray", f"{m2v} --engine ray {table} --column text -o {work}/ray-out --force"),
        ):
            wall, rss = gnu_time(cmd)
            results[(n, case)] = (wall, rss)
            print(f"{n:>11,}  {case:<11} {wall:>8.1f} {n / wall:>11,.0f} {rss:>9,.0f}", flush=True)
        shutil.rmtree(work / "ray-out", ignore_errors=True)
        (work / "local.parquet").unlink(missing_ok=True)
        startup = ray_startup()
        ratio = results[(n, "parquet-local")][0] / results[(n, "ray")][0]
        print(f"\nray start-up (ray.init + shutdown, {os.cpu_count()} CPUs): {startup:.1f} s")
        print(f"ray / local streaming, {n:,} Parquet rows, sent/s with start-up: {ratio:.2f}x")
    print()
    for case in args.cases:
        rows = [(n, results[(n, case)]) for n in args.lines if (n, case) in results]
        if len(rows) > 1:
            first = rows[0][1][1]
            spread = ", ".join(f"{n:,}: {rss / first:.2f}x" for n, (_, rss) in rows)
            print(f"peak RSS against {rows[0][0]:,} lines, {case}: {spread}")
    for n in args.lines:
        if (n, "in-memory") in results and (n, "npy-file") in results:
            base = results[(n, "in-memory")][0]
            ref = results.get((n, "model2vec"))
            line = f"{n:,} lines, throughput npy-file / in-memory: {base / results[(n, 'npy-file')][0]:.2f}x"
            if ref:
                line += f"; / model2vec: {ref[0] / results[(n, 'npy-file')][0]:.2f}x"
            print(line)


if __name__ == "__main__":
    main()
