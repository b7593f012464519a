"""``StaticClassifier``: a static model with a classification head. Encode, then the head, in numpy.

The folder is a normal static model (``m2v encode`` and model2vec's ``StaticModel`` use its table) plus
``head.safetensors`` and ``head_config`` in ``config.json`` (``m2vcli.model.head``); model2vec's
``StaticModelPipeline`` loads it. m2v keeps its own settings under the config's ``classifier`` key: the
multi-label threshold and what training did.

Usage::

    clf = StaticClassifier.from_pretrained("my_classifier")
    clf.predict(["Cheap pills, click here", "Lunch at noon?"])   # array(['spam', 'ham'], dtype=object)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.classify.labels import LabelSet
from m2vcli.classify.metrics import Report, classification_report
from m2vcli.errors import ModelFormatError
from m2vcli.model import StaticEmbedder, persistence
from m2vcli.model.head import HEAD_FILE, Activation, Head, head_config, read_head

DEFAULT_THRESHOLD = 0.5


def check_threshold(threshold: float, name: str = "threshold") -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 < threshold < 1.0:
        from m2vcli.errors import ConfigError

        raise ConfigError(f"{name} must be between 0 and 1 (both excluded), got {threshold!r}", key="threshold")
    return float(threshold)


class StaticClassifier:
    """A static model (``embedder``) and a head over its vectors, with the classes the head's outputs name."""

    def __init__(
        self,
        embedder: StaticEmbedder,
        head: Head,
        classes: Sequence[Any],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        record: dict[str, Any] | None = None,
    ) -> None:
        if head.dim != embedder.dim:
            raise ModelFormatError(f"the head takes {head.dim}-dim vectors but the model gives {embedder.dim}")
        if head.outputs != len(classes):
            raise ModelFormatError(f"the head gives {head.outputs} outputs for {len(classes)} classes")
        self.embedder = embedder
        self.head = head
        self.classes = list(classes)
        self.threshold = check_threshold(threshold)
        self.record = dict(record or {})

    @property
    def multilabel(self) -> bool:
        return self.head.activation is Activation.SIGMOID

    @property
    def labels(self) -> LabelSet:
        return LabelSet(self.classes, self.multilabel)

    def __repr__(self) -> str:
        kind = "multi-label" if self.multilabel else "single-label"
        return f"StaticClassifier({len(self.classes)} classes, {kind}, dim={self.embedder.dim})"

    # ----- loading and saving -------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike[str], *, revision: str | None = None, token: str | None = None
    ) -> StaticClassifier:
        """Load a classifier folder (m2v's or model2vec's ``StaticModelPipeline``), or a hub id."""
        folder = persistence.resolve_model_folder(path, revision=revision, token=token)
        if not (folder / HEAD_FILE).is_file():
            if (folder / "pipeline.skops").exists():
                raise ModelFormatError(
                    f"{path} holds an old model2vec pipeline (pipeline.skops, a pickle m2v does not load); "
                    "convert it with model2vec's convert_legacy_pipeline and save it again"
                )
            raise ModelFormatError(
                f"{path} is a static model without a classifier head; train one: m2v train -m {path} --data FILE"
            )
        embedder = StaticEmbedder.from_pretrained(folder)  # a local folder now: nothing is fetched again
        head, classes = read_head(folder, embedder.config, embedder.dim)
        extra = embedder.config.get("classifier")
        extra = extra if isinstance(extra, dict) else {}
        threshold = extra.get("threshold", DEFAULT_THRESHOLD)
        try:
            threshold = check_threshold(threshold)
        except Exception as exc:
            raise ModelFormatError(f"{folder / 'config.json'}: classifier {exc}") from exc
        record = extra.get("training") if isinstance(extra.get("training"), dict) else None
        return cls(embedder, head, classes, threshold=threshold, record=record)

    def push_to_hub(
        self, repo_id: str, *, private: bool = False, revision: str | None = None, token: str | None = None
    ) -> str:
        """Upload the classifier folder to the hub as ``repo_id``; returns the commit's URL (``m2v push``)."""
        import tempfile

        from m2vcli.model.sharing import push_folder

        with tempfile.TemporaryDirectory(prefix="m2v-push-") as folder:
            self.save_pretrained(Path(folder) / "model")
            return push_folder(Path(folder) / "model", repo_id, private=private, revision=revision, token=token).url

    def save_pretrained(self, path: str | os.PathLike[str], *, force: bool = False) -> None:
        """Write the classifier folder atomically: the static model, its head and the head's config."""
        from safetensors.numpy import save_file

        from m2vcli.files import umask_mode

        def write_head(folder: Path) -> None:
            save_file(self.head.tensors(), str(folder / HEAD_FILE))
            (folder / HEAD_FILE).chmod(umask_mode(0o666))

        extra = {
            "head_config": head_config(self.head, self.classes),
            "classifier": {"threshold": self.threshold, **({"training": self.record} if self.record else {})},
        }
        self.embedder.write_folder(Path(path), force=force, extra_config=extra, extra_files=write_head)

    # ----- predicting ---------------------------------------------------------------------------

    def predict_proba(self, texts: str | Sequence[str], *, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities, (texts, classes) float32: softmax rows, or one sigmoid per class."""
        many = [texts] if isinstance(texts, str) else list(texts)
        if not many:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return np.concatenate(list(self.probabilities_stream(many, batch_size=batch_size)))

    def probabilities_stream(self, texts: Sequence[str], *, batch_size: int = 1024) -> Iterator[np.ndarray]:
        for vectors in self.embedder.encode_batches(texts, batch_size=batch_size):
            yield self.head.probabilities(vectors)

    def decide(self, probabilities: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Labels from probabilities: the likeliest class, or (multi-label) a list of every class past
        ``threshold`` (default: the classifier's)."""
        out = np.empty(len(probabilities), dtype=object)
        classes = np.asarray(self.classes, dtype=object)
        if self.multilabel:
            cut = self.threshold if threshold is None else check_threshold(threshold)
            for i, row in enumerate(probabilities > cut):
                out[i] = classes[row].tolist()
        else:
            out[:] = classes[probabilities.argmax(axis=1)]
        return out

    def predict(
        self, texts: str | Sequence[str], *, threshold: float | None = None, batch_size: int = 1024
    ) -> np.ndarray:
        """One label per text (an object array), or a list of labels per text for a multi-label classifier."""
        return self.decide(self.predict_proba(texts, batch_size=batch_size), threshold)

    def evaluate(self, texts: Sequence[str], labels: Sequence[Any], *, threshold: float | None = None) -> Report:
        """Accuracy, macro-F1 and per-label scores on labelled texts; a label the classifier does not know
        is an ``InputError``."""
        from m2vcli.errors import InputError

        if len(texts) != len(labels):
            raise InputError(f"there are {len(texts)} texts but {len(labels)} labels")
        known = self.labels
        known.check(labels, None, "test data")
        probabilities = self.predict_proba(texts)
        if self.multilabel:
            truth = known.multi_hot(labels)
            cut = self.threshold if threshold is None else check_threshold(threshold)
            guess = probabilities > cut
        else:
            truth = np.eye(len(self.classes), dtype=bool)[known.indexes(labels)]
            guess = np.eye(len(self.classes), dtype=bool)[probabilities.argmax(axis=1)]
        return classification_report(truth, guess, self.classes, multilabel=self.multilabel)

    def encode(self, texts: str | Sequence[str], **settings: Any) -> np.ndarray:
        """The static model's vectors (what the head reads)."""
        return self.embedder.encode(texts, **settings)
