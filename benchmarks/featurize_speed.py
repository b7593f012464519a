"""Featurizing speed: m2v's teacher pass over a corpus against ``SentenceTransformer.encode``, same run.

Both sides encode the same texts with the same teacher on the same machine, taking turns; the m2v side
runs without its cache (every text goes through the teacher). Prints texts/s of each and the ratio.
``--memory`` also runs m2v's featurizing of the first N texts in fresh processes under GNU time for each N
given, to show how peak memory grows with the corpus.

Usage:
  python benchmarks/featurize_speed.py CORPUS [--texts 5000] [--repeats 3] [--teacher FOLDER]
  python benchmarks/featurize_speed.py CORPUS --memory 50000 200000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distill_speed import gnu_time


def m2v_featurize(texts: list[str], precision: str, teacher_path: str | None = None) -> float:
    from m2vcli.refinement.features import featurize
    from m2vcli.refinement.pieces import split_long
    from m2vcli.teacher import Device, Pooling, Precision, load_teacher

    teacher = load_teacher(teacher_path, Device.CPU, Precision(precision), trust_remote_code=False)
    with tempfile.TemporaryDirectory() as shards:  # as refinement does: shards on disk, not in memory
        start = time.perf_counter()
        _, ids = split_long(texts, teacher)
        featurize(teacher, ids, Pooling.MEAN, Path(shards))  # refine's default pooling
        return time.perf_counter() - start


def st_encode(texts: list[str], batch_size: int, teacher_path: str | None = None) -> float:
    from sentence_transformers import SentenceTransformer

    from m2vcli.packaged_data import teacher_folder

    model = SentenceTransformer(teacher_path or str(teacher_folder()), device="cpu")
    start = time.perf_counter()
    model.encode(texts, batch_size=batch_size, show_progress_bar=False)
    return time.perf_counter() - start


def memory(corpus: Path, sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            part = Path(tmp) / f"{size}.txt"
            part.write_text("\n".join(corpus.read_text(encoding="utf-8").splitlines()[:size]) + "\n")
            code = (
                "import sys; sys.path.insert(0, sys.argv[1]); from m2vcli.console import quiet_libraries; "
                "quiet_libraries(); from featurize_speed import m2v_featurize; "
                "m2v_featurize(open(sys.argv[2]).read().splitlines(), 'auto')"
            )
            wall, mib = gnu_time([sys.executable, "-c", code, str(Path(__file__).parent), str(part)])
            print(f"featurize {size:>8,} texts: {wall:7.1f} s, {size / wall:6.0f} texts/s, peak {mib:6.0f} MiB")


def main() -> None:
    from m2vcli.console import quiet_libraries

    quiet_libraries()  # the settings m2v's commands run with
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32, help="SentenceTransformer.encode's (its default: 32)")
    parser.add_argument("--precision", default="auto", help="m2v's teacher arithmetic (auto: bfloat16 if supported)")
    parser.add_argument("--memory", type=int, nargs="*", help="corpus sizes for the peak-memory runs")
    parser.add_argument("--teacher", help="Sentence Transformer folder (default: the packaged all-MiniLM-L6-v2)")
    args = parser.parse_args()
    if args.memory:
        memory(args.corpus, args.memory)
        return
    texts = args.corpus.read_text(encoding="utf-8").splitlines()[: args.texts]
    m2v_featurize(texts[:64], args.precision, args.teacher)  # warm-up: imports, first load
    st_encode(texts[:64], args.batch_size, args.teacher)
    times: dict[str, list[float]] = {"m2v": [], "st": []}
    for i in range(args.repeats):
        times["m2v"].append(m2v_featurize(texts, args.precision, args.teacher))
        times["st"].append(st_encode(texts, args.batch_size, args.teacher))
        print(
            f"run {i + 1}: m2v {len(texts) / times['m2v'][-1]:,.0f} texts/s, "
            f"SentenceTransformer.encode {len(texts) / times['st'][-1]:,.0f} texts/s",
            flush=True,
        )
    m2v, st = (len(texts) / statistics.median(times[k]) for k in ("m2v", "st"))
    print(f"{len(texts):,} texts: m2v {m2v:,.0f} texts/s, SentenceTransformer.encode {st:,.0f} texts/s")
    print(f"  m2v / SentenceTransformer.encode: {m2v / st:.2f}x")


if __name__ == "__main__":
    main()
