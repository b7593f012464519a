"""The PEARL phrase benchmark (Chen et al., 2024) as MTEB tasks, one per data set.

Eight data sets live on the Hugging Face hub (``Lihuchen/pearl_benchmark``) and load through ``datasets``
where the hub can be reached, or from a local copy: set ``M2V_PEARL_DATA`` to a folder holding
``<config>/<split>.jsonl`` (or ``.json``, ``.parquet``, ``.csv``). AutoFJ reads its 50 tables from the
``autofj`` PyPI package, so it runs offline. Protocols, following the benchmark's paper:

- PPDB, PPDB filtered: a probe (one hidden layer of 256) on the two phrase vectors side by side, fit on a
  seeded 70% of the pairs with early stopping on 15%, accuracy on the other 15%;
- Turney: for each query, the closest of its 5 candidates must be the right one (precision@1 when the
  candidates are reranked; a tie counts as wrong); BIRD: Pearson of cosine against human relatedness;
- YAGO, UMLS: the nearest entity name of the knowledge base must be the mention's entity (precision@1);
- CoNLL, BC5CDR: k-means (best of 10 starts) on all the entity vectors, V-measure (the paper's NMI);
- AutoFJ: for each right-table title, the nearest left-table title must be its match, averaged over
  the 50 tables (precision@1).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset, DatasetDict

from m2vcli.errors import InputError, first_line
from m2vcli.evaluation.categories import Category
from m2vcli.evaluation.mteb_adapter import (
    AbsTaskPairClassification,
    AbsTaskRetrieval,
    AbsTaskSTS,
    by_name,
    encode_column,
)
from m2vcli.evaluation.mteb_adapter import task_metadata as _metadata
from m2vcli.evaluation.tasks.common import WholeSetClustering, clustering_split, retrieval_split
from m2vcli.packaged_data import package_dir

HUB_ID = "Lihuchen/pearl_benchmark"
DATA_ENV = "M2V_PEARL_DATA"
AUTOFJ_PIP = "autofj==0.0.6"
LOCAL_FORMATS = (".jsonl", ".json", ".parquet", ".csv")
PROBE_SEED = 42


def pearl_split(config: str, split: str, data_dir: str | Path | None = None) -> Dataset:
    """One split of a PEARL configuration: from ``<data_dir>/<config>/`` (``data_dir`` defaults to
    ``$M2V_PEARL_DATA``), else from the hub. When the data has no split of that name but exactly one
    split, that one is used."""
    local = data_dir or os.environ.get(DATA_ENV)
    if local:
        return _local_split(Path(local), config, split)
    from m2vcli.hub import load_dataset

    return _pick_split(load_dataset(HUB_ID, config), split, f"{HUB_ID} ({config})")


def _pick_split(loaded: Any, split: str, where: str) -> Dataset:
    if split in loaded:
        return loaded[split]
    if len(loaded) == 1:
        return next(iter(loaded.values()))
    raise InputError(f"{where} has no split {split!r} (it has {', '.join(loaded)})")


def _local_split(root: Path, config: str, split: str) -> Dataset:
    folder = root / config
    files = sorted(p for p in folder.glob("*") if p.suffix in LOCAL_FORMATS)
    if not files:
        raise InputError(f"no PEARL data for {config!r} in {folder} (expected {config}/{split}.jsonl)")
    stems = [p.stem for p in files]
    twice = sorted({stem for stem in stems if stems.count(stem) > 1})
    if twice:
        raise InputError(f"{folder} holds split {twice[0]!r} in more than one file; keep one")
    chosen = [p for p in files if p.stem == split] or (files if len(files) == 1 else [])
    if not chosen:
        raise InputError(f"{folder} has no split {split!r} (it has {', '.join(stems)})")
    path = chosen[0]
    try:
        if path.suffix == ".parquet":
            return Dataset.from_parquet(str(path))
        if path.suffix == ".csv":
            return Dataset.from_csv(str(path))
        return Dataset.from_json(str(path))
    except Exception as exc:
        raise InputError(f"{path} cannot be read: {first_line(exc)}") from exc


def _columns(rows: Dataset, where: str, *names: str) -> list[list[Any]]:
    missing = [name for name in names if name not in rows.column_names]
    if missing:
        raise InputError(f"{where}: missing column {missing[0]!r} (columns: {', '.join(rows.column_names)})")
    return [list(rows[name]) for name in names]


def _binary(label: Any, config: str) -> int:
    """``pos``/``neg`` (the benchmark's labels), or 1/0."""
    key = str(label).strip().lower()
    if key in ("pos", "1", "true"):
        return 1
    if key in ("neg", "0", "false"):
        return 0
    raise InputError(f"PEARL {config}: label {label!r} is not pos or neg")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class _PearlMixin:
    m2v_category = Category.PEARL
    offline_hint = f"offline, set {DATA_ENV} to a folder holding a copy of {HUB_ID}"
    config = ""
    split = "test"
    data_dir: str | None = None  # a local copy of the hub data (see ``pearl_split``)

    def rows(self, config: str, split: str) -> Dataset:
        return pearl_split(config, split, self.data_dir)


class PEARLPPDB(_PearlMixin, AbsTaskPairClassification):
    """Paraphrase or not: a probe on the two phrase vectors, accuracy on a held-out 15%."""

    config = "ppdb"
    metadata = _metadata("PEARLPPDB", "PPDB phrase paraphrases.", "PairClassification", "accuracy", HUB_ID)

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        rows = self.rows(self.config, self.split)
        first, second, labels = _columns(rows, f"PEARL {self.config}", "phrase_1", "phrase_2", "label")
        columns = {
            "sentence1": [_text(t) for t in first],
            "sentence2": [_text(t) for t in second],
            "labels": [_binary(label, self.config) for label in labels],
        }
        self.dataset = DatasetDict({"test": Dataset.from_dict(columns)})
        self.data_loaded = True

    def _evaluate_subset(
        self, model: Any, data_split: Dataset, *, encode_kwargs: Any = None, **kwargs: Any
    ) -> dict[str, float]:
        vectors = [
            encode_column(model, data_split, c, self.metadata, encode_kwargs) for c in ("sentence1", "sentence2")
        ]
        return {"accuracy": probe_accuracy(np.concatenate(vectors, axis=1), list(data_split["labels"]))}


class PEARLPPDBFiltered(PEARLPPDB):
    config = "ppdb_filtered"
    metadata = _metadata(
        "PEARLPPDBFiltered", "PPDB paraphrases without lexical overlap.", "PairClassification", "accuracy", HUB_ID
    )


def probe_accuracy(features: np.ndarray, labels: list[int], seed: int = PROBE_SEED) -> float:
    """Accuracy of a one-hidden-layer probe on a seeded 15% of the rows, fit on 70% with early stopping on 15%."""
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    x_train, x_test, y_train, y_test = train_test_split(
        features, np.asarray(labels), test_size=0.15, random_state=seed, stratify=labels
    )
    probe = MLPClassifier(
        hidden_layer_sizes=(256,),
        batch_size="auto",  # 200, or fewer rows when there are fewer
        early_stopping=True,
        validation_fraction=0.15 / 0.85,
        n_iter_no_change=5,
        max_iter=100,
        random_state=seed,
    )
    probe.fit(x_train, y_train)
    return float(probe.score(x_test, y_test))


class PEARLBIRD(_PearlMixin, AbsTaskSTS):
    """Bigram relatedness: Pearson of cosine against human scores."""

    min_score, max_score = 0, 1
    config = "bird"
    metadata = _metadata("PEARLBIRD", "BIRD bigram relatedness.", "STS", "cosine_pearson", HUB_ID)

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        rows = self.rows(self.config, self.split)
        first, second, scores = _columns(rows, "PEARL bird", "term1", "term2", "relatedness score")
        columns = {
            "sentence1": [_text(t) for t in first],
            "sentence2": [_text(t) for t in second],
            "score": [float(s) for s in scores],
        }
        self.dataset = DatasetDict({"test": Dataset.from_dict(columns)})
        self.data_loaded = True


class _PearlRetrieval(_PearlMixin, AbsTaskRetrieval):
    """Retrieval scored at rank 1 (precision@1 = the share of queries whose nearest document is right)."""

    k_values = (1, 3, 5, 10)


class PEARLTurney(_PearlRetrieval):
    """Each query phrase against its own five candidates, the right one first in the data."""

    config = "turney"
    metadata = _metadata(
        "PEARLTurney", "Turney phrase similarity (choose 1 of 5).", "Retrieval", "precision_at_1", HUB_ID
    )

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        rows = self.rows(self.config, self.split)
        names = ["query", "label", *(f"candidate_{i}" for i in range(1, 5))]
        query, label, *others = _columns(rows, "PEARL turney", *names)
        queries = [(_text(q), _text(right)) for q, right in zip(query, label, strict=True)]
        candidates = [[_text(right), *(_text(c[i]) for c in others)] for i, right in enumerate(label)]
        self.dataset = {"default": {"test": retrieval_split([], queries, candidates)}}
        self.data_loaded = True


class PEARLYAGO(_PearlRetrieval):
    """Entity retrieval: each mention against every entity name of the knowledge base."""

    config = "yago"
    kb_split = "yago"
    metadata = _metadata("PEARLYAGO", "YAGO entity retrieval.", "Retrieval", "precision_at_1", HUB_ID)

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        (names,) = _columns(self.rows("kb", self.kb_split), f"PEARL kb ({self.kb_split})", "entity_name")
        query, label = _columns(self.rows(self.config, self.split), f"PEARL {self.config}", "query", "label")
        queries = [(_text(q), _text(right)) for q, right in zip(query, label, strict=True)]
        self.dataset = {"default": {"test": retrieval_split([_text(n) for n in names], queries)}}
        self.data_loaded = True


class PEARLUMLS(PEARLYAGO):
    config = "umls"
    kb_split = "umls"
    split = "umls"
    metadata = _metadata("PEARLUMLS", "UMLS biomedical entity retrieval.", "Retrieval", "precision_at_1", HUB_ID)


class PEARLCoNLL(_PearlMixin, WholeSetClustering):
    """K-means on all the entity vectors, V-measure against the entity types."""

    config = "conll"
    metadata = _metadata("PEARLCoNLL", "CoNLL-2003 entities by type.", "Clustering", "v_measure", HUB_ID)

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        entities, labels = _columns(self.rows(self.config, self.split), f"PEARL {self.config}", "entity", "label")
        names = sorted({str(label) for label in labels})
        texts = [_text(e) or "NA" for e in entities]
        self.dataset = DatasetDict({"test": clustering_split(texts, [names.index(str(label)) for label in labels])})
        self.data_loaded = True


class PEARLBC5CDR(PEARLCoNLL):
    config = "bc5cdr"
    metadata = _metadata("PEARLBC5CDR", "BC5CDR chemical and disease entities.", "Clustering", "v_measure", HUB_ID)


def autofj_root() -> Path:
    return package_dir("autofj", AUTOFJ_PIP) / "benchmark"


def autofj_names(root: Path) -> list[str]:
    """The AutoFJ tables: the folders that hold a ``gt.csv``."""
    try:
        names = sorted(p.name for p in root.iterdir() if (p / "gt.csv").is_file())
    except OSError as exc:
        raise InputError(f"the AutoFJ tables cannot be listed in {root}: {first_line(exc)}") from exc
    if not names:
        raise InputError(f"no AutoFJ tables in {root}; pip install {AUTOFJ_PIP}")
    return names


def autofj_table(folder: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """One AutoFJ table: the left titles, and (right title, its left match) for each matched right row."""

    def titles(name: str, column: str) -> list[str]:
        path = folder / name
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                return [row[column] or "" for row in csv.DictReader(handle)]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"{path} cannot be read: {first_line(exc)}") from exc
        except KeyError as exc:
            raise InputError(f"{path} has no {column!r} column") from exc

    match = dict(zip(titles("gt.csv", "title_r"), titles("gt.csv", "title_l"), strict=True))
    queries = [(title, match[title]) for title in titles("right.csv", "title") if title in match]
    return titles("left.csv", "title"), queries


def autofj_tables(root: Path | None = None) -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
    """Every AutoFJ table by name (see ``autofj_table``)."""
    root = root or autofj_root()
    return {name: autofj_table(root / name) for name in autofj_names(root)}


class PEARLAutoFJ(_PearlRetrieval):
    """Fuzzy join: each right-table title against all left-table titles; mean over the 50 tables."""

    m2v_texts = 182_283  # texts encoded (progress estimates only), held by a test

    metadata = _metadata(
        "PEARLAutoFJ", "AutoFJ fuzzy join over 50 table pairs.", "Retrieval", "precision_at_1", "autofj"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.missing: InputError | None = None
        try:
            self.root = autofj_root()
            names = autofj_names(self.root)
        except InputError as exc:  # reported when the task runs, like any data that cannot be loaded
            self.missing, names = exc, []
        langs = {name: ["eng-Latn"] for name in names} or {"default": ["eng-Latn"]}
        self.metadata = self.metadata.model_copy(update={"eval_langs": langs})
        super().__init__(*args, **kwargs)

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        if self.missing is not None:
            raise self.missing
        self.dataset = {
            name: {"test": retrieval_split(*autofj_table(self.root / name))} for name in self.metadata.eval_langs
        }
        self.data_loaded = True


PEARL_TASKS = by_name(
    PEARLPPDB,
    PEARLPPDBFiltered,
    PEARLTurney,
    PEARLBIRD,
    PEARLYAGO,
    PEARLUMLS,
    PEARLCoNLL,
    PEARLBC5CDR,
    PEARLAutoFJ,
)
