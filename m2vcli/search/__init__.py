"""Search: ``m2v index`` builds an index of a collection's vectors, ids and texts; ``m2v search`` finds the
texts nearest a query by exact cosine over the memory-mapped vectors. Base install only (numpy)."""

from __future__ import annotations

from m2vcli.search.build import IndexConfig, IndexResult, build_index
from m2vcli.search.index import Hit, Index

__all__ = ["Hit", "Index", "IndexConfig", "IndexResult", "build_index"]
