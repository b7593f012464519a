"""The static model and its format: ``StaticEmbedder`` (tokenize, look up, average), the tokenizer fast
path, batch pooling, and the folder format shared with model2vec and sentence-transformers.

Nothing here imports torch, transformers, mteb or scikit-learn.
"""

from __future__ import annotations

from m2vcli.model.embedder import DEFAULT_BATCH_SIZE, DEFAULT_MAX_LENGTH, StaticEmbedder

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_MAX_LENGTH", "StaticEmbedder"]
