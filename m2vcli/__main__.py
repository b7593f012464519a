"""``python -m m2vcli`` runs the ``m2v`` command."""

from __future__ import annotations

from m2vcli.cli import run

run()
