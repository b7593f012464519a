"""Training, predicting, saving and loading classifiers on the tiny model; model2vec's pipeline loads them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder, train_classifier
from m2vcli.classify import StaticClassifier
from m2vcli.classify.train import ClassifierSettings, auto_batch_size, fit_classifier, stratified_split
from m2vcli.errors import ConfigError, InputError, ModelFormatError
from tests.helpers import tiny_model

ANIMALS = ["cat", "dog", "sat", "mat", "on", "the"]
FILMS = ["movie", "film", "great", "good", "bad", "a"]
DANGER = ["dangerous", "alone", "go", "to", "it", "is"]
FAST = {"hidden_dim": 16, "epochs": 15, "show_progress_bar": False}


def topic_texts(n: int = 240, seed: int = 0) -> tuple[list[str], list[str]]:
    """Texts of three topics that share some words: the words decide the topic."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        topic = ["animals", "films", "danger"][i % 3]
        words = {"animals": ANIMALS, "films": FILMS, "danger": DANGER}[topic]
        texts.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 7))) + " hello world")
        labels.append(topic)
    return texts, labels


@pytest.fixture(scope="module")
def trained() -> tuple[StaticClassifier, list[str], list[str]]:
    texts, labels = topic_texts()
    return train_classifier(tiny_model(dim=16), texts, labels, **FAST), texts, labels  # type: ignore[arg-type]


def test_a_trained_classifier_tells_the_topics_apart(trained: tuple[StaticClassifier, list[str], list[str]]) -> None:
    clf, _, _ = trained
    test, truth = topic_texts(90, seed=5)
    report = clf.evaluate(test, truth)
    assert report.accuracy > 0.95 and report.macro_f1 > 0.95
    assert clf.classes == ["animals", "danger", "films"] and not clf.multilabel
    probabilities = clf.predict_proba(test)
    assert probabilities.shape == (90, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert list(clf.predict(["the cat sat on the mat"])) == ["animals"]
    assert clf.record["best_epoch"] >= 1 and clf.record["texts"]["validation"] == 24


def test_training_beats_the_frozen_table_on_words_the_table_cannot_tell_apart() -> None:
    # Random vectors: a linear head on the frozen table does what it can; training the rows does better.
    texts, labels = topic_texts(300, seed=1)
    test, truth = topic_texts(150, seed=7)
    model = tiny_model(dim=4, seed=3)
    frozen = train_classifier(model, texts, labels, freeze=True, layers=0, **FAST)  # type: ignore[arg-type]
    tuned = train_classifier(model, texts, labels, layers=0, **FAST)  # type: ignore[arg-type]
    assert tuned.evaluate(test, truth).accuracy > frozen.evaluate(test, truth).accuracy
    assert np.array_equal(frozen.embedder.embeddings, model.embeddings)  # --freeze leaves the table alone
    assert not np.array_equal(tuned.embedder.embeddings, model.embeddings)


def test_a_saved_classifier_predicts_the_same_and_is_a_static_model(
    trained: tuple[StaticClassifier, list[str], list[str]], tmp_path: Path
) -> None:
    clf, texts, _ = trained
    clf.save_pretrained(tmp_path / "clf")
    loaded = StaticClassifier.from_pretrained(tmp_path / "clf")
    assert np.array_equal(loaded.predict_proba(texts), clf.predict_proba(texts))
    config = json.loads((tmp_path / "clf" / "config.json").read_text())
    assert config["head_config"] == {"n_layers": 2, "activation": "softmax", "classes": ["animals", "danger", "films"]}
    encoder = StaticEmbedder.from_pretrained(tmp_path / "clf")  # the folder stays a static model
    assert np.allclose(encoder.encode(texts[:5]), clf.encode(texts[:5]))


def test_model2vecs_pipeline_loads_the_folder_and_predicts_the_same(
    trained: tuple[StaticClassifier, list[str], list[str]], tmp_path: Path
) -> None:
    from model2vec.inference import StaticModelPipeline

    clf, texts, _ = trained
    clf.save_pretrained(tmp_path / "clf")
    pipeline = StaticModelPipeline.from_pretrained(tmp_path / "clf")
    odd = [*texts[:50], "", "zzzz qqqq", "hello " * 1000]  # empty, all-unknown, past max_length
    assert np.allclose(pipeline.predict_proba(odd), clf.predict_proba(odd), atol=1e-5)
    assert list(pipeline.predict(odd)) == list(clf.predict(odd))


def test_multi_label_training_predicts_lists_and_the_threshold_moves_them(tmp_path: Path) -> None:
    from model2vec.inference import StaticModelPipeline

    texts, topics = topic_texts(600, seed=2)
    rng = random.Random(0)
    pairs = []
    for _ in range(400):  # one or two texts, labelled with their topics
        picked = rng.sample(range(600), rng.choice([1, 1, 2]))
        pairs.append((" ".join(texts[j] for j in picked), sorted({topics[j] for j in picked})))
    clf = train_classifier(tiny_model(dim=16), [p[0] for p in pairs], [p[1] for p in pairs], **FAST)  # type: ignore[arg-type]
    assert clf.multilabel and clf.classes == ["animals", "danger", "films"]
    guess = clf.predict(["the cat sat on the mat", "a great movie"])
    assert list(guess[0]) == ["animals"] and list(guess[1]) == ["films"]
    assert all(len(g) == 3 for g in clf.predict(["the cat"], threshold=0.0001))
    clf.save_pretrained(tmp_path / "tagger")
    pipeline = StaticModelPipeline.from_pretrained(tmp_path / "tagger")
    assert [list(x) for x in pipeline.predict(texts[:40])] == [list(x) for x in clf.predict(texts[:40])]


def test_number_labels_train_and_come_back_as_numbers() -> None:
    texts, labels = topic_texts()
    numbers = [{"animals": 0, "danger": 1, "films": 2}[label] for label in labels]
    clf = train_classifier(tiny_model(dim=16), texts, numbers, **FAST)  # type: ignore[arg-type]
    assert clf.classes == [0, 1, 2] and clf.predict(["the cat sat on the mat hello world"])[0] == 0


def test_given_validation_data_is_used_and_an_unseen_label_in_it_is_refused() -> None:
    texts, labels = topic_texts()
    held, held_labels = topic_texts(30, seed=9)
    clf = train_classifier(
        tiny_model(dim=16), texts, labels, validation_texts=held, validation_labels=held_labels, **FAST
    )  # type: ignore[arg-type]
    assert clf.record["texts"] == {"train": 240, "validation": 30}
    with pytest.raises(InputError, match="the validation data has label 'sports'"):
        train_classifier(tiny_model(), texts, labels, validation_texts=["a"], validation_labels=["sports"], **FAST)  # type: ignore[arg-type]


def test_class_weights_balance_a_rare_class() -> None:
    texts, labels = topic_texts(300, seed=4)
    rare = [(t, y) for t, y in zip(texts, labels, strict=True) if y != "danger"] + [
        (t, y) for t, y in zip(texts, labels, strict=True) if y == "danger"
    ][:8]
    settings = ClassifierSettings(hidden_dim=16, epochs=10, class_weight="balanced", layers=0)  # type: ignore[arg-type]
    fit = fit_classifier(tiny_model(dim=4, seed=1), [t for t, _ in rare], [y for _, y in rare], settings)
    assert fit.class_counts == {"animals": 100, "danger": 8, "films": 100}
    test, truth = topic_texts(90, seed=8)
    scores = {s.label: s.recall for s in fit.classifier.evaluate(test, truth).per_label}
    assert scores["danger"] > 0.5


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        (["a", "b", "c"], ["x", "y"], "3 texts but 2 labels"),
        (["the cat"] * 20, ["x"] * 20, "one class"),
        (["the cat"] * 3, ["x", "y", "x"], "at least 8"),
        (["the cat"] * 10, ["x"] * 9 + ["y"], r"every class needs at least 2 texts.*'y' \(1\)"),
        (["the cat", "   ", *["a dog"] * 8], ["x", "y"] * 5, r"texts\[1\] is blank"),
        (["the cat", 5, *["a dog"] * 8], ["x", "y"] * 5, r"texts\[1\] is int, not a string"),
        ("the cat", ["x"], "texts must be a list of strings, not str"),
    ],
)
def test_bad_training_data_is_a_one_line_error(texts: object, labels: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        train_classifier(tiny_model(), texts, labels, **FAST)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setting", "value"),
    [("threshold", 0.0), ("threshold", 1.0), ("threshold", 1.5), ("epochs", 0), ("learning_rate", 2.0),
     ("validation_share", 0.0), ("layers", -1), ("class_weight", "heavy"), ("seed", 2**40)],
)  # fmt: skip
def test_a_setting_out_of_range_is_refused_before_training(setting: str, value: object) -> None:
    with pytest.raises(ConfigError, match=setting.split("_")[0]):
        ClassifierSettings(**{setting: value})  # type: ignore[arg-type]


def test_model2vecs_fit_names_are_accepted_and_others_named() -> None:
    texts, labels = topic_texts()
    clf = train_classifier(
        tiny_model(dim=16),
        texts,
        labels,
        max_epochs=2,
        early_stopping_patience=1,
        test_size=0.2,
        hidden_dim=8,
        show_progress_bar=False,
    )  # type: ignore[arg-type]
    assert clf.record["epochs"] <= 2 and clf.record["texts"]["validation"] == 48
    with pytest.raises(TypeError, match="m2v has no focal loss"):
        train_classifier(tiny_model(), texts, labels, focal_gamma=2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="did you mean 'patience'"):
        train_classifier(tiny_model(), texts, labels, patiance=2)  # type: ignore[arg-type]


def test_a_plain_model_is_not_a_classifier_and_a_classifier_is_not_a_start(
    tiny_model_dir: Path, trained: tuple[StaticClassifier, list[str], list[str]], tmp_path: Path
) -> None:
    with pytest.raises(ModelFormatError, match="a static model without a classifier head; train one"):
        StaticClassifier.from_pretrained(tiny_model_dir)
    trained[0].save_pretrained(tmp_path / "clf")
    with pytest.raises(ModelFormatError, match="is already a classifier"):
        train_classifier(tmp_path / "clf", ["a"] * 10, ["x", "y"] * 5, **FAST)


def test_a_damaged_head_is_a_one_line_error(
    trained: tuple[StaticClassifier, list[str], list[str]], tmp_path: Path
) -> None:
    from safetensors.numpy import save_file

    folder = tmp_path / "clf"
    trained[0].save_pretrained(folder)
    (folder / "head.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(ModelFormatError, match=r"head\.safetensors"):
        StaticClassifier.from_pretrained(folder)
    save_file(
        {"head.0.weight": np.zeros((3, 5), np.float32), "head.0.bias": np.zeros(3, np.float32)},
        str(folder / "head.safetensors"),
    )
    config = json.loads((folder / "config.json").read_text())
    config["head_config"]["n_layers"] = 1
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="layer 0 has shape"):
        StaticClassifier.from_pretrained(folder)
    config["head_config"]["classes"] = ["a", 1]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="classes must be a list of distinct labels"):
        StaticClassifier.from_pretrained(folder)


def test_a_model_saved_over_a_classifier_leaves_no_head_behind(
    trained: tuple[StaticClassifier, list[str], list[str]], tmp_path: Path
) -> None:
    folder = tmp_path / "clf"
    trained[0].save_pretrained(folder)
    tiny_model().save_pretrained(folder)
    assert not (folder / "head.safetensors").exists()
    with pytest.raises(ModelFormatError, match="without a classifier head"):
        StaticClassifier.from_pretrained(folder)


def test_the_split_is_stratified_seeded_and_keeps_a_rare_class_in_both() -> None:
    targets = np.array([0] * 50 + [1] * 5 + [2] * 2)
    train, held = stratified_split(targets, 0.1, seed=0)
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(57))
    assert set(targets[held]) == {0, 1, 2} and set(targets[train]) == {0, 1, 2}
    again = stratified_split(targets, 0.1, seed=0)
    assert np.array_equal(again[1], held)
    assert auto_batch_size(100) == 32 and auto_batch_size(10**6) == 512


def test_the_encoder_of_a_classifier_saves_as_a_plain_model(
    trained: tuple[StaticClassifier, list[str], list[str]], tmp_path: Path
) -> None:
    from m2vcli.model.folder import is_classifier

    trained[0].save_pretrained(tmp_path / "clf")
    for model in (
        StaticEmbedder.from_pretrained(tmp_path / "clf"),
        StaticClassifier.from_pretrained(tmp_path / "clf").embedder,
    ):
        model.save_pretrained(tmp_path / "plain")
        config = json.loads((tmp_path / "plain" / "config.json").read_text())
        assert "head_config" not in config and "classifier" not in config
        assert not is_classifier(tmp_path / "plain")
