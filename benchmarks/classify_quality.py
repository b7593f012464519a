"""Classifiers side by side, in one run: m2v's (``m2vcli.train_classifier``), model2vec 0.10's
``StaticModelForClassification`` from the same starting model, and logistic regression on the frozen vectors.

Data (offline, from the pinned packages; the evaluation suite's seeded 80/20 splits, ``packaged_data.split``):
IMDB, Rotten Tomatoes, BBC News, and BBC-multi, a multi-label set built here: each text joins the openings
(first two sentences) of one to three BBC articles drawn with a seed, and is labelled with their topics.

For each data set: test accuracy (multi-label: exact match, and macro-F1), training wall time, and prediction
throughput on the test texts (m2v's classifier, model2vec's ``StaticModelPipeline`` loading the same m2v
folder, and the ONNX export through onnxruntime with the exported tokenizer). Timed runs alternate and are
the best of ``--repeats``. Needs the ``bench`` extra (model2vec with its training dependencies) and onnxruntime.

Usage: python benchmarks/classify_quality.py --model MODEL [--sets imdb rotten_tomatoes bbc bbc_multi]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli import packaged_data

SENTENCE = re.compile(r"(?<=[.!?])\s+")


def bbc_multi(n: int = 3000, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    texts, labels, topics = packaged_data.bbc_news()
    rng = random.Random(seed)
    out_texts, out_labels = [], []
    for _ in range(n):
        picked = rng.sample(range(len(texts)), rng.choice([1, 1, 2, 2, 3]))
        parts = [" ".join(SENTENCE.split(texts[i])[:2]) for i in picked]
        out_texts.append(" ".join(parts))
        out_labels.append(sorted({topics[labels[i]] for i in picked}))
    return out_texts, out_labels


def load(name: str) -> tuple[list[str], list[Any]]:
    if name == "bbc":
        texts, labels, topics = packaged_data.bbc_news()
        return texts, [topics[i] for i in labels]
    if name == "bbc_multi":
        return bbc_multi()
    return packaged_data.reviews(name)


def best_time(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def onnx_runner(folder: Path) -> Any:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    options = ort.SessionOptions()
    session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def run(texts: list[str]) -> np.ndarray:
        outs = []
        for start in range(0, len(texts), 1024):
            batch = tokenizer.encode_batch(texts[start : start + 1024])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            outs.append(session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        return np.concatenate(outs)

    return run


def scores(truth: list[Any], guess: list[Any], multilabel: bool) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    if multilabel:
        binarizer = MultiLabelBinarizer().fit(truth)
        t, g = binarizer.transform(truth), binarizer.transform([list(x) for x in guess])
        return float(accuracy_score(t, g)), float(f1_score(t, g, average="macro", zero_division=0))
    return float(accuracy_score(truth, guess)), float(f1_score(truth, guess, average="macro"))


def run_set(name: str, model_path: str, repeats: int, work: Path) -> dict[str, Any]:
    from model2vec.inference import StaticModelPipeline
    from model2vec.train import StaticModelForClassification
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    import m2vcli
    from m2vcli import StaticEmbedder
    from m2vcli.classify import StaticClassifier
    from m2vcli.export import ExportConfig, export_model

    texts, labels = load(name)
    train, test = packaged_data.split(len(texts))
    x_train, y_train = [texts[i] for i in train], [labels[i] for i in train]
    x_test, y_test = [texts[i] for i in test], [labels[i] for i in test]
    multilabel = isinstance(labels[0], list)
    row: dict[str, Any] = {"set": name, "train": len(x_train), "test": len(x_test)}

    # logistic regression on the frozen vectors
    base = StaticEmbedder.from_pretrained(model_path)
    started = time.perf_counter()
    vectors, test_vectors = base.encode(x_train), base.encode(x_test)
    if multilabel:
        binarizer = MultiLabelBinarizer().fit(y_train)
        lr = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(vectors, binarizer.transform(y_train))
        lr_guess = [list(x) for x in binarizer.inverse_transform(lr.predict(test_vectors))]
    else:
        lr = LogisticRegression(max_iter=1000).fit(vectors, y_train)
        lr_guess = list(lr.predict(test_vectors))
    row["lr_seconds"] = time.perf_counter() - started
    row["lr_accuracy"], row["lr_f1"] = scores(y_test, lr_guess, multilabel)

    # m2v
    started = time.perf_counter()
    ours = m2vcli.train_classifier(model_path, x_train, y_train, show_progress_bar=False)
    row["m2v_seconds"] = time.perf_counter() - started
    row["m2v_epochs"] = ours.record.get("epochs")
    row["m2v_accuracy"], row["m2v_f1"] = scores(y_test, list(ours.predict(x_test)), multilabel)

    # model2vec 0.10
    started = time.perf_counter()
    theirs = StaticModelForClassification.from_pretrained(path=model_path).fit(x_train, y_train)
    row["model2vec_seconds"] = time.perf_counter() - started
    row["model2vec_accuracy"], row["model2vec_f1"] = scores(y_test, list(theirs.predict(x_test)), multilabel)

    # prediction throughput on the test texts: m2v, model2vec's pipeline on the same folder, ONNX
    folder = work / f"{name}_clf"
    ours.save_pretrained(folder, force=True)
    loaded = StaticClassifier.from_pretrained(folder)
    pipeline = StaticModelPipeline.from_pretrained(folder)
    export_model(ExportConfig(model=str(folder), output=str(work / f"{name}_onnx"), force=True))
    onnx_run = onnx_runner(work / f"{name}_onnx")
    same = float(
        np.mean(
            [
                list(a) == list(b) if multilabel else a == b
                for a, b in zip(loaded.predict(x_test), pipeline.predict(x_test), strict=True)
            ]
        )
    )
    row["same_predictions_as_model2vec_pipeline"] = same
    row["onnx_max_diff"] = float(np.abs(onnx_run(x_test[:500]) - loaded.predict_proba(x_test[:500])).max())
    timings: dict[str, list[float]] = {"m2v": [], "model2vec": [], "onnx": []}
    for _ in range(repeats):
        timings["m2v"].append(best_time(lambda: loaded.predict_proba(x_test), 1))
        timings["model2vec"].append(best_time(lambda: pipeline.predict_proba(x_test), 1))
        timings["onnx"].append(best_time(lambda: onnx_run(x_test), 1))
    for key, values in timings.items():
        row[f"{key}_predictions_per_s"] = len(x_test) / min(values)
    return row


def main() -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")  # model2vec's per-step bars
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the starting static model (folder)")
    parser.add_argument("--sets", nargs="+", default=["imdb", "rotten_tomatoes", "bbc", "bbc_multi"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="m2v-classify-bench-") as tmp:
        for name in args.sets:
            row = run_set(name, args.model, args.repeats, Path(tmp))
            rows.append(row)
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    keys = ["lr_accuracy", "m2v_accuracy", "model2vec_accuracy"]
    print(
        "\n| set | LR | m2v | model2vec | m2v train s | model2vec train s | time ratio "
        "| pred/s m2v | model2vec | onnx |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = r["m2v_seconds"] / r["model2vec_seconds"]
        print(
            f"| {r['set']} | {r['lr_accuracy']:.4f} | {r['m2v_accuracy']:.4f} | {r['model2vec_accuracy']:.4f} | "
            f"{r['m2v_seconds']:.1f} | {r['model2vec_seconds']:.1f} | {ratio:.2f} | "
            f"{r['m2v_predictions_per_s']:,.0f} | {r['model2vec_predictions_per_s']:,.0f} | "
            f"{r['onnx_predictions_per_s']:,.0f} |"
        )
    means = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    ratio = sum(r["m2v_seconds"] for r in rows) / sum(r["model2vec_seconds"] for r in rows)
    print(
        f"\naverage accuracy: LR {means['lr_accuracy']:.4f}, m2v {means['m2v_accuracy']:.4f}, model2vec "
        f"{means['model2vec_accuracy']:.4f}; m2v - LR {100 * (means['m2v_accuracy'] - means['lr_accuracy']):+.2f} "
        f"points, m2v - model2vec {100 * (means['m2v_accuracy'] - means['model2vec_accuracy']):+.2f}; training time "
        f"m2v / model2vec {ratio:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
