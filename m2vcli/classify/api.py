"""``m2vcli.train_classifier``: the Python side of ``m2v train``, every setting a typed keyword (a test holds
them equal to ``ClassifierSettings``), model2vec's ``fit`` names accepted where they mean the same thing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from m2vcli.errors import ConfigError, InputError
from m2vcli.model import StaticEmbedder

if TYPE_CHECKING:
    from m2vcli.classify.classifier import StaticClassifier
    from m2vcli.classify.train import ClassWeight

# model2vec's StaticModelForClassification.fit keyword -> m2v's
FIT_NAMES = {
    "max_epochs": "epochs",
    "early_stopping_patience": "patience",
    "test_size": "validation_share",
    "X_val": "validation_texts",
    "y_val": "validation_labels",
    "random_seed": "seed",
    "show_progress": "show_progress_bar",
}
FIT_NO_COUNTERPART = {
    "min_epochs": "m2v stops on validation accuracy alone; raise patience to train longer",
    "focal_gamma": "m2v has no focal loss; pass class_weight='balanced' for imbalanced labels",
    "token_dropout": "m2v has no token dropout",
    "device": "m2v trains classifiers on the CPU (a few seconds to a minute)",
    "validation_steps": "m2v validates once per epoch",
}


def _texts(values: Any, name: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InputError(f"{name} must be a list of strings, not {type(values).__name__}")
    bad = next((i for i, t in enumerate(values) if not isinstance(t, str)), None)
    if bad is not None:
        raise InputError(f"{name}[{bad}] is {type(values[bad]).__name__}, not a string")
    blank = next((i for i, t in enumerate(values) if not t.strip()), None)
    if blank is not None:
        raise InputError(f"{name}[{blank}] is blank; a classifier cannot learn from it (remove it)")
    return list(values)


def _labels(values: Any, name: str) -> list[Any]:
    if hasattr(values, "tolist"):  # a numpy array
        values = values.tolist()
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InputError(f"{name} must be a list of labels, not {type(values).__name__}")
    return [list(v) if isinstance(v, tuple) else v for v in values]


def train_classifier(
    model: str | Path | StaticEmbedder,
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    validation_texts: Sequence[str] | None = None,
    validation_labels: Sequence[Any] | None = None,
    epochs: int = 30,
    patience: int = 3,
    learning_rate: float = 1e-3,
    batch_size: int | None = None,
    hidden_dim: int = 512,
    layers: int = 1,
    freeze: bool = False,
    class_weight: ClassWeight | str = "none",
    validation_share: float = 0.1,
    threshold: float = 0.5,
    seed: int = 0,
    save_path: str | Path | None = None,
    force: bool = False,
    show_progress_bar: bool | None = None,
    **model2vec_names: Any,
) -> StaticClassifier:
    """Train a classifier on a static model: its token table and a small head, fine-tuned together.

    Args:
        model: the static model to start from: a folder, a hub id, or a ``StaticEmbedder``.
        texts: the training texts.
        labels: one label per text (text or whole numbers), or a list of labels per text (multi-label).
        validation_texts, validation_labels: data to pick the best epoch on (default: a seeded, stratified
            ``validation_share`` of ``texts``).
        epochs: passes over the data at most; training stops after ``patience`` epochs without a better
            validation accuracy, and the best epoch's weights are kept.
        learning_rate, batch_size: Adam's step size; texts per step (default: from the number of texts).
        hidden_dim, layers: the head: ``layers`` hidden layers of ``hidden_dim`` (0: one linear layer).
        freeze: train the head alone; the token table stays as it is.
        class_weight: ``"balanced"`` weighs each class alike in the loss, however rare.
        threshold: multi-label: a class is predicted past this probability.
        seed: the split and training.
        save_path: also save the classifier there (atomically); ``force`` replaces a folder that is not a model.
        show_progress_bar: a line per epoch on stderr (default: when stderr is a terminal).

    Returns:
        A ``StaticClassifier`` with ``predict``, ``predict_proba``, ``evaluate`` and ``save_pretrained``.

    Example::

        clf = train_classifier("my_model", texts, labels)   # texts: list of str; labels: one per text
        clf.predict(["a great film"])                        # array(['pos'], dtype=object)
    """
    given = dict(locals())
    from m2vcli.api import _progress_on, _renamed
    from m2vcli.classify.train import ClassifierSettings, describe_epoch, fit_classifier
    from m2vcli.extras import require

    require("distill", "training a classifier")  # torch
    given.update(_renamed(train_classifier, given.pop("model2vec_names"), given, FIT_NAMES, FIT_NO_COUNTERPART))
    show = _progress_on(given.pop("show_progress_bar"))
    texts = _texts(given["texts"], "texts")
    labels = _labels(given["labels"], "labels")
    validation = None
    val_texts, val_labels = given["validation_texts"], given["validation_labels"]
    if (val_texts is None) != (val_labels is None):
        raise InputError("pass validation_texts and validation_labels together, or neither")
    if val_texts is not None:
        validation = (_texts(val_texts, "validation_texts"), _labels(val_labels, "validation_labels"), None)
    model = given["model"]
    if isinstance(model, (str, Path)):
        from m2vcli.classify.job import check_start_model

        check_start_model(str(model))
        model = StaticEmbedder.from_pretrained(model)
    elif not isinstance(model, StaticEmbedder):
        raise ConfigError(f"model must be a path, a hub id or a StaticEmbedder, not {type(model).__name__}")
    names = ClassifierSettings.__dataclass_fields__
    settings = ClassifierSettings(**{k: given[k] for k in names})
    on_epoch = None
    if show:
        from m2vcli.console import err_console

        def on_epoch(record: dict[str, float]) -> None:
            err_console().print(describe_epoch(record), markup=False)

    fit = fit_classifier(model, texts, labels, settings, validation=validation, on_epoch=on_epoch)
    if given["save_path"] is not None:
        fit.classifier.save_pretrained(given["save_path"], force=given["force"])
    return fit.classifier
