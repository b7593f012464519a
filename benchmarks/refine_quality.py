"""Refinement against the reference's own way, same corpus, same teacher, same run.

m2v: ``m2v refine`` of m2v's default distillation (featurize + train, timed as one). model2vec 0.10: its
default distillation, then ``StaticModelForSimilarity.from_pretrained(path=...)`` fit on the texts and the
teacher's ``SentenceTransformer.encode`` vectors (its README's recipe), then ``to_static_model()`` (teacher
encode + fit, timed). Both refined models and both plain ones are scored on the offline suite
(``m2v evaluate``'s tasks); the table gives each category and Avg (All) as the leaderboard does.

Usage:
  python benchmarks/refine_quality.py CORPUS [--texts 25000] [--work DIR] [--skip-reference]
(needs the bench extra: pip install -e ".[bench]"; the m2v cache is put under --work, so featurizing is
timed from scratch the first time and read back on a rerun with the same --work.)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from m2vcli.evaluation import get_tasks, run_tasks
from m2vcli.evaluation.registry import Suite

CATEGORIES = ["Class", "Clust", "STS", "PEARL", "WordSim"]


def m2v(*args: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "m2vcli", *args], check=True, env={**os.environ, **env})
    return time.perf_counter() - start


def reference(plain: Path, texts: list[str], out: Path) -> dict[str, float]:
    from model2vec.train import StaticModelForSimilarity
    from sentence_transformers import SentenceTransformer

    from m2vcli.packaged_data import teacher_folder

    start = time.perf_counter()
    teacher = SentenceTransformer(str(teacher_folder()), device="cpu")
    targets = teacher.encode(texts, show_progress_bar=False)
    encoded = time.perf_counter()
    model = StaticModelForSimilarity.from_pretrained(path=str(plain))
    model.fit(texts, targets)
    model.to_static_model().save_pretrained(str(out))
    done = time.perf_counter()
    return {"teacher encode": encoded - start, "fit": done - encoded, "total": done - start}


def scores(name: str, folder: Path, output_dir: Path) -> dict[str, float]:
    report = run_tasks(str(folder), get_tasks([], Suite.OFFLINE), name=name, output_dir=output_dir, overwrite=True)
    by_category: dict[str, list[float]] = {}
    for outcome in report.outcomes:
        if outcome.main_score is None:
            raise SystemExit(f"{name}: {outcome.task} failed: {outcome.message}")
        by_category.setdefault(outcome.category, []).append(100 * float(outcome.main_score))
    means = {c: sum(v) / len(v) for c, v in by_category.items()}
    means["Avg (All)"] = sum(means[c] for c in CATEGORIES) / len(CATEGORIES)
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--texts", type=int, default=25000)
    parser.add_argument("--work", type=Path, default=Path("refine_quality_work"))
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    texts = args.corpus.read_text(encoding="utf-8").splitlines()[: args.texts]
    corpus = work / f"corpus-{len(texts)}.txt"
    corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
    env = {"M2V_CACHE": str(work / "cache"), "HF_HUB_OFFLINE": "1"}
    models: dict[str, Path] = {"m2v plain": work / "m2v_plain", "m2v refined": work / "m2v_refined"}
    times: dict[str, float] = {}
    if not models["m2v plain"].exists():
        m2v("distill", "-o", str(models["m2v plain"]), env=env)
    times["m2v refine"] = m2v("refine", str(models["m2v plain"]), "--corpus", str(corpus), "-o",
                              str(models["m2v refined"]), env=env)  # fmt: skip
    if not args.skip_reference:
        from model2vec.distill import distill

        from m2vcli.packaged_data import teacher_folder

        models["model2vec plain"] = work / "model2vec_plain"
        models["model2vec refined"] = work / "model2vec_refined"
        if not models["model2vec plain"].exists():
            distill(str(teacher_folder()), pca_dims=256).save_pretrained(str(models["model2vec plain"]))
        reference_times = reference(models["model2vec plain"], texts, models["model2vec refined"])
        times.update({f"model2vec {k}": v for k, v in reference_times.items()})
    rows = {name: scores(name.replace(" ", "_"), folder, work / "results") for name, folder in models.items()}
    print(f"\n{len(texts):,} texts of {args.corpus}")
    print("| model | " + " | ".join(CATEGORIES) + " | Avg (All) |")
    print("|---|" + "---|" * (len(CATEGORIES) + 1))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.2f}" for c in [*CATEGORIES, "Avg (All)"]) + " |")
    for name, seconds in times.items():
        print(f"{name}: {seconds:.1f} s")
    if "model2vec total" in times:
        print(f"  m2v refine / model2vec (encode + fit) wall: {times['m2v refine'] / times['model2vec total']:.2f}x")
        gain = rows["m2v refined"]["Avg (All)"] - rows["model2vec refined"]["Avg (All)"]
        print(f"  m2v refined - model2vec refined, Avg (All): {gain:+.2f}")


if __name__ == "__main__":
    main()
