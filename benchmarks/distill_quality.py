"""Quality of static models on the offline data, scored by ``m2v evaluate``'s MTEB tasks: WordSim353 and
SimLex-999 (Spearman x 100), IMDB and Rotten Tomatoes (logistic-regression accuracy x 100, seeded 80/20 split).

Usage: python benchmarks/distill_quality.py NAME=MODEL_DIR [NAME=MODEL_DIR ...]
Each folder may be an m2v or a model2vec model; both are read by m2v's loader, so the numbers compare
the vectors, not the encoders.
"""

from __future__ import annotations

import sys
import tempfile

from m2vcli.evaluation import get_tasks, run_tasks

TASKS = ["WordSim353", "SimLex999", "IMDBOffline", "RottenTomatoesOffline"]


def scores(name: str, folder: str, output_dir: str) -> dict[str, float]:
    report = run_tasks(folder, get_tasks(TASKS), name=name, output_dir=output_dir)
    failed = [o for o in report.outcomes if o.main_score is None]
    if failed:
        raise SystemExit(f"{name}: {failed[0].task} failed: {failed[0].message}")
    return {o.task: 100 * float(o.main_score or 0.0) for o in report.outcomes}


def main() -> None:
    models = dict(arg.split("=", 1) for arg in sys.argv[1:])
    with tempfile.TemporaryDirectory() as output_dir:
        rows = {name: scores(name, folder, output_dir) for name, folder in models.items()}
    print("| model | " + " | ".join(TASKS) + " | mean |")
    print("|---|" + "---|" * (len(TASKS) + 1))
    for name, row in rows.items():
        values = [row[c] for c in TASKS]
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {sum(values) / len(values):.2f} |")


if __name__ == "__main__":
    main()
