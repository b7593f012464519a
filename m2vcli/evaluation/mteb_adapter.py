"""Every use of mteb in one place.

m2v builds its tasks on MTEB's task classes and scores them with MTEB's evaluators, some of which are
private to mteb (``mteb._evaluators``, ``mteb._create_dataloaders``, the legacy clustering task). mteb is
pinned to one minor version (see pyproject.toml); when an upgrade moves one of these names, the import
below fails here, and ``tests/project/test_layout.py`` imports this module so that the failure is the first thing
the tests show.
"""

from __future__ import annotations

from typing import Any

from m2vcli.errors import ConfigError

try:  # importing mteb creates its result cache folder (~/.cache/mteb, or $MTEB_CACHE)
    import mteb
    import numpy as np
    from mteb._create_dataloaders import create_dataloader
    from mteb._evaluators import ClusteringEvaluator
    from mteb.abstasks.classification import AbsTaskClassification
    from mteb.abstasks.clustering_legacy import AbsTaskClusteringLegacy
    from mteb.abstasks.pair_classification import AbsTaskPairClassification
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.sts import AbsTaskSTS
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.models.abs_encoder import AbsEncoder
    from mteb.models.model_meta import ModelMeta
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
except OSError as exc:
    raise ConfigError(
        f"mteb cannot create its cache folder ({exc.filename}: {exc.strerror}); set MTEB_CACHE to a writable folder"
    ) from exc

__all__ = [
    "AbsTaskClassification",
    "AbsTaskClusteringLegacy",
    "AbsTaskPairClassification",
    "AbsTaskRetrieval",
    "AbsTaskSTS",
    "ClusteringEvaluator",
    "SentenceTransformerEncoderWrapper",
    "TaskMetadata",
    "encode_column",
    "evaluate_task",
    "mteb_task_names",
    "mteb_tasks",
    "static_encoder",
    "task_metadata",
]


def task_metadata(name: str, description: str, task_type: Any, main_score: str, source: str) -> TaskMetadata:
    """MTEB metadata for one of m2v's tasks: English text, one ``test`` split, data from ``source``."""
    return TaskMetadata(
        name=name,
        dataset={"path": source, "revision": "pypi"},
        description=description,
        type=task_type,
        category="t2c" if task_type in ("Classification", "Clustering") else "t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs=["eng-Latn"],
        main_score=main_score,
        date=("2000-01-01", "2020-12-31"),
        domains=["Written"],
        task_subtypes=[],
        license="not specified",
        annotations_creators="human-annotated",
        dialect=[],
        sample_creation="found",
        bibtex_citation="",
    )


def mteb_task_names() -> list[str]:
    """The names of every task MTEB knows, superseded ones included."""
    return [t.metadata.name for t in mteb.get_tasks(exclude_superseded=False)]


def mteb_tasks(name: str) -> list[Any]:
    """MTEB's task objects of that name."""
    return list(mteb.get_tasks(tasks=[name], exclude_superseded=False))


def evaluate_task(encoder: Any, task: Any) -> Any:
    """Score ``encoder`` on one task with MTEB (no result cache, no progress bar); MTEB's task result."""
    return mteb.evaluate(encoder, [task], cache=None, show_progress_bar=False).task_results[0]


def encode_column(
    model: Any,
    dataset: Any,
    column: Any,
    metadata: Any,
    encode_kwargs: Any,
    *,
    hf_subset: str = "default",
    hf_split: str = "test",
    num_proc: int | None = None,
) -> np.ndarray:
    """Vectors of one column through the MTEB encoder protocol, called as MTEB's own evaluators call it."""
    loader = create_dataloader(
        dataset, task_metadata=metadata, input_column=column, num_proc=num_proc, **(encode_kwargs or {})
    )
    vectors = model.encode(
        loader, task_metadata=metadata, hf_subset=hf_subset, hf_split=hf_split, **(encode_kwargs or {})
    )
    return np.asarray(vectors)


class _TextEncoder(AbsEncoder):
    """MTEB's encoder protocol over any ``encode(list of texts) -> array`` function."""

    def __init__(self, encode: Any, meta: ModelMeta) -> None:
        self._encode = encode
        self.mteb_model_meta = meta

    def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
        return np.asarray(self._encode([text for batch in inputs for text in batch["text"]]))


def static_encoder(
    encode: Any,
    name: str,
    *,
    parameters: int,
    memory_mb: float,
    max_tokens: int | None,
    dims: int,
    release_date: str | None,
) -> Any:
    """A static model in MTEB's encoder protocol, with its metadata."""
    meta = ModelMeta(
        loader=None,
        name=name if "/" in name else f"local/{name}",
        revision="local",
        release_date=release_date,
        languages=None,
        n_parameters=parameters,
        memory_usage_mb=memory_mb,
        max_tokens=max_tokens,
        embed_dim=dims,
        license=None,
        open_weights=True,
        public_training_code=None,
        public_training_data=None,
        similarity_fn_name="cosine",  # type: ignore[arg-type]
        framework=["NumPy"],
        reference=None,
        use_instructions=False,
        training_datasets=None,
    )
    return _TextEncoder(encode, meta)


def by_name(*classes: Any) -> dict[str, Any]:
    """Task classes keyed by their MTEB name."""
    return {cls.metadata.name: cls for cls in classes}
