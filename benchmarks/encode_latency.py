"""Encode latency at the batch sizes callers use (1, 10, 100, 1,000, 10,000 texts per call), m2v against
model2vec, in one process, on the same model folder and texts, alternately.

For each size, each library encodes the same batch ``--calls`` times per round, the two libraries taking
turns, for ``--rounds`` rounds; the figure is the median time per call over the rounds, and the ratio is
m2v's time over model2vec's (below 1: m2v is faster).

Usage: python benchmarks/encode_latency.py [--model DIR] [--rounds 7]
(without --model, the packaged teacher is distilled once into a temporary folder).
Needs the bench extra: pip install -e ".[bench]".
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = (1, 10, 100, 1_000, 10_000)


def per_call(fn, texts: list[str], calls: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(calls):
        fn(texts)
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="static model folder (default: distill the packaged teacher)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from model2vec import StaticModel

    from m2vcli import StaticEmbedder, distill
    from m2vcli.packaged_data import movie_review_sentences

    folder = args.model
    if folder is None:
        folder = str(Path(tempfile.mkdtemp()) / "model")
        distill(save_path=folder)
    ours = StaticEmbedder.from_pretrained(folder)
    theirs = StaticModel.from_pretrained(folder)
    sentences = movie_review_sentences(max(SIZES))
    check = sentences[:100]
    cosine = np.mean(np.sum(ours.encode(check, normalize=True) * _unit(theirs.encode(check)), axis=1))
    print(f"model {folder}: {ours.dim} dims; mean cosine m2v vs model2vec on 100 texts: {cosine:.6f}")
    print(f"{'texts/call':>10}  {'m2v':>12}  {'model2vec':>12}  {'m2v / model2vec':>15}")
    for size in SIZES:
        texts = sentences[:size]
        calls = max(1, 2_000 // size)
        for fn in (ours.encode, theirs.encode):  # warm both
            per_call(fn, texts, 1)
        mine, ref = [], []
        for _ in range(args.rounds):
            mine.append(per_call(ours.encode, texts, calls))
            ref.append(per_call(theirs.encode, texts, calls))
        a, b = statistics.median(mine), statistics.median(ref)
        print(f"{size:>10,}  {_fmt(a):>12}  {_fmt(b):>12}  {a / b:>15.2f}")


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1)


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} us" if seconds < 1e-2 else f"{seconds * 1e3:,.1f} ms"


if __name__ == "__main__":
    main()
