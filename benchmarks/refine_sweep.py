"""One refinement setting, scored: refine a static model on a corpus, run the offline suite, print one line
(Avg (All) and each category, the held-out loss, the epochs, the time of each phase) and append it to a log.

Usage:
  python benchmarks/refine_sweep.py CORPUS NAME [key=value ...] [--base MODEL] [--log sweep.log]
  python benchmarks/refine_sweep.py general-50k.txt lr3e3 learning_rate=0.003 epochs=30
  python benchmarks/refine_sweep.py general-100k.txt tokens pooling=tokens anchor=0
Keys are ``m2vcli.refinement.RefineConfig``'s; values are read as JSON when they parse (numbers, null).
The feature cache ($M2V_CACHE) is shared, so settings that keep the teacher pass reuse it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("name")
    parser.add_argument("settings", nargs="*", help="key=value")
    parser.add_argument("--base", default=None, help="the static model to refine (default: m2v distill's default)")
    parser.add_argument("--work", type=Path, default=Path("refine_sweep_work"))
    parser.add_argument("--log", type=Path, default=Path("refine_sweep.log"))
    args = parser.parse_args()

    from m2vcli.console import quiet_libraries

    quiet_libraries()
    from m2vcli.distillation import run_distillation
    from m2vcli.evaluation import get_tasks, run_tasks
    from m2vcli.refinement import run_refinement

    settings: dict[str, object] = {}
    for pair in args.settings:
        key, value = pair.split("=", 1)
        try:
            settings[key] = json.loads(value)
        except ValueError:
            settings[key] = value
    base = args.base
    if base is None:
        base = str(args.work / "plain")
        if not Path(base).exists():
            run_distillation(save_path=base)
    out = args.work / args.name
    started = time.perf_counter()
    result = run_refinement(model=base, corpus=args.corpus, save_path=str(out), force=True, **settings)
    seconds = time.perf_counter() - started
    report = run_tasks(str(out), get_tasks([]), name=args.name, output_dir=args.work / "results", overwrite=True)
    by_category: dict[str, list[float]] = {}
    for outcome in report.outcomes:
        by_category.setdefault(outcome.category, []).append(100 * float(outcome.main_score or 0.0))
    means = {c: sum(v) / len(v) for c, v in by_category.items()}
    training = result.training
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    line = (
        f"{args.name}: avg {sum(means.values()) / len(means):.2f} | "
        + " ".join(f"{c} {v:.2f}" for c, v in means.items())
        + f" | held-out {training.initial_validation_loss:.4f}->{training.validation_loss:.4f}"
        + f" epochs {len(training.history)} best step {training.best_step} | {phases} | total {seconds:.1f}s"
    )
    print(line, flush=True)
    with args.log.open("a", encoding="utf-8") as log:
        log.write(line + "\n")


if __name__ == "__main__":
    main()
