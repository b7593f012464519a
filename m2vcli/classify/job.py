"""``m2v train``: the settings, and the run: check everything that can be checked, read the labelled data,
train, save. Nothing is written until training has finished; an interrupted run writes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from m2vcli.classify.train import ClassifierSettings, FitResult, fit_classifier
from m2vcli.config import coerce_enum
from m2vcli.errors import InputError, MissingValueError, ModelFormatError
from m2vcli.texts import InputFormat

if TYPE_CHECKING:
    from m2vcli.classify.classifier import StaticClassifier
    from m2vcli.classify.metrics import Report

OnPhase = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig(ClassifierSettings):
    """Settings of ``m2v train``: the static model to start from, the data, where to save."""

    model: str | None = None
    data: str | None = None
    validation: str | None = None  # default: a seeded, stratified share of the data
    text_field: str = "text"
    label_field: str = "label"
    input_format: InputFormat | None = None  # default: from each file's extension
    save_path: str | None = None
    force: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        coerce_enum(self, "input_format", InputFormat)
        if not self.model:
            raise MissingValueError("no model given: pass --model/-m FOLDER (a static model)", option="--model")
        if not self.data:
            raise MissingValueError(
                "no training data given: pass --data FILE (JSON lines, CSV or Parquet)", option="--data"
            )
        if not self.save_path:
            raise MissingValueError("no output folder given: pass --save-path/-o FOLDER", option="--save-path")

    def settings(self) -> ClassifierSettings:
        names = {f.name for f in fields(ClassifierSettings)}
        return ClassifierSettings(**{name: getattr(self, name) for name in names})


@dataclass
class TrainResult:
    fit: FitResult
    save_path: str
    data: str
    validation: str | None
    timings: dict[str, float] = field(default_factory=dict)


def check_start_model(path: str) -> None:
    """A classifier's folder is not a starting point: its head would be thrown away without a word."""
    from m2vcli.model.folder import is_classifier

    folder = Path(path)
    if folder.is_dir() and is_classifier(folder):
        raise ModelFormatError(
            f"{path} is already a classifier; train from the static model it was made from "
            "(m2v encode and m2v predict use this one as it is)"
        )


def run_training(
    cfg: TrainConfig,
    *,
    on_phase: OnPhase | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train and save a classifier as ``cfg`` says."""
    from m2vcli.classify.data import read_labelled
    from m2vcli.classify.labels import LabelSet
    from m2vcli.extras import require
    from m2vcli.files import local_path
    from m2vcli.model import StaticEmbedder
    from m2vcli.model.persistence import check_model_target

    phase = on_phase or (lambda name: None)
    assert cfg.model and cfg.data and cfg.save_path
    require("distill", "training a classifier")  # torch
    reads = [local_path(cfg.model), local_path(cfg.data), local_path(cfg.validation)]
    check_model_target(Path(cfg.save_path), force=cfg.force, reads=reads)
    check_start_model(cfg.model)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    phase("Reading the data")
    data = read_labelled(
        cfg.data, text_field=cfg.text_field, label_field=cfg.label_field, input_format=cfg.input_format
    )
    held = None
    if cfg.validation:
        held = read_labelled(
            cfg.validation,
            text_field=cfg.text_field,
            label_field=cfg.label_field,
            input_format=cfg.input_format,
            what="validation data",
        )
    labels = LabelSet.from_values(data.labels, data.wheres, field=cfg.label_field)  # before any heavy work
    if held is not None:
        labels.check(held.labels, held.wheres, "validation data", field=cfg.label_field)
    timings["read"] = time.perf_counter() - started
    phase("Loading the model")
    model = StaticEmbedder.from_pretrained(cfg.model)
    phase("Training")
    started = time.perf_counter()
    fit = fit_classifier(
        model,
        data.texts,
        data.labels,
        cfg.settings(),
        wheres=data.wheres,
        validation=None if held is None else (held.texts, held.labels, held.wheres),
        on_epoch=on_epoch,
    )
    timings["train"] = time.perf_counter() - started
    if not fit.history:
        raise InputError("training ran no epoch")
    started = time.perf_counter()
    fit.classifier.save_pretrained(cfg.save_path, force=cfg.force)
    timings["save"] = time.perf_counter() - started
    return TrainResult(fit=fit, save_path=cfg.save_path, data=cfg.data, validation=cfg.validation, timings=timings)


def evaluate_classifier(
    model: str,
    data: str,
    *,
    text_field: str = "text",
    label_field: str = "label",
    input_format: InputFormat | None = None,
    threshold: float | None = None,
) -> tuple[Report, StaticClassifier]:
    """Score the classifier ``model`` on the labelled texts of ``data`` (``m2v evaluate --data``)."""
    from m2vcli.classify.classifier import StaticClassifier, check_threshold
    from m2vcli.classify.data import read_labelled

    if threshold is not None:
        check_threshold(threshold)
    classifier = StaticClassifier.from_pretrained(model)
    labelled = read_labelled(
        data, text_field=text_field, label_field=label_field, input_format=input_format, what="test data"
    )
    classifier.labels.check(labelled.labels, labelled.wheres, "test data")
    return classifier.evaluate(labelled.texts, labelled.labels, threshold=threshold), classifier
