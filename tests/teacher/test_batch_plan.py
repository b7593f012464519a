"""The teacher's batch plan: every item once, one bucket per batch, within the budgets, and run in an order
whose items-per-second holds, so that a bar counting texts shows an honest time left."""

from __future__ import annotations

import numpy as np
import pytest

from m2vcli.teacher.forward import plan_batches


def corpus_lengths(seed: int = 0, n: int = 4096) -> list[int]:
    """Lengths like a real corpus's: many short texts, a long tail up to the teacher's 256 positions."""
    rng = np.random.default_rng(seed)
    return [int(x) for x in np.clip(rng.lognormal(3.0, 1.0, n), 1, 254)]


@pytest.mark.parametrize(("budget", "size", "step"), [(8192, None, 8), (None, 7, 1), (512, 32, 4)])
def test_every_item_is_in_one_batch_of_one_bucket_within_the_budgets(
    budget: int | None, size: int | None, step: int
) -> None:
    lengths = [*corpus_lengths(1, 1000), 0, 0, 1]
    batches = plan_batches(lengths, wrap=2, batch_size=size, token_budget=budget, step=step)
    seen = sorted(i for chosen, _ in batches for i in chosen)
    assert seen == list(range(len(lengths)))
    for chosen, width in batches:
        assert width % step == 0
        assert {-(-(max(1, lengths[i]) + 2) // step) * step for i in chosen} == {width}
        assert size is None or len(chosen) <= size
        assert budget is None or len(chosen) * width <= budget or len(chosen) == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_share_of_texts_done_keeps_within_a_batch_of_the_share_of_work_done(seed: int) -> None:
    lengths = corpus_lengths(seed)
    batches = plan_batches(lengths, wrap=2, token_budget=8192, step=8)
    work = sum(len(chosen) * width for chosen, width in batches)
    widest_step = max(max(len(c) / len(lengths), len(c) * w / work) for c, w in batches)
    items_done = work_done = 0
    worst = 0.0
    for chosen, width in batches:
        items_done += len(chosen)
        work_done += len(chosen) * width
        worst = max(worst, abs(items_done / len(lengths) - work_done / work))
    assert worst <= widest_step + 1e-9
    assert worst < 0.15  # the densest batch (texts of a few tokens) is about an eighth of the texts


def predictions(batches: list[tuple[list[int], int]]) -> list[float]:
    """Time left as the texts per second so far predict it, over the time actually left, after each batch
    past the first tenth of the work (a batch takes time in proportion to its padded positions)."""
    times = np.cumsum([len(chosen) * width for chosen, width in batches], dtype=float)
    done = np.cumsum([len(chosen) for chosen, _ in batches])
    return [
        float((done[-1] - done[i]) / (done[i] / times[i]) / (times[-1] - times[i]))
        for i in range(len(batches) - 1)
        if times[i] >= times[-1] / 10
    ]


@pytest.mark.parametrize("seed", [0, 3])
def test_the_rate_so_far_predicts_the_time_left(seed: int) -> None:
    """Within half and one and a half times the time left, all the way through; run in length order (short
    texts first), the same estimate is 4 to 7 times too short."""
    batches = plan_batches(corpus_lengths(seed), wrap=2, token_budget=8192, step=8)
    assert min(predictions(batches)) > 0.5 and max(predictions(batches)) < 1.5
    assert max(predictions(sorted(batches, key=lambda batch: batch[1]))) < 0.3
