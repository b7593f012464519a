"""Encode speed of m2v against the reference implementation (model2vec), in the same run.

Measures, on the same model folder and the same natural English sentences (movie reviews):
- throughput of ``StaticEmbedder.encode`` and ``model2vec.StaticModel.encode`` (interleaved repeats,
  median and min), and the cosine between their vectors;
- the tokenizer alone (``encode_batch_fast``, no special tokens, both cores): the ceiling of a
  tokenizer-bound design, with each encoder's share of it;
- cold start: a fresh process encoding one line, ``m2v encode`` against ``python -c`` loading model2vec.

Usage: python benchmarks/encode_speed.py [--model DIR] [--n 20000] [--repeats 7]
(without --model, the packaged teacher is distilled once into a temporary folder).
Needs the bench extra: pip install -e ".[bench]".
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def timed(fn, repeats: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def cold_start(cmd: list[str], stdin: bytes, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, input=stdin, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="static model folder (default: distill the packaged teacher)")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    from model2vec import StaticModel
    from tokenizers import Tokenizer

    from m2vcli import StaticEmbedder
    from m2vcli.distillation import run_distillation
    from m2vcli.packaged_data import movie_review_sentences

    folder = args.model
    if folder is None:
        folder = str(Path(tempfile.mkdtemp()) / "m2v_default")
        run_distillation(save_path=folder)
    texts = movie_review_sentences(args.n, seed=0)
    print(f"model: {folder}; {len(texts):,} sentences, mean {np.mean([len(t) for t in texts]):.0f} characters")

    ours = StaticEmbedder.from_pretrained(folder)
    ref = StaticModel.from_pretrained(folder)
    tok = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(512)

    runs: dict[str, list[float]] = {"m2v": [], "model2vec": [], "tokenizer": []}
    ours.encode(texts[:2000])
    ref.encode(texts[:2000])
    for _ in range(args.repeats):  # interleaved, so background load hits all three alike
        runs["m2v"] += timed(lambda: ours.encode(texts), 1)
        runs["model2vec"] += timed(lambda: ref.encode(texts), 1)
        runs["tokenizer"] += timed(lambda: tok.encode_batch_fast(texts, add_special_tokens=False), 1)

    a, b = ours.encode(texts), ref.encode(texts).astype(np.float32)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    ok = norms > 0
    cosine = (a[ok] * b[ok]).sum(axis=1) / norms[ok]

    print("\nthroughput (sentences/s; median [min time .. max time]):")
    rate = {}
    for name, times in runs.items():
        rate[name] = len(texts) / statistics.median(times)
        best, worst = len(texts) / min(times), len(texts) / max(times)
        print(f"  {name:10s} {rate[name]:>9,.0f}  best {best:>9,.0f}  worst {worst:>9,.0f}")
    print(f"  m2v / model2vec:          {rate['m2v'] / rate['model2vec']:.2f}x (target >= 1.3x)")
    print(f"  m2v / tokenizer alone:    {rate['m2v'] / rate['tokenizer']:.2f}")
    print(f"  model2vec / tokenizer:    {rate['model2vec'] / rate['tokenizer']:.2f}")
    print(f"  cosine m2v vs model2vec:  min {cosine.min():.5f}, mean {cosine.mean():.5f} (target >= 0.999)")

    line = b"It's dangerous to go alone!\n"
    m2v_cmd = [sys.executable, "-m", "m2vcli", "encode", "--model", folder, "--format", "jsonl"]
    ref_code = (
        "from model2vec import StaticModel\n"
        f"StaticModel.from_pretrained({folder!r}).encode(['It is dangerous to go alone!'])"
    )
    ref_cmd = [sys.executable, "-c", ref_code]
    cold_start(m2v_cmd, line, 1)
    cold_start(ref_cmd, b"", 1)
    ours_cold, ref_cold = [], []
    for _ in range(args.repeats):
        ours_cold += cold_start(m2v_cmd, line, 1)
        ref_cold += cold_start(ref_cmd, b"", 1)
    mo, mr = statistics.median(ours_cold), statistics.median(ref_cold)
    print("\ncold start, one line, whole process (median of", args.repeats, "):")
    print(f"  m2v encode        {mo:.3f} s (min {min(ours_cold):.3f})  target <= 1.0 s")
    print(f"  python -c model2vec {mr:.3f} s (min {min(ref_cold):.3f})")
    print(f"  m2v / model2vec:  {mo / mr:.2f}x (target <= 1.0x)")


if __name__ == "__main__":
    main()
