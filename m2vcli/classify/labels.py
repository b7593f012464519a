"""Labels of a classification data set: what kind they are, the classes they name, and as training targets.

A label is text or a whole number (one class per text: single-label), or a list of those (any number of
classes per text, none included: multi-label). All the labels of a data set are of one kind; the first
label decides it. Classes are kept as they were given (``1`` stays a number, ``"1"`` text) and sorted,
so the same data always gives the same class order.

>>> labels = LabelSet.from_values(["spam", "ham", "spam"])
>>> labels.classes, labels.multilabel, labels.indexes(["ham", "spam"]).tolist()
(['ham', 'spam'], False, [0, 1])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from m2vcli.config import clip
from m2vcli.errors import InputError

Label = str | int


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, float):
        return "a decimal number"
    return type(value).__name__


def _where(wheres: Sequence[str] | None, i: int) -> str:
    return wheres[i] if wheres is not None else f"label {i + 1}"


def _check_class(value: Any, where: str, field: str) -> Label:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"{where}: {field!r} holds {_kind(value)}; a label is text or a whole number")
    return value


@dataclass(frozen=True)
class LabelSet:
    """The classes of a data set, in order, and whether each text has a list of them."""

    classes: list[Label]
    multilabel: bool

    @classmethod
    def from_values(
        cls, values: Sequence[Any], wheres: Sequence[str] | None = None, *, field: str = "label"
    ) -> LabelSet:
        """The label set of ``values``, each checked: a label of another kind than the first, null, or a
        class of another type than the first (text against numbers) is an ``InputError`` naming where it
        stands (``wheres[i]``). Fewer than two classes is an error too: there is nothing to tell apart."""
        if not values:
            raise InputError("there are no labels")
        first = values[0]
        multilabel = isinstance(first, (list, tuple))
        counts: Counter[Label] = Counter()
        class_type: type | None = None
        first_at = ""
        for i, value in enumerate(values):
            where = _where(wheres, i)
            if multilabel != isinstance(value, (list, tuple)) or value is None:
                raise InputError(
                    f"{where}: {field!r} holds {_kind(value)} but the first label holds {_kind(first)}; "
                    "labels must all be lists (multi-label) or all single labels"
                )
            for item in value if multilabel else [value]:
                label = _check_class(item, where, field)
                if class_type is None:
                    class_type, first_at = type(label), where
                elif type(label) is not class_type:
                    head = where.rsplit(" ", 2)[0] + " "
                    first_at = first_at[len(head) :] if first_at.startswith(head) else first_at
                    raise InputError(
                        f"{where}: {field!r} holds {_kind(label)} ({clip(label)}) but {first_at} holds "
                        f"{_kind(class_type())}; labels must all be text or all whole numbers"
                    )
                counts[label] += 1
        classes = sorted(counts)  # one type, so they sort
        if len(classes) < 2 and not multilabel:
            shown = clip(classes[0]) if classes else "none"
            raise InputError(f"the labels hold one class ({shown}); a classifier needs at least two")
        if not classes:
            raise InputError("every label list is empty; a multi-label classifier needs at least one class")
        return cls(classes=list(classes), multilabel=multilabel)

    def __len__(self) -> int:
        return len(self.classes)

    def check(self, values: Sequence[Any], wheres: Sequence[str] | None, what: str, *, field: str = "label") -> None:
        """Labels of other data (validation, test) of the same kind, naming only known classes."""
        known = set(self.classes)
        shown = ", ".join(clip(c, 40) for c in self.classes[:10]) + (", ..." if len(self.classes) > 10 else "")
        for i, value in enumerate(values):
            where = _where(wheres, i)
            if self.multilabel != isinstance(value, (list, tuple)) or value is None:
                kind = "lists of labels" if self.multilabel else "single labels"
                raise InputError(f"{where}: {field!r} holds {_kind(value)}; the training labels are {kind}")
            for item in value if self.multilabel else [value]:
                label = _check_class(item, where, field)
                if label not in known or type(label) is not type(self.classes[0]):
                    raise InputError(
                        f"{where}: the {what} has label {clip(label)!s}, which the training data does not "
                        f"have (its classes: {shown})"
                    )

    def indexes(self, values: Sequence[Any]) -> np.ndarray:
        """Single labels as class indexes (int64)."""
        position = {c: i for i, c in enumerate(self.classes)}
        return np.fromiter((position[v] for v in values), dtype=np.int64, count=len(values))

    def multi_hot(self, values: Sequence[Sequence[Any]]) -> np.ndarray:
        """Label lists as rows of 0/1 (float32), one column per class."""
        position = {c: i for i, c in enumerate(self.classes)}
        out = np.zeros((len(values), len(self.classes)), dtype=np.float32)
        for row, items in enumerate(values):
            for item in items:
                out[row, position[item]] = 1.0
        return out

    def counts(self, values: Sequence[Any]) -> np.ndarray:
        """How many texts carry each class."""
        if self.multilabel:
            return self.multi_hot(values).sum(axis=0).astype(np.int64)
        return np.bincount(self.indexes(values), minlength=len(self.classes))
