"""A rich progress column showing items per second."""

from __future__ import annotations

from rich.progress import ProgressColumn, Task
from rich.text import Text


class RateColumn(ProgressColumn):
    """Shows ``1,234 sentences/s`` from the task's measured speed."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        elapsed = task.finished_time if task.finished else task.elapsed
        if speed is None and elapsed and task.completed:  # too few updates for rich's own estimate
            speed = task.completed / elapsed
        if speed is None:
            return Text(f"? {self.unit}/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} {self.unit}/s", style="progress.data.speed")
