"""Whole-refinement peak memory against corpus size: ``m2v refine`` (featurize from an empty cache, then
train) on the first N texts of a corpus, each N in a fresh process under GNU time.

The plain model is m2v's default distillation of the packaged teacher (made once under ``--work``). Prints
wall time, texts/s and peak RSS per size, and the ratio of the largest size's peak to the smallest's.

Usage:
  python benchmarks/refine_memory.py CORPUS [--sizes 50000 200000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distill_speed import gnu_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--work", type=Path, help="keeps the plain model between runs (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        plain = work / "plain"
        if not plain.exists():
            subprocess.run([sys.executable, "-m", "m2vcli", "distill", "-o", str(plain)], check=True)
        lines = args.corpus.read_text(encoding="utf-8").splitlines()
        peaks = []
        for size in args.sizes:
            part = Path(tmp) / f"{size}.txt"
            part.write_text("\n".join(lines[:size]) + "\n", encoding="utf-8")
            out, cache = Path(tmp) / f"refined-{size}", Path(tmp) / f"cache-{size}"
            cmd = [sys.executable, "-m", "m2vcli", "refine", str(plain), "--corpus", str(part), "-o", str(out)]
            wall, mib = gnu_time([*cmd, "--cache-dir", str(cache), "--force"])
            seconds = json.loads((out / "config.json").read_text())["refinement"]["seconds"]
            peaks.append(mib)
            phases = ", ".join(f"{name} {value:.0f} s" for name, value in seconds.items())
            print(f"refine {size:>8,} texts: {wall:7.1f} s ({phases}), peak {mib:6.0f} MiB", flush=True)
        if len(peaks) > 1:
            print(f"peak {args.sizes[-1]:,} / {args.sizes[0]:,} texts: {peaks[-1] / peaks[0]:.2f}x")


if __name__ == "__main__":
    main()
