"""How the core reports progress without printing: the callback types, one per meaning."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

OnProgress = Callable[[int, int], None]
"""``(done, total)``: items (tokens, texts, lines) finished so far out of ``total``."""

OnCount = Callable[[int], None]
"""``(n)``: ``n`` more items finished (the total is not known in advance)."""

OnEncode = Callable[[int, float], None]
"""``(n, seconds)``: ``n`` more texts encoded, which took ``seconds`` of encoding (nothing else: a rate
computed from these counts encoding time only)."""

OnTaskStatus = Callable[[str, str], None]
"""``(task, status)``: an evaluation task changed status (``m2vcli.evaluation.TaskStatus``)."""

OnMessage = Callable[[str], None]
"""``(message)``: a step began (a phase of distillation, a model being timed)."""


@dataclass(frozen=True)
class PlannedTask:
    """One task of an evaluation run, as announced before the first one starts."""

    name: str
    skip: bool = False  # its result is already there: it will not run
    hub_id: str | None = None  # the Hugging Face hub data set its data is loaded from; None: local data
    texts: int | None = None  # about how many texts it encodes, when its data is known in advance


OnPlan = Callable[[Sequence[PlannedTask]], None]
"""``(tasks)``: the tasks of a run, in the order they will be reported through ``OnTaskStatus``."""
