"""Task building blocks shared by the offline suite, PEARL and task files: full-train classification,
whole-set k-means clustering, retrieval data, and tasks made at run time from a task file's entry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datasets import Dataset, DatasetDict

from m2vcli import packaged_data
from m2vcli.evaluation.categories import Category
from m2vcli.evaluation.mteb_adapter import (
    AbsTaskClassification,
    AbsTaskClusteringLegacy,
    AbsTaskPairClassification,
    AbsTaskRetrieval,
    AbsTaskSTS,
    ClusteringEvaluator,
    encode_column,
    task_metadata,
)


class FullTrainClassification(AbsTaskClassification):
    """Logistic regression on the vectors, trained once on the whole train split."""

    samples_per_label = 10**9
    n_experiments = 1
    m2v_category = Category.CLASS

    def texts_and_labels(self) -> tuple[list[str], list[int]]:
        raise NotImplementedError

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        texts, labels = self.texts_and_labels()
        train, test = packaged_data.split(len(texts))
        self.dataset = DatasetDict(
            {
                split: Dataset.from_dict({"text": [texts[i] for i in rows], "label": [labels[i] for i in rows]})
                for split, rows in (("train", train), ("test", test))
            }
        )
        self.data_loaded = True


def clustering_split(texts: list[str], labels: list[int]) -> Dataset:
    """One set of texts to cluster as a whole (see ``WholeSetClustering``)."""
    return Dataset.from_dict({"sentences": [texts], "labels": [labels]})


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
    m2v_category = Category.CLUST


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


USER_TASK_TYPES: dict[str, tuple[type, str, str, Category]] = {
    "word-similarity": (AbsTaskSTS, "STS", "cosine_spearman", Category.WORDSIM),
    "text-similarity": (AbsTaskSTS, "STS", "cosine_spearman", Category.STS),
    "classification": (AbsTaskClassification, "Classification", "accuracy", Category.CLASS),
    "clustering": (WholeSetClustering, "Clustering", "v_measure", Category.CLUST),
    "pair-classification": (AbsTaskPairClassification, "PairClassification", "max_ap", Category.PAIR_CLASS),
    "retrieval": (AbsTaskRetrieval, "Retrieval", "ndcg_at_10", Category.RET),
}


def make_user_task(name: str, kind: str, dataset: Any, **attributes: Any) -> Any:
    """A task object built at run time on data already in memory (a task file's entry)."""
    base, task_type, main_score, category = USER_TASK_TYPES[kind]
    if kind == "classification":
        attributes.update(samples_per_label=10**9, n_experiments=1)

    def load_data(self: Any, num_proc: int | None = None, **kwargs: Any) -> None:
        self.dataset = dataset
        self.data_loaded = True

    namespace = {
        "metadata": task_metadata(name, f"User task {name} ({kind}).", task_type, main_score, "local"),
        "m2v_category": category,
        "load_data": load_data,
        **attributes,
    }
    return type(name, (base,), namespace)()
