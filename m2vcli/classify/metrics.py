"""Accuracy, macro-F1 and a per-label report, from 0/1 rows (numpy only, no scikit-learn).

For one label per text, accuracy is the share of texts whose class is right. For multi-label data it is
the share whose whole label set is right (exact match), and ``jaccard`` the mean overlap of predicted and
true sets. Per label: precision, recall, F1 and support (texts that carry it); macro-F1 is their mean.

>>> truth = np.array([[1, 0], [0, 1], [0, 1]])
>>> guess = np.array([[1, 0], [1, 0], [0, 1]])
>>> report = classification_report(truth, guess, ["a", "b"], multilabel=False)
>>> round(report.accuracy, 3), round(report.macro_f1, 3), report.per_label[1].support
(0.667, 0.667, 2)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LabelScore:
    label: Any
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    accuracy: float
    macro_f1: float
    per_label: list[LabelScore]
    texts: int
    multilabel: bool
    jaccard: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)


def classification_report(truth: np.ndarray, guess: np.ndarray, classes: list[Any], *, multilabel: bool) -> Report:
    """The report of 0/1 rows ``guess`` against ``truth`` (texts x classes)."""
    truth, guess = truth.astype(bool), guess.astype(bool)
    hits = (truth & guess).sum(axis=0).astype(np.float64)
    precision = _divide(hits, guess.sum(axis=0).astype(np.float64))
    recall = _divide(hits, truth.sum(axis=0).astype(np.float64))
    f1 = _divide(2 * precision * recall, precision + recall)
    support = truth.sum(axis=0)
    per_label = [
        LabelScore(c, float(p), float(r), float(f), int(s))
        for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    ]
    exact = float((truth == guess).all(axis=1).mean()) if len(truth) else 0.0
    jaccard = None
    if multilabel:
        union = (truth | guess).sum(axis=1)
        overlap = _divide((truth & guess).sum(axis=1).astype(np.float64), union.astype(np.float64))
        overlap[union == 0] = 1.0  # nothing to find, nothing found
        jaccard = float(overlap.mean()) if len(truth) else 0.0
    return Report(exact, float(f1.mean()), per_label, len(truth), multilabel, jaccard)
