"""Training the token table so that the static model reproduces the teacher's text vectors.

The student is the static model itself: a table row per token and one learned scale per token, a text's
vector the mean of its tokens' scaled rows. Targets are the teacher's vectors reduced by PCA to the
student's dimensions; before training, the table is mapped into the targets' PCA basis by the linear map
that best carries the model's own text vectors onto the targets (least squares), so training starts from
the plain model's knowledge instead of from noise. A seeded held-out split decides when to stop, and the
weights of the best check are the ones kept.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from m2vcli.refinement.features import Features
from m2vcli.refinement.storage import Ragged, RowFile

MIN_VALIDATION = 20  # held-out texts needed to judge a step
ALIGN_TEXTS = 20_000  # texts used to fit the map into the targets' basis


class Loss(str, Enum):
    """What training lowers: ``cosine`` (1 - the cosine of each text's vector and its target), ``mse``, or
    ``contrastive`` (in-batch InfoNCE: each text's vector must be nearer its own target than the batch's
    other targets, at temperature ``CONTRASTIVE_TEMPERATURE``)."""

    COSINE = "cosine"
    MSE = "mse"
    CONTRASTIVE = "contrastive"


CONTRASTIVE_TEMPERATURE = 0.05


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 10  # at most; early stopping usually ends sooner
    learning_rate: float = 1e-3
    batch_size: int = 256
    patience: int = 2  # checks without a better validation loss before stopping
    loss: Loss = Loss.COSINE
    seed: int = 0
    validation_share: float = 0.1
    max_validation: int = 10_000
    anchor: float = 0.0  # pull each trained row toward its distilled (aligned) value; 0: none


@dataclass
class TrainResult:
    table: np.ndarray  # (rows, dims) float32, the scales folded in
    steps: int
    best_step: int
    train_loss: float
    validation_loss: float
    initial_validation_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    texts: dict[str, int] = field(default_factory=dict)
    tokens_seen: int = 0
    seconds: float = 0.0

    @property
    def still_improving(self) -> bool:
        """The last epoch was the best: training ended at its epoch limit, not because it stopped
        improving (early stopping leaves the best epoch behind the last)."""
        return self.steps > 0 and self.best_step == self.steps


OnStep = Callable[[dict[str, float]], None]


def needed_texts(settings: TrainSettings) -> int:
    """The fewest texts a refinement can hold ``MIN_VALIDATION`` of out (200 at the default 10%)."""
    return math.ceil(MIN_VALIDATION / settings.validation_share)


def split_validation(n: int, settings: TrainSettings) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) indexes: ``validation_share`` of the texts, at most ``max_validation``.

    >>> train, held = split_validation(1000, TrainSettings())
    >>> len(train), len(held), len(set(train) & set(held))
    (900, 100, 0)
    """
    held = min(settings.max_validation, int(n * settings.validation_share))
    if held < MIN_VALIDATION or n - held < MIN_VALIDATION:
        from m2vcli.errors import InputError

        need = needed_texts(settings)
        raise InputError(f"the corpus has {n} texts; refining needs at least {need} (to hold out {MIN_VALIDATION})")
    order = np.random.default_rng(settings.seed).permutation(n)
    return np.sort(order[held:]), np.sort(order[:held])


def pca_targets(
    vectors: Features | np.ndarray, train: np.ndarray, dims: int, out: RowFile | None = None, chunk: int = 8192
) -> np.ndarray | RowFile:
    """``vectors`` centred on the training rows' mean and projected on their top ``dims`` principal axes,
    written to ``out`` when given (else returned as an array).

    Two passes over ``vectors`` a chunk (or cache shard) at a time: the covariance is summed in float64,
    then each chunk is projected, so memory holds a few chunks whatever the number of texts. Each axis's
    sign is fixed (its largest entry positive), so the result is deterministic.
    """
    chunks = vectors.chunks if isinstance(vectors, Features) else lambda: _array_chunks(vectors, chunk)
    n, width = len(vectors), (vectors.dim if isinstance(vectors, Features) else vectors.shape[1])
    in_train = np.zeros(n, dtype=bool)
    in_train[train] = True
    total = np.zeros(width, dtype=np.float64)
    scatter = np.zeros((width, width), dtype=np.float64)
    for start, block in chunks():
        rows = block[in_train[start : start + len(block)]].astype(np.float64)
        total += rows.sum(axis=0)
        scatter += rows.T @ rows
    mean = total / max(1, len(train))
    covariance = scatter / max(1, len(train)) - np.outer(mean, mean)
    values, axes = np.linalg.eigh(covariance)
    top = axes[:, np.argsort(values)[::-1][: min(dims, width)]]
    top *= np.where(top[np.abs(top).argmax(axis=0), np.arange(top.shape[1])] < 0, -1.0, 1.0)
    result = np.empty((n, top.shape[1]), dtype=np.float32) if out is None else None
    for start, block in chunks():
        projected = ((block.astype(np.float64) - mean) @ top).astype(np.float32)
        if out is not None:
            out.append(projected)
        else:
            assert result is not None
            result[start : start + len(block)] = projected
    if out is not None:
        return out
    assert result is not None
    return result


def _array_chunks(vectors: np.ndarray, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
    for start in range(0, len(vectors), chunk):
        yield start, vectors[start : start + chunk]


Targets = np.ndarray | RowFile  # indexed by an array of text indexes


def train_table(
    table: np.ndarray,
    rows: Ragged | Sequence[np.ndarray],
    targets: Targets,
    settings: TrainSettings,
    train: np.ndarray,
    held: np.ndarray,
    on_step: OnStep | None = None,
) -> TrainResult:
    """Fit ``table`` (rows, dims) so the mean of each text's rows (``rows[i]``, table row ids) points like
    ``targets[i]``; returns the best table found on the held-out texts."""
    import torch
    import torch.nn.functional as F

    started = time.perf_counter()
    torch.manual_seed(settings.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    texts = rows if isinstance(rows, Ragged) else Ragged.from_rows(rows)
    lengths = texts.lengths
    keep = lengths > 0  # a text with no known token teaches nothing
    train, held = train[keep[train]], held[keep[held]]
    aligned = align_table(table, texts, targets, train)
    # Only rows the corpus uses are trained (the optimizer's work scales with them); the rest keep their
    # aligned values.
    used = texts.flat[texts.offsets[0] : texts.offsets[-1]]
    seen = np.unique(used)
    lookup = np.full(len(aligned), -1, dtype=np.int32)
    lookup[seen] = np.arange(len(seen), dtype=np.int32)
    batches = Ragged(lookup[used], texts.offsets - texts.offsets[0])
    del used
    embeddings = torch.nn.Parameter(torch.from_numpy(aligned[seen].copy()))
    scales = torch.nn.Parameter(torch.ones(len(seen)))
    optimizer = torch.optim.AdamW([embeddings, scales], lr=settings.learning_rate, weight_decay=0.0)
    start_rows = embeddings.detach().clone()
    row_scale = float((start_rows**2).sum(dim=1).mean()) or 1.0

    def forward(chosen: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        flat, offsets, lengths = batches.take(chosen)
        ids = torch.from_numpy(flat.astype(np.int64))
        summed = F.embedding_bag(ids, embeddings, torch.from_numpy(offsets), mode="sum", per_sample_weights=scales[ids])
        return summed / torch.from_numpy(lengths).float()[:, None], torch.from_numpy(targets[chosen])

    def loss_of(pred: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
        if settings.loss is Loss.MSE:
            return F.mse_loss(pred, gold)
        if settings.loss is Loss.CONTRASTIVE:
            logits = F.normalize(pred, dim=1) @ F.normalize(gold, dim=1).T / CONTRASTIVE_TEMPERATURE
            return F.cross_entropy(logits, torch.arange(len(pred)))
        return (1 - F.cosine_similarity(pred, gold, dim=1)).mean()

    def validate() -> float:
        with torch.no_grad():
            total = 0.0
            step = (
                settings.batch_size if settings.loss is Loss.CONTRASTIVE else 4096
            )  # as many negatives as in training
            for start in range(0, len(held), step):
                chosen = held[start : start + step]
                total += float(loss_of(*forward(chosen))) * len(chosen)
            return total / max(1, len(held))

    rng = np.random.default_rng(settings.seed)
    best = validate()
    first = best
    best_state = (embeddings.detach().clone(), scales.detach().clone())
    best_step, steps, waited, tokens, history = 0, 0, 0, 0, []
    train_loss = float("nan")
    for epoch in range(1, settings.epochs + 1):
        order = rng.permutation(train)
        running, count = 0.0, 0
        for start in range(0, len(order), settings.batch_size):
            chosen = order[start : start + settings.batch_size]
            loss = loss_of(*forward(chosen))
            if settings.anchor > 0:
                touched = torch.unique(torch.from_numpy(batches.take(chosen)[0].astype(np.int64)))
                drift = embeddings[touched] * scales[touched, None] - start_rows[touched]
                loss = loss + settings.anchor * (drift**2).sum(dim=1).mean() / row_scale
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
            tokens += int(lengths[chosen].sum())
            running += float(loss.detach()) * len(chosen)
            count += len(chosen)
        train_loss = running / max(1, count)
        validation = validate()
        record = {"epoch": epoch, "step": steps, "train_loss": train_loss, "validation_loss": validation}
        history.append(record)
        if on_step is not None:
            on_step(record)
        if validation < best - 1e-6:
            best, best_step, waited = validation, steps, 0
            best_state = (embeddings.detach().clone(), scales.detach().clone())
        else:
            waited += 1
            if waited >= settings.patience:
                break
    final = aligned.copy()
    final[seen] = (best_state[0] * best_state[1][:, None]).numpy()
    return TrainResult(
        table=final,
        steps=steps,
        best_step=best_step,
        train_loss=train_loss,
        validation_loss=best,
        initial_validation_loss=first,
        history=history,
        texts={"train": len(train), "validation": len(held)},
        tokens_seen=tokens,
        seconds=time.perf_counter() - started,
    )


def align_table(table: np.ndarray, texts: Ragged, targets: Targets, train: np.ndarray) -> np.ndarray:
    """``table`` mapped into the targets' space by the least-squares linear map from the model's own mean
    vectors to the targets (fitted on up to ``ALIGN_TEXTS`` training texts)."""
    chosen = train[: min(len(train), ALIGN_TEXTS)]
    means = np.empty((len(chosen), table.shape[1]), dtype=np.float64)
    for start in range(0, len(chosen), 1024):  # a chunk's token rows at a time, not every text's at once
        flat, offsets, lengths = texts.take(chosen[start : start + 1024])
        means[start : start + 1024] = np.add.reduceat(table[flat], offsets, axis=0, dtype=np.float64) / lengths[:, None]
    solution, *_ = np.linalg.lstsq(means, targets[chosen].astype(np.float64), rcond=None)
    return np.asarray(table @ solution, dtype=np.float32)
