"""m2v: turn any Sentence Transformer into a tiny, fast static-embedding model.

>>> from m2vcli import StaticEmbedder  # doctest: +SKIP
"""

from __future__ import annotations

from m2vcli.errors import M2VError
from m2vcli.model import StaticEmbedder
from m2vcli.version import __version__

__all__ = ["M2VError", "StaticEmbedder", "__version__"]
