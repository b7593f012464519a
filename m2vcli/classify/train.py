"""Training a classifier on a static model: the token table and a small head, together, with torch.

A text's vector is what ``StaticEmbedder.encode`` gives (the mean of its tokens' rows, normalized when the
model normalizes), so the saved classifier predicts exactly what was validated. Only the rows of tokens the
data uses are trained (the optimizer's work scales with them, not with the vocabulary); with ``freeze``
the table stays as it is and only the head learns, from vectors encoded once.

A seeded, stratified share of the training texts (or the given validation data) is held out; training
stops when its accuracy has not improved for ``patience`` epochs, and the weights of the best epoch are
the ones kept (ties go to the lower validation loss).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from m2vcli.classify.classifier import StaticClassifier, check_threshold
from m2vcli.classify.labels import LabelSet
from m2vcli.errors import ConfigError, InputError
from m2vcli.model import StaticEmbedder
from m2vcli.model.head import Activation, Head
from m2vcli.refinement.storage import Ragged

MAX_SEED = 2**32 - 1
MIN_TEXTS = 4  # per class, at the least, to train and validate on


class ClassWeight(str, Enum):
    NONE = "none"
    BALANCED = "balanced"  # each class weighs as much in the loss as every other, however rare


@dataclass(frozen=True)
class ClassifierSettings:
    """How a classifier is trained (``m2v train`` and ``m2vcli.train_classifier`` share these)."""

    epochs: int = 30  # at most; early stopping usually ends sooner
    patience: int = 3  # epochs without a better validation accuracy before stopping
    learning_rate: float = 1e-3
    batch_size: int | None = None  # None: from the number of texts (32 to 512)
    hidden_dim: int = 512
    layers: int = 1  # hidden layers of the head; 0: one linear layer
    freeze: bool = False  # train the head alone
    class_weight: ClassWeight = ClassWeight.NONE
    validation_share: float = 0.1  # held out when no validation data is given
    threshold: float = 0.5  # multi-label: a class is predicted past this probability
    seed: int = 0

    def __post_init__(self) -> None:
        from m2vcli.config import coerce_enum

        coerce_enum(self, "class_weight", ClassWeight)
        for name, low in (("epochs", 1), ("patience", 1), ("hidden_dim", 1), ("layers", 0), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be a whole number of at least {low}, got {value!r}", key=name)
        if self.seed > MAX_SEED:
            raise ConfigError(f"seed must be a whole number from 0 to {MAX_SEED}, got {self.seed!r}", key="seed")
        size = self.batch_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ConfigError(f"batch_size must be a whole number of at least 1, got {size!r}", key="batch_size")
        rate = self.learning_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 1:
            raise ConfigError(f"learning_rate must be between 0 and 1 (exclusive), got {rate!r}", key="learning_rate")
        share = self.validation_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
            raise ConfigError(
                f"validation_share must be between 0 and 1 (exclusive), got {share!r}", key="validation_share"
            )
        check_threshold(self.threshold)


@dataclass
class FitResult:
    classifier: StaticClassifier
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    texts: dict[str, int] = field(default_factory=dict)
    class_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def best(self) -> dict[str, float]:
        return self.history[self.best_epoch - 1] if self.best_epoch else {}

    @property
    def still_improving(self) -> bool:
        """The last epoch was the best and raised the validation accuracy itself (not only the loss, at
        an accuracy already reached): training ended at its epoch limit while still learning."""
        if not self.history or self.best_epoch != len(self.history):
            return False
        if len(self.history) == 1:
            return True
        before = self.history[-2].get("validation_accuracy", 0.0)
        return self.history[-1].get("validation_accuracy", 0.0) > before


OnEpoch = Callable[[dict[str, float]], None]


def describe_epoch(record: dict[str, float]) -> str:
    """One epoch as a line of text.

    >>> record = {"train_loss": 0.5, "validation_loss": 0.25, "validation_accuracy": 0.9, "seconds": 1.5}
    >>> describe_epoch({"epoch": 2, **record})
    'epoch 2: train loss 0.5000, validation loss 0.2500, accuracy 90.00% (1.5 s)'
    """
    return (
        f"epoch {record['epoch']:.0f}: train loss {record['train_loss']:.4f}, validation loss "
        f"{record['validation_loss']:.4f}, accuracy {record['validation_accuracy']:.2%} ({record['seconds']:.1f} s)"
    )


def auto_batch_size(n: int) -> int:
    """Texts per step: about n/30 rounded down to a multiple of 32, from 32 to 512.

    >>> auto_batch_size(500), auto_batch_size(20_000), auto_batch_size(1_000_000)
    (32, 512, 512)
    """
    return int(min(max(1, (n // 30) // 32), 16) * 32)


def stratified_split(targets: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) indexes with ``share`` of each class held out (at least one of every
    class with two or more texts); multi-label rows (2-D targets) are split at random."""
    rng = np.random.default_rng(seed)
    if targets.ndim == 2:
        order = rng.permutation(len(targets))
        cut = max(1, round(len(targets) * share))
        return np.sort(order[cut:]), np.sort(order[:cut])
    train: list[np.ndarray] = []
    kept: list[np.ndarray] = []
    for label in np.unique(targets):
        members = rng.permutation(np.flatnonzero(targets == label))
        cut = max(1, round(len(members) * share)) if len(members) > 1 else 0
        kept.append(members[:cut])
        train.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(kept))


def _check_sizes(labels: LabelSet, counts: np.ndarray, n: int) -> None:
    if n < MIN_TEXTS * 2:
        raise InputError(f"there are {n} labelled texts; training a classifier needs at least {MIN_TEXTS * 2}")
    if not labels.multilabel:
        rare = [(c, int(k)) for c, k in zip(labels.classes, counts, strict=True) if k < 2]
        if rare:
            shown = ", ".join(f"{c!r} ({k})" for c, k in rare[:5])
            raise InputError(f"every class needs at least 2 texts (one to train on, one to check); too few: {shown}")


def fit_classifier(
    embedder: StaticEmbedder,
    texts: Sequence[str],
    labels: Sequence[Any],
    settings: ClassifierSettings | None = None,
    *,
    wheres: Sequence[str] | None = None,
    validation: tuple[Sequence[str], Sequence[Any], Sequence[str] | None] | None = None,
    on_epoch: OnEpoch | None = None,
) -> FitResult:
    """Train a classifier of ``texts`` into ``labels`` on ``embedder``; see the module's docstring."""
    import torch

    settings = settings or ClassifierSettings()
    started = time.perf_counter()
    if len(texts) != len(labels):
        raise InputError(f"there are {len(texts)} texts but {len(labels)} labels; give one label per text")
    label_set = LabelSet.from_values(labels, wheres)
    n_train_given = len(texts)
    if validation is not None:
        val_texts, val_labels, val_wheres = validation
        if len(val_texts) != len(val_labels):
            raise InputError(f"the validation data has {len(val_texts)} texts but {len(val_labels)} labels")
        if not val_texts:
            raise InputError("the validation data holds no texts")
        label_set.check(val_labels, val_wheres, "validation data")
        all_texts = list(texts) + list(val_texts)
        all_labels = list(labels) + list(val_labels)
        train = np.arange(n_train_given)
        held = np.arange(n_train_given, len(all_texts))
    else:
        all_texts, all_labels = list(texts), list(labels)
    targets = label_set.multi_hot(all_labels) if label_set.multilabel else label_set.indexes(all_labels)
    counts = label_set.counts(labels)
    _check_sizes(label_set, counts, n_train_given)
    if validation is None:
        train, held = stratified_split(targets, settings.validation_share, settings.seed)

    torch.manual_seed(settings.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    model = _Trainable(embedder, all_texts, label_set, counts, settings)
    history: list[dict[str, float]] = []
    best: tuple[float, float] = (-math.inf, -math.inf)
    best_state = model.state()
    best_epoch, waited = 0, 0
    rng = np.random.default_rng(settings.seed)
    batch = settings.batch_size or auto_batch_size(len(train))
    for epoch in range(1, settings.epochs + 1):
        epoch_started = time.perf_counter()
        order = rng.permutation(train)
        running = 0.0
        for start in range(0, len(order), batch):
            chosen = order[start : start + batch]
            running += model.step(chosen, targets[chosen]) * len(chosen)
        val_loss, val_accuracy = model.validate(held, targets[held])
        record = {
            "epoch": float(epoch),
            "train_loss": running / max(1, len(order)),
            "validation_loss": val_loss,
            "validation_accuracy": val_accuracy,
            "seconds": time.perf_counter() - epoch_started,
        }
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if (val_accuracy, -val_loss) > best:
            best, best_epoch, waited = (val_accuracy, -val_loss), epoch, 0
            best_state = model.state()
        else:
            waited += 1
            if waited >= settings.patience:
                break
    classifier = model.classifier(best_state, settings.threshold)
    classifier.record = {
        "texts": {"train": len(train), "validation": len(held)},
        "epochs": len(history),
        "best_epoch": best_epoch,
        "validation_accuracy": round(best[0], 6),
        "freeze": settings.freeze,
        "class_weight": ClassWeight(settings.class_weight).value,
        "layers": settings.layers,
        "hidden_dim": settings.hidden_dim,
        "learning_rate": settings.learning_rate,
        "batch_size": batch,
        "seed": settings.seed,
    }
    return FitResult(
        classifier=classifier,
        history=history,
        best_epoch=best_epoch,
        texts={"train": len(train), "validation": len(held)},
        class_counts={str(c): int(k) for c, k in zip(label_set.classes, counts, strict=True)},
        seconds=time.perf_counter() - started,
    )


class _Trainable:
    """The trainable table rows (those the texts use), the head, the optimizer and the loss."""

    def __init__(
        self,
        embedder: StaticEmbedder,
        texts: list[str],
        labels: LabelSet,
        counts: np.ndarray,
        settings: ClassifierSettings,
    ) -> None:
        import torch

        self.embedder, self.labels, self.settings = embedder, labels, settings
        self.normalize = embedder.normalize
        if settings.freeze:
            self.vectors = torch.from_numpy(embedder.encode(texts, show_progress_bar=False))
            parameters: list[torch.nn.Parameter] = []
        else:
            ids = Ragged.from_rows([np.asarray(t, dtype=np.int64) for t in embedder.tokenize(texts)])
            self.seen = np.unique(ids.flat)
            lookup = np.full(embedder.vocab_size, -1, dtype=np.int64)
            lookup[self.seen] = np.arange(len(self.seen))
            self.ids = Ragged(lookup[ids.flat], ids.offsets)
            self.table = _token_table(embedder)
            self.rows = torch.nn.Parameter(torch.from_numpy(self.table[self.seen].copy()))
            parameters = [self.rows]
        self.head = _head(embedder.dim, len(labels), settings)
        self.optimizer = torch.optim.Adam([*parameters, *self.head.parameters()], lr=settings.learning_rate)
        weight = None
        if ClassWeight(settings.class_weight) is ClassWeight.BALANCED:
            present = np.maximum(counts, 1).astype(np.float64)
            if labels.multilabel:  # positives of a class against its negatives
                weight = torch.tensor((counts.sum() / len(counts)) / present, dtype=torch.float32)
            else:
                weight = torch.tensor(counts.sum() / (len(counts) * present), dtype=torch.float32)
        self.loss: torch.nn.Module
        if labels.multilabel:
            self.loss = torch.nn.BCEWithLogitsLoss(pos_weight=weight)
        else:
            self.loss = torch.nn.CrossEntropyLoss(weight=weight)

    def _vectors(self, chosen: np.ndarray) -> Any:
        import torch
        import torch.nn.functional as F

        if self.settings.freeze:
            return self.vectors[torch.from_numpy(chosen)]
        flat, offsets, lengths = self.ids.take(chosen)
        summed = F.embedding_bag(
            torch.from_numpy(flat.astype(np.int64)), self.rows, torch.from_numpy(offsets.astype(np.int64)), mode="sum"
        )
        vectors = summed / torch.from_numpy(np.maximum(lengths, 1).astype(np.float32))[:, None]
        return F.normalize(vectors, dim=1) if self.normalize else vectors

    def _targets(self, targets: np.ndarray) -> Any:
        import torch

        return torch.from_numpy(targets)

    def step(self, chosen: np.ndarray, targets: np.ndarray) -> float:
        self.head.train()
        loss = self.loss(self.head(self._vectors(chosen)), self._targets(targets))
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def validate(self, held: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
        import torch

        self.head.eval()
        total, right = 0.0, 0.0
        with torch.no_grad():
            for start in range(0, len(held), 4096):
                chosen = held[start : start + 4096]
                logits = self.head(self._vectors(chosen))
                gold = self._targets(targets[start : start + 4096])
                total += float(self.loss(logits, gold)) * len(chosen)
                if self.labels.multilabel:
                    guess = torch.sigmoid(logits) > self.settings.threshold
                    right += float((guess == gold.bool()).all(dim=1).sum())
                else:
                    right += float((logits.argmax(dim=1) == gold).sum())
        return total / max(1, len(held)), right / max(1, len(held))

    def state(self) -> tuple[Any, dict[str, Any]]:
        rows = None if self.settings.freeze else self.rows.detach().clone()
        return rows, {k: v.detach().clone() for k, v in self.head.state_dict().items()}

    def classifier(self, state: tuple[Any, dict[str, Any]], threshold: float) -> StaticClassifier:
        import torch

        rows, head_state = state
        self.head.load_state_dict(head_state)
        linears = [m for m in self.head if isinstance(m, torch.nn.Linear)]
        head = Head(
            [m.weight.detach().numpy().copy() for m in linears],
            [m.bias.detach().numpy().copy() for m in linears],
            Activation.SIGMOID if self.labels.multilabel else Activation.SOFTMAX,
        )
        embedder = self.embedder
        if rows is not None:
            table = self.table
            table[self.seen] = rows.numpy()
            embedder = _trained_embedder(embedder, table)
        return StaticClassifier(embedder, head, self.labels.classes, threshold=threshold)


def _token_table(embedder: StaticEmbedder) -> np.ndarray:
    """One float32 row per token id with the model's mapping and token weights folded in: the mean of a
    text's rows is the vector ``encode`` gives."""
    table = embedder.float_table()
    if embedder.mapping is not None:
        table = table[embedder.mapping[: embedder.vocab_size]]
    if embedder.weights is not None:
        table = table * embedder.weights[: len(table), None]
    return np.ascontiguousarray(table[: embedder.vocab_size], dtype=np.float32)


def _trained_embedder(embedder: StaticEmbedder, table: np.ndarray) -> StaticEmbedder:
    """The trained table as a model, stored as the starting model was (float16 stays float16)."""
    config = {k: v for k, v in embedder.config.items() if k not in ("embedding_scale", "vocabulary_quantization")}
    config["embedding_dtype"] = "float32"
    trained = StaticEmbedder(
        table,
        embedder.tokenizer_json,
        config=config,
        normalize=embedder.normalize,
        max_length=embedder.max_length,
        card=embedder.card,
    )
    stored = np.dtype(embedder.embeddings.dtype).name
    return trained.quantize(stored) if stored in ("float16", "int8") else trained  # float32 otherwise


def _head(dim: int, classes: int, settings: ClassifierSettings) -> Any:
    import torch

    modules: list[torch.nn.Module] = []
    width = dim
    for _ in range(settings.layers):
        layer = torch.nn.Linear(width, settings.hidden_dim)
        torch.nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
        modules += [layer, torch.nn.ReLU()]
        width = settings.hidden_dim
    last = torch.nn.Linear(width, classes)
    torch.nn.init.xavier_uniform_(last.weight)
    torch.nn.init.zeros_(last.bias)
    return torch.nn.Sequential(*modules, last)
