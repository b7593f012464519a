"""Labels: their kinds, classes and every way a label column can be wrong."""

from __future__ import annotations

import numpy as np
import pytest

from m2vcli.classify.labels import LabelSet
from m2vcli.errors import InputError


def test_text_labels_are_sorted_classes_and_indexes() -> None:
    labels = LabelSet.from_values(["spam", "ham", "spam", "eggs"])
    assert labels.classes == ["eggs", "ham", "spam"] and not labels.multilabel
    assert labels.indexes(["spam", "eggs"]).tolist() == [2, 0]
    assert labels.counts(["spam", "ham", "spam"]).tolist() == [0, 1, 2]


def test_number_labels_stay_numbers() -> None:
    labels = LabelSet.from_values([1, 0, 2, 10])
    assert labels.classes == [0, 1, 2, 10]  # numeric order, not "10" before "2"
    assert all(type(c) is int for c in labels.classes)


def test_lists_make_a_multi_label_set_and_empty_lists_are_allowed() -> None:
    labels = LabelSet.from_values([["a", "b"], [], ["c"]])
    assert labels.multilabel and labels.classes == ["a", "b", "c"]
    assert labels.multi_hot([["b"], [], ["a", "c"]]).tolist() == [[0, 1, 0], [0, 0, 0], [1, 0, 1]]


def test_a_single_class_is_refused() -> None:
    with pytest.raises(InputError, match=r"one class \('pos'\); a classifier needs at least two"):
        LabelSet.from_values(["pos", "pos", "pos"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["a", 1, "b"], r"line 2: 'label' holds a whole number \(1\) but line 1 holds text"),
        ([1, "a"], r"line 2: 'label' holds text \('a'\) but line 1 holds a whole number"),
        (["a", None], r"line 2: 'label' holds null"),
        (["a", True], r"line 2: 'label' holds true/false; a label is text or a whole number"),
        ([1, 2.5], r"line 2: 'label' holds a decimal number"),
        (["a", ["b"]], r"line 2: 'label' holds a list but the first label holds text"),
        ([["a"], "b"], r"line 2: 'label' holds text but the first label holds a list"),
        ([["a"], ["b", {"x": 1}]], r"line 2: 'label' holds dict"),
        ([["a"], [1]], r"line 2: 'label' holds a whole number \(1\) but line 1 holds text"),
    ],
)
def test_a_wrong_label_names_where_it_stands(values: list[object], message: str) -> None:
    wheres = [f"data.jsonl line {i + 1}" for i in range(len(values))]
    with pytest.raises(InputError, match=message):
        LabelSet.from_values(values, wheres)


def test_an_unseen_label_in_other_data_is_refused_naming_it_and_the_known_classes() -> None:
    labels = LabelSet.from_values(["ham", "spam"])
    labels.check(["spam", "ham"], None, "test data")
    with pytest.raises(InputError, match=r"row 2: the test data has label 'eggs', which the training data does not"):
        labels.check(["ham", "eggs"], ["row 1", "row 2"], "test data")
    with pytest.raises(InputError, match="its classes: 'ham', 'spam'"):
        labels.check(["eggs"], None, "test data")


def test_other_data_must_be_of_the_same_kind_and_type() -> None:
    numbers = LabelSet.from_values([0, 1])
    with pytest.raises(InputError, match="label '1'"):  # "1" (text) is not the class 1
        numbers.check(["1"], None, "validation data")
    with pytest.raises(InputError, match="the training labels are single labels"):
        numbers.check([[0]], None, "validation data")
    multi = LabelSet.from_values([["a"], ["b"]])
    with pytest.raises(InputError, match="the training labels are lists of labels"):
        multi.check(["a"], None, "validation data")


def test_no_labels_is_an_error() -> None:
    with pytest.raises(InputError, match="no labels"):
        LabelSet.from_values([])
    with pytest.raises(InputError, match="every label list is empty"):
        LabelSet.from_values([[], []])


def test_counts_of_multi_label_data() -> None:
    labels = LabelSet.from_values([["a", "b"], ["b"]])
    assert np.array_equal(labels.counts([["a", "b"], ["b"]]), [1, 2])
