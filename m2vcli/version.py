"""The version of m2v: the one place it is written (the package metadata reads it from here)."""

from __future__ import annotations

__version__ = "0.1.0"
