"""The teacher's forward pass, batched: one loop for distillation (single tokens and words) and for
refinement's featurizing (whole texts). torch is imported only when it runs."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any, Protocol

import numpy as np

from m2vcli.callbacks import OnProgress
from m2vcli.process import KERNEL_CACHE_LIMITS, environment_defaults
from m2vcli.teacher.loading import LoadedTeacher
from m2vcli.teacher.pooling import Pooling, pooling_weights


class Items(Protocol):
    """Token id lists: a list of lists, of arrays, or a ``Ragged`` array."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


def pooled_outputs(
    teacher: LoadedTeacher, batch: Sequence[Sequence[int]], pooling: Pooling, width: int | None = None
) -> np.ndarray:
    """One teacher forward pass over ``batch`` (token ids without special tokens), padded to its longest
    item (or to ``width`` positions), pooled over the positions ``pooling`` names. Call it under
    ``torch.inference_mode()``."""
    import torch

    lengths = [len(item) for item in batch]
    weights = torch.from_numpy(pooling_weights(lengths, len(teacher.prefix), len(teacher.suffix), pooling, width))
    ids = torch.full(weights.shape, teacher.pad_id, dtype=torch.long)
    mask = torch.zeros(weights.shape, dtype=torch.long)
    for row, item in enumerate(batch):
        seq = [*teacher.prefix, *item, *teacher.suffix]
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    ids, mask, weights = ids.to(teacher.device), mask.to(teacher.device), weights.to(teacher.device)
    hidden = teacher.encoder(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    pooled = (hidden * weights[..., None]).sum(dim=1) / weights.sum(dim=1, keepdim=True)
    return np.asarray(pooled.cpu().numpy(), dtype=np.float32)


def plan_batches(
    lengths: Sequence[int],
    *,
    wrap: int = 0,
    batch_size: int | None = None,
    token_budget: int | None = None,
    step: int = 1,
) -> list[tuple[list[int], int]]:
    """Batches of item indices, each with its padded width, in the order they are best run.

    Items are sorted by length and padded to a multiple of ``step`` positions (their bucket, ``wrap``
    special tokens included); a batch holds items of one bucket only, at most ``batch_size`` of them and at
    most ``token_budget`` padded positions. A batch's time follows its padded positions, so short items
    go many to a batch: run in length order, the texts done per second would fall all the way. The batches
    are run dense and sparse in turn instead, so that the share of items done keeps within one batch of
    the share of padded positions done: a rate measured in items then holds, roughly, for the items left.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    bucket = [-(-(max(1, lengths[i]) + wrap) // step) * step for i in order]
    batches: list[tuple[list[int], int]] = []
    start = 0
    while start < len(order):
        width = bucket[start]
        count = min(batch_size or len(order), max(1, token_budget // width) if token_budget else len(order))
        stop = min(len(order), start + count)
        while bucket[stop - 1] != width:
            stop -= 1
        batches.append((order[start:stop], width))
        start = stop
    return _interleave(batches, len(lengths))


def _interleave(batches: list[tuple[list[int], int]], items: int) -> list[tuple[list[int], int]]:
    """``batches`` (densest first: in length order) taken from the dense or the sparse end, whichever keeps
    the share of items done closest to the share of padded positions done."""
    work = sum(len(chosen) * width for chosen, width in batches)
    if not work:
        return batches
    dense, sparse = 0, len(batches) - 1
    items_done = work_done = 0
    ordered = []
    while dense <= sparse:
        take = sparse if items_done / items > work_done / work else dense
        if take == dense:
            dense += 1
        else:
            sparse -= 1
        chosen, width = batches[take]
        items_done += len(chosen)
        work_done += len(chosen) * width
        ordered.append(batches[take])
    return ordered


def embed(
    teacher: LoadedTeacher,
    items: Items,
    pooling: Pooling,
    *,
    batch_size: int | None = None,
    token_budget: int | None = None,
    step: int = 1,
    on_progress: OnProgress | None = None,
) -> np.ndarray:
    """Pooled teacher outputs for each item (token ids between the teacher's special tokens), float32, in
    batches from ``plan_batches``. With ``step`` above 1 the teacher sees a few dozen input shapes, not one
    per batch: the math library builds and keeps kernels per shape, and their number then bounds that
    memory. The default vocabulary (one token per item) needs no padding at all. An empty item is read as
    one pad. ``on_progress(items done, items)`` is called after every batch."""
    import torch

    progress = on_progress or (lambda done, total: None)
    out = np.empty((len(items), teacher.dim), dtype=np.float32)
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(teacher.precision)
    autocast = torch.autocast(device_type=teacher.device, dtype=dtype) if dtype is not None else nullcontext()
    lengths = [len(items[i]) for i in range(len(items))]
    wrap = len(teacher.prefix) + len(teacher.suffix)
    batches = plan_batches(lengths, wrap=wrap, batch_size=batch_size, token_budget=token_budget, step=step)
    # the kernel caches are bounded from Python too (the CLI bounds them for its whole run); they are read
    # when the first kernel runs, and the variables are put back after the pass
    done = 0
    with environment_defaults(KERNEL_CACHE_LIMITS), torch.inference_mode(), autocast:
        for chosen, width in batches:
            batch = [list(items[i]) or [teacher.pad_id] for i in chosen]
            out[chosen] = pooled_outputs(teacher, batch, pooling, width)
            done += len(chosen)
            progress(done, len(items))
    return out
