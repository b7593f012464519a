"""Classifiers on a static model: labelled data (``data``, ``labels``), training (``train``, with torch),
the classifier and its head (``classifier``, ``head``: numpy only), scores (``metrics``) and streaming
prediction (``predict``)."""

from __future__ import annotations

from m2vcli.classify.classifier import StaticClassifier
from m2vcli.classify.labels import LabelSet
from m2vcli.classify.metrics import Report
from m2vcli.model.folder import is_classifier

__all__ = ["LabelSet", "Report", "StaticClassifier", "is_classifier"]
