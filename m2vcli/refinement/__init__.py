"""Refinement: train a static model on an unlabeled corpus to reproduce its teacher's text vectors."""

from m2vcli.refinement.corpus import Corpus, read_corpus
from m2vcli.refinement.pipeline import DistillRefineResult, distill_and_refine
from m2vcli.refinement.refine import RefineConfig, RefineResult, RefineSettings, refine_model, run_refinement
from m2vcli.refinement.train import Loss

__all__ = [
    "Corpus",
    "DistillRefineResult",
    "Loss",
    "RefineConfig",
    "RefineResult",
    "RefineSettings",
    "distill_and_refine",
    "read_corpus",
    "refine_model",
    "run_refinement",
]
