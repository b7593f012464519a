"""m2v train, m2v predict and m2v evaluate --data from the command line: files in every format, every bad
input a one-line error with exit 1 and nothing written, Ctrl-C leaving no folder."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from m2vcli.classify import StaticClassifier
from tests.classify.test_classifier import topic_texts
from tests.helpers import run_m2v, tiny_model

FAST = ["--hidden-dim", "16", "--epochs", "15"]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def topic_rows(n: int = 240, seed: int = 0, label: str = "label") -> list[dict[str, object]]:
    texts, labels = topic_texts(n, seed)
    return [{"id": f"t{i}", "text": t, label: y} for i, (t, y) in enumerate(zip(texts, labels, strict=True))]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    tiny_model(dim=16).save_pretrained(tmp_path / "model")
    return tmp_path / "model"


@pytest.fixture
def classifier_dir(model_dir: Path, tmp_path: Path) -> Path:
    data = write_jsonl(tmp_path / "train.jsonl", topic_rows())
    ran = run_m2v("train", "-m", str(model_dir), "--data", str(data), "-o", str(tmp_path / "clf"), *FAST)
    assert ran.returncode == 0, ran.stderr
    return tmp_path / "clf"


def test_train_writes_a_classifier_with_epoch_lines_and_a_summary(classifier_dir: Path) -> None:
    clf = StaticClassifier.from_pretrained(classifier_dir)
    assert clf.classes == ["animals", "danger", "films"]
    test, truth = topic_texts(90, seed=3)
    assert clf.evaluate(test, truth).accuracy > 0.9


def test_train_output_on_stderr(model_dir: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", topic_rows())
    ran = run_m2v("train", "-m", str(model_dir), "--data", str(data), "-o", str(tmp_path / "c"), *FAST)
    err = ran.stderr.decode()
    assert ran.returncode == 0 and ran.stdout == b""
    assert "epoch 1: train loss" in err and "accuracy" in err
    assert "216 train, 24 validation" in err and "animals 80, danger 80, films 80" in err
    again = run_m2v("train", "-m", str(model_dir), "--data", str(data), "-o", str(tmp_path / "d"), "--epochs", "1")
    assert again.returncode == 0, again.stderr
    hint = (
        "validation accuracy was still improving at the last epoch (1): more epochs may help, for example --epochs 2."
    )
    assert hint in again.stderr.decode() and "still improving" not in err  # 15 epochs: early stopping ended it


def test_train_reads_csv_with_other_field_names_and_number_labels_from_json(model_dir: Path, tmp_path: Path) -> None:
    texts, labels = topic_texts()
    with (tmp_path / "train.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["body", "topic"])
        writer.writerows(zip(texts, labels, strict=True))
    ran = run_m2v(
        "train", "-m", str(model_dir), "--data", str(tmp_path / "train.csv"), "--text-field", "body",
        "--label-field", "topic", "-o", str(tmp_path / "a"), *FAST,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    numbers = [{**row, "label": ["animals", "danger", "films"].index(str(row["label"]))} for row in topic_rows()]
    data = write_jsonl(tmp_path / "numbers.jsonl", numbers)
    ran = run_m2v("train", "-m", str(model_dir), "--data", str(data), "-o", str(tmp_path / "b"), *FAST)
    assert ran.returncode == 0, ran.stderr
    assert StaticClassifier.from_pretrained(tmp_path / "b").classes == [0, 1, 2]


def _bad(tmp_path: Path, name: str, rows: list[dict[str, object]] | str) -> Path:
    path = tmp_path / name
    if isinstance(rows, str):
        path.write_text(rows)
    else:
        write_jsonl(path, rows)
    return path


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"text": "the cat", "label": "x"}] * 20, r"the labels hold one class \('x'\)"),
        ([{"text": "the cat", "label": "x"}, {"text": "a dog"}], r"line 2 has no field 'label'"),
        ([{"text": "the cat", "label": "x"}, {"text": "a dog", "label": None}], r"line 2: 'label' holds null"),
        ([{"text": "the cat", "label": "x"}, {"text": "b", "label": 3}], r"3\) but line 1 holds text"),
        ([{"text": "the cat", "label": "x"}, {"text": "  ", "label": "y"}], r"line 2: the text is blank"),
        ([{"text": "the cat", "label": ["x"]}, {"text": "a dog", "label": "y"}], "labels must all be lists"),
        ([{"text": 7, "label": "x"}], r"line 1: 'text' holds int, not text"),
        ([{"text": "a", "label": "x"}, {"text": "b", "label": "y"}] * 2, "training a classifier needs at least 8"),
    ],
)  # fmt: skip
def test_bad_training_data_is_one_line_exit_1_and_nothing_written(
    model_dir: Path, tmp_path: Path, rows: list[dict[str, object]], message: str
) -> None:
    data = _bad(tmp_path, "train.jsonl", rows)
    ran = run_m2v("train", "-m", str(model_dir), "--data", str(data), "-o", str(tmp_path / "out"), *FAST)
    err = ran.stderr.decode()
    assert ran.returncode == 1, err
    last = err.splitlines()[-1]
    assert last.startswith("Error: ") and err.count("Error") == 1 and "Traceback" not in err, err
    assert re.search(message, last), err
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_plain_text_data_and_an_unseen_validation_label_are_refused(model_dir: Path, tmp_path: Path) -> None:
    plain = _bad(tmp_path, "train.txt", "the cat\na dog\n")
    ran = run_m2v("train", "-m", str(model_dir), "--data", str(plain), "-o", str(tmp_path / "out"))
    assert ran.returncode == 1 and b"is plain text; labelled data is JSON lines, CSV" in ran.stderr
    data = write_jsonl(tmp_path / "train.jsonl", topic_rows())
    held = write_jsonl(tmp_path / "dev.jsonl", [{"text": "the cat", "label": "sports"}])
    ran = run_m2v(
        "train",
        "-m",
        str(model_dir),
        "--data",
        str(data),
        "--validation",
        str(held),
        "-o",
        str(tmp_path / "out"),
        *FAST,
    )
    assert ran.returncode == 1
    assert b"dev.jsonl line 1: the validation data has label 'sports', which the training data does not" in ran.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("flag", "value"), [("--threshold", "0"), ("--threshold", "1.5"), ("--validation-share", "1")])
def test_a_value_out_of_range_is_refused_before_reading_anything(
    model_dir: Path, tmp_path: Path, flag: str, value: str
) -> None:
    ran = run_m2v(
        "train", "-m", str(model_dir), "--data", str(tmp_path / "absent.jsonl"), "-o", str(tmp_path / "o"), flag, value
    )
    assert ran.returncode == 1 and b"absent" not in ran.stderr
    assert f"Error: {flag} must be between 0 and 1".encode() in ran.stderr


def test_a_classifier_is_not_a_start_for_train_or_refine_and_a_model_is_not_a_classifier(
    classifier_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(tmp_path / "more.jsonl", topic_rows())
    ran = run_m2v("train", "-m", str(classifier_dir), "--data", str(data), "-o", str(tmp_path / "again"))
    assert ran.returncode == 1 and b"is already a classifier" in ran.stderr
    (tmp_path / "corpus.txt").write_text("the cat sat\n" * 300)
    ran = run_m2v("refine", str(classifier_dir), "--corpus", str(tmp_path / "corpus.txt"), "-o", str(tmp_path / "r"))
    assert ran.returncode == 1 and b"is a classifier; refining would drop its head" in ran.stderr
    for args in (
        ["predict", "-m", str(model_dir), "--text", "hi"],
        ["evaluate", "-m", str(model_dir), "--data", str(data)],
    ):
        ran = run_m2v(*args)
        assert ran.returncode == 1 and b"is a static model without a classifier head; train one" in ran.stderr
    ran = run_m2v("encode", "-m", str(classifier_dir), "--text", "the cat")  # where it does not matter, it works
    assert ran.returncode == 0 and len(json.loads(ran.stdout)) == 16


def test_ctrl_c_during_training_writes_no_folder(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli.classify import train

    steps = []
    original = train._Trainable.step

    def interrupted(self: object, *args: object) -> float:
        steps.append(1)
        if len(steps) == 5:
            raise KeyboardInterrupt
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(train._Trainable, "step", interrupted)
    data = write_jsonl(tmp_path / "train.jsonl", topic_rows())
    ran = run_m2v("train", "-m", str(model_dir), "--data", str(data), "-o", str(tmp_path / "out"), *FAST)
    assert ran.returncode == 130 and len(steps) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "train.jsonl"]


def test_predict_streams_jsonl_csv_and_parquet_rows_in_input_order(classifier_dir: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    rows = topic_rows(30, seed=4)
    data = write_jsonl(tmp_path / "in.jsonl", rows)
    clf = StaticClassifier.from_pretrained(classifier_dir)
    expected = clf.predict_proba([str(r["text"]) for r in rows])
    ran = run_m2v("predict", "-m", str(classifier_dir), str(data), "--id-field", "id")
    assert ran.returncode == 0, ran.stderr
    lines = [json.loads(line) for line in ran.stdout.decode().splitlines()]
    assert [line["id"] for line in lines] == [r["id"] for r in rows]
    assert [line["label"] for line in lines] == [clf.classes[i] for i in expected.argmax(axis=1)]
    assert np.allclose([list(line["probabilities"].values()) for line in lines], expected, atol=1e-6)
    ran = run_m2v("predict", "-m", str(classifier_dir), str(data), "--id-field", "id", "-o", str(tmp_path / "p.csv"))
    assert ran.returncode == 0 and b"Classified 30 texts" in ran.stderr
    table = list(csv.reader((tmp_path / "p.csv").open()))
    assert table[0] == ["id", "label", "p_animals", "p_danger", "p_films"] and len(table) == 31
    ran = run_m2v("predict", "-m", str(classifier_dir), str(data), "-o", str(tmp_path / "p.parquet"))
    assert ran.returncode == 0, ran.stderr
    read = pq.read_table(tmp_path / "p.parquet")
    assert read.column_names == ["label", "p_animals", "p_danger", "p_films"] and read.num_rows == 30
    assert np.allclose(read.column("p_films").to_numpy(), expected[:, 2], atol=1e-6)


def test_predict_keeps_a_row_for_every_line_blank_ones_included(classifier_dir: Path) -> None:
    ran = run_m2v(
        "predict",
        "-m",
        str(classifier_dir),
        stdin=b"the cat sat on the mat hello world\n\nzzzz\na great movie hello world\n",
    )
    lines = [json.loads(line) for line in ran.stdout.decode().splitlines()]
    assert ran.returncode == 0 and len(lines) == 4
    assert lines[0]["label"] == "animals" and lines[3]["label"] == "films"
    assert lines[1]["probabilities"] == lines[2]["probabilities"]  # no known token: the same zero vector


def test_predict_refuses_a_bad_threshold_and_an_output_that_is_its_input(classifier_dir: Path, tmp_path: Path) -> None:
    ran = run_m2v("predict", "-m", str(classifier_dir), "--text", "hi", "--threshold", "1")
    assert ran.returncode == 1 and b"threshold must be between 0 and 1" in ran.stderr
    data = write_jsonl(tmp_path / "in.jsonl", topic_rows(5))
    before = data.read_bytes()
    ran = run_m2v("predict", "-m", str(classifier_dir), str(data), "-o", str(data))
    assert ran.returncode == 1 and data.read_bytes() == before


def test_evaluate_data_reports_accuracy_macro_f1_and_per_label_scores(classifier_dir: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "test.jsonl", topic_rows(90, seed=6))
    ran = run_m2v("evaluate", "-m", str(classifier_dir), "--data", str(data), "--format", "json")
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert report["accuracy"] > 0.9 and report["texts"] == 90
    assert [s["label"] for s in report["per_label"]] == ["animals", "danger", "films"]
    assert [s["support"] for s in report["per_label"]] == [30, 30, 30]
    ran = run_m2v("evaluate", "-m", str(classifier_dir), "--data", str(data))
    assert ran.returncode == 0 and b"accuracy" in ran.stdout and b"macro" in ran.stdout
    unseen = write_jsonl(tmp_path / "unseen.jsonl", [{"text": "the cat", "label": "sports"}])
    ran = run_m2v("evaluate", "-m", str(classifier_dir), "--data", str(unseen))
    assert ran.returncode == 1 and b"the test data has label 'sports'" in ran.stderr
    ran = run_m2v("evaluate", "-m", str(classifier_dir), "--data", str(data), "--tasks", "WordSim353")
    assert ran.returncode == 2 and b"--tasks apply to tasks" in ran.stderr


def test_training_over_a_model_says_it_replaced_it(model_dir: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", topic_rows())
    first = run_m2v("train", "-m", str(model_dir), "--data", str(data), "-o", str(tmp_path / "c"), *FAST)
    assert first.returncode == 0 and b"Replaced" not in first.stderr
    again = run_m2v("train", "-m", str(model_dir), "--data", str(data), "-o", str(tmp_path / "c"), *FAST)
    assert again.returncode == 0 and f"Replaced the model that was in {tmp_path / 'c'}.".encode() in again.stderr


def test_predict_refuses_standard_output_redirected_onto_its_input(classifier_dir: Path, tmp_path: Path) -> None:
    from m2vcli.classify.predict import PredictConfig, predict_texts
    from m2vcli.errors import InputError, OutputError

    data = write_jsonl(tmp_path / "in.jsonl", topic_rows(5))
    before = data.read_bytes()
    with data.open("ab") as appended, pytest.raises((InputError, OutputError), match="standard output"):
        predict_texts(PredictConfig(model=str(classifier_dir), input=str(data)), stdout=appended)
    assert data.read_bytes() == before
