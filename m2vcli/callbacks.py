"""How the core reports progress without printing: the callback types, one per meaning."""

from __future__ import annotations

from collections.abc import Callable

OnProgress = Callable[[int, int], None]
"""``(done, total)``: items (tokens, texts, lines) finished so far out of ``total``."""

OnCount = Callable[[int], None]
"""``(n)``: ``n`` more items finished (the total is not known in advance)."""

OnTaskStatus = Callable[[str, str], None]
"""``(task, status)``: an evaluation task changed status (``m2vcli.evaluation.TaskStatus``)."""

OnMessage = Callable[[str], None]
"""``(message)``: a step began (a phase of distillation, a model being timed)."""
