"""Whole-process distillation time and peak memory: ``m2v distill`` against model2vec 0.10, same run.

Each side runs as a fresh process under GNU time (wall clock, peak resident memory), alternating, so
both see the same machine. Same teacher, same settings (PCA 256, SIF 1e-4, float16).

Usage:
  python benchmarks/distill_speed.py [--repeats 3]
  python benchmarks/distill_speed.py --vocabulary wordfreq:en:50000 --repeats 1
  python benchmarks/distill_speed.py --vocabulary wordfreq:en:50000 --unpadded-teacher
(--unpadded-teacher: a copy of the packaged teacher whose tokenizer.json has no padding or truncation.)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def gnu_time(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak MiB) of one process."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    assert wall and rss, proc.stderr[-500:]
    hours, minutes, seconds = int(wall.group(1) or 0), int(wall.group(2)), float(wall.group(3))
    return hours * 3600 + minutes * 60 + seconds, int(rss.group(1)) / 1024


def alternate(commands: dict[str, list[str]], repeats: int) -> dict[str, tuple[float, float]]:
    """Run each command ``repeats`` times, taking turns, each as a fresh process under GNU time; the median
    (wall seconds, peak MiB) per name."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for i in range(repeats):
        for name, cmd in commands.items():
            wall, mib = gnu_time(cmd)
            results[name].append((wall, mib))
            print(f"run {i + 1} {name:9s} {wall:7.2f} s  {mib:7.0f} MiB", flush=True)
    return {
        name: (statistics.median(w for w, _ in runs), statistics.median(m for _, m in runs))
        for name, runs in results.items()
    }


def print_ratios(med: dict[str, tuple[float, float]]) -> None:
    wall_ratio, memory_ratio = (med["m2v"][i] / med["model2vec"][i] for i in (0, 1))
    print(f"  m2v / model2vec: wall {wall_ratio:.2f}x, memory {memory_ratio:.2f}x")


def unpadded_copy(teacher: Path, target: Path) -> Path:
    shutil.copytree(teacher, target)
    spec = json.loads((target / "tokenizer.json").read_text())
    spec["padding"] = None
    spec["truncation"] = None
    (target / "tokenizer.json").write_text(json.dumps(spec))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--vocabulary", help="wordfreq:LANG:N, given to both (model2vec gets the word list)")
    parser.add_argument("--unpadded-teacher", action="store_true")
    args = parser.parse_args()

    from m2vcli.teacher import packaged_teacher

    work = Path(tempfile.mkdtemp())
    teacher = packaged_teacher().path
    if args.unpadded_teacher:
        teacher = unpadded_copy(teacher, work / "teacher_unpadded")
    ours = [sys.executable, "-m", "m2vcli", "distill", "--model", str(teacher), "-o", str(work / "ours"), "--force"]
    vocab_arg = "None"
    if args.vocabulary:
        ours += ["--vocabulary", args.vocabulary]
        words_file = work / "words.json"
        from m2vcli.distillation.wordlists import load_word_list

        words_file.write_text(json.dumps(load_word_list(args.vocabulary).words))
        vocab_arg = f"json.load(open({str(words_file)!r}))"
    ref_code = (
        "import json\n"
        "from model2vec.distill import distill\n"
        f"m = distill({str(teacher)!r}, vocabulary={vocab_arg}, pca_dims=256)\n"
        f"m.save_pretrained({str(work / 'ref')!r})\n"
    )
    ref = [sys.executable, "-c", ref_code]
    med = alternate({"m2v": ours, "model2vec": ref}, args.repeats)
    print(f"\nteacher: {teacher}; vocabulary: {args.vocabulary or 'the teacher tokens'}")
    for name, (wall, mib) in med.items():
        print(f"  {name:9s} median wall {wall:7.1f} s   peak {mib:6.0f} MiB")
    print_ratios(med)


if __name__ == "__main__":
    main()
