"""The README's tables say what the code does: the defaults of ``m2v distill``."""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from pathlib import Path
from typing import Any

from m2vcli.distillation import DistillConfig

README = Path(__file__).resolve().parents[1] / "README.md"


def distill_rows() -> dict[str, str]:
    """Option name -> default cell of the ``m2v distill`` options table."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### `m2v distill`") : text.index("### `m2v encode`")]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0] != "option":
            name = re.match(r"`-*([a-z][a-z-]*)", cells[0])
            assert name is not None, line
            rows[name.group(1).replace("-", "_")] = cells[1]
    return rows


def readme_value(cell: str) -> Any:
    if cell in ("(none)", "(required)", "packaged all-MiniLM-L6-v2"):
        return None
    if cell == "off":
        return False
    text = cell.strip("`")
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def test_distill_defaults_in_the_readme_are_the_dataclass_defaults() -> None:
    rows = distill_rows()
    fields = {f.name: f.default for f in dataclasses.fields(DistillConfig)}
    compared = 0
    for name, cell in rows.items():
        if name not in fields:
            assert name == "vocabulary_path", name  # a second way to give `vocabulary`
            continue
        expected = fields[name]
        expected = expected.value if isinstance(expected, Enum) else expected
        assert readme_value(cell) == expected, f"README says {name} defaults to {cell}, the code {expected!r}"
        compared += 1
    assert set(fields) <= set(rows), f"options missing from the README table: {sorted(set(fields) - set(rows))}"
    assert compared == len(fields)
