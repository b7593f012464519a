"""Evaluation tasks on the user's own data, declared in YAML (``m2v evaluate --task-file tasks.yaml``).

```yaml
tasks:
  - name: SupportTickets
    type: classification   # word-, text-similarity, classification, clustering, pair-classification, retrieval
    path: tickets.csv             # .csv, .tsv or .jsonl; relative to this file
    columns: {text: body, label: queue}
    test_share: 0.2               # classification: seeded split, unless split_column names train/test rows
  - name: FAQSearch
    type: retrieval               # each row a query and one relevant document; nDCG@10
    path: faq.tsv
    columns: {query: question, document: answer}
    corpus: more_answers.tsv      # optional: more documents (its `document` column), none of them relevant
```

Each entry becomes a local MTEB task, so its score uses MTEB's evaluator. Errors name the file, the line of
the YAML entry and the key at fault.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from m2vcli.config import read_yaml
from m2vcli.errors import ConfigError
from m2vcli.files import read_text

COLUMNS = {
    "word-similarity": ("text1", "text2", "score"),
    "text-similarity": ("text1", "text2", "score"),
    "classification": ("text", "label"),
    "clustering": ("text", "label"),
    "pair-classification": ("text1", "text2", "label"),
    "retrieval": ("query", "document"),
}
KEYS = {"name", "type", "path", "columns", "test_share", "split_column", "seed", "corpus"}


def _lines(text: str) -> list[int]:
    """The line (from 1) of each entry under ``tasks``."""
    import yaml

    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "tasks" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def read_rows(path: Path) -> list[dict[str, Any]]:
    text = read_text(path, "task data file")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise ConfigError(f"{path} line {number} is not valid JSON") from exc
        return rows
    if suffix in (".csv", ".tsv"):
        return list(csv.DictReader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ","))
    raise ConfigError(f"task data file {path} must be .csv, .tsv or .jsonl")


def _check_values(rows: list[dict[str, Any]], names: list[str], path: Path) -> None:
    """Every row has a value in every named column (CSV rows count from 2, after the header)."""
    first = 1 if path.suffix.lower() == ".jsonl" else 2
    for number, row in enumerate(rows, start=first):
        for name in names:
            if not isinstance(row, dict) or row.get(name) is None:
                raise ConfigError(f"{path} row {number}: no value for column {name!r}")


def load_task_file(path: str | Path) -> list[Any]:
    """Task objects for every entry of a YAML task file."""
    file = Path(path)
    data, text = read_yaml(file, "task file")
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list) or not data["tasks"]:
        raise ConfigError(f"{file} must hold a 'tasks' list")
    lines = _lines(text)
    return [_build(file, entry, lines[i] if i < len(lines) else 0) for i, entry in enumerate(data["tasks"])]


def _build(file: Path, entry: Any, line: int) -> Any:
    where = f"{file} line {line}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: each task must be a mapping")
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(KEYS))}")
    for key in ("name", "type", "path", "columns"):
        if key not in entry:
            raise ConfigError(f"{where}: missing key {key!r}")
    kind = entry["type"]
    if kind not in COLUMNS:
        raise ConfigError(f"{where}: type must be one of {', '.join(COLUMNS)}, got {kind!r}")
    columns = entry["columns"]
    if not isinstance(columns, dict):
        raise ConfigError(f"{where}: columns must map {', '.join(COLUMNS[kind])} to column names")
    for role in COLUMNS[kind]:
        if role not in columns:
            raise ConfigError(f"{where}: columns is missing {role!r} (a {kind} task needs {', '.join(COLUMNS[kind])})")
    data_path = (file.parent / str(entry["path"])).resolve()
    rows = read_rows(data_path)
    if not rows:
        raise ConfigError(f"{where}: {data_path} has no rows")
    for role in COLUMNS[kind]:
        if columns[role] not in rows[0]:
            raise ConfigError(f"{where}: column {columns[role]!r} ({role}) is not in {data_path}")
    _check_values(rows, [columns[role] for role in COLUMNS[kind]], data_path)
    if kind in ("classification", "clustering") and len({str(row[columns["label"]]) for row in rows}) < 2:
        raise ConfigError(f"{where}: a {kind} task needs at least two label values in {data_path}")
    if "corpus" in entry:
        if kind != "retrieval":
            raise ConfigError(f"{where}: corpus is for retrieval tasks only")
        corpus_path = (file.parent / str(entry["corpus"])).resolve()
        corpus_rows = read_rows(corpus_path)
        if corpus_rows and columns["document"] not in corpus_rows[0]:
            raise ConfigError(f"{where}: column {columns['document']!r} (document) is not in {corpus_path}")
        _check_values(corpus_rows, [columns["document"]], corpus_path)
        entry = {**entry, "corpus": [str(row[columns["document"]]) for row in corpus_rows]}
    return _task(str(entry["name"]), kind, rows, columns, entry)


def _task(name: str, kind: str, rows: list[dict[str, Any]], columns: dict[str, str], entry: dict[str, Any]) -> Any:
    from datasets import Dataset, DatasetDict

    from m2vcli import packaged_data
    from m2vcli.evaluation.tasks.common import make_user_task, retrieval_split

    def col(role: str) -> list[Any]:
        return [row[columns[role]] for row in rows]

    if kind == "retrieval":
        relevant: dict[str, list[str]] = {}
        for query, document in zip(col("query"), col("document"), strict=True):
            relevant.setdefault(str(query), []).append(str(document))
        documents = [str(d) for d in col("document")] + list(entry.get("corpus", []))
        split = retrieval_split(documents, list(relevant.items()))
        return make_user_task(name, kind, {"default": {"test": split}})
    if kind in ("word-similarity", "text-similarity"):
        scores = [float(s) for s in col("score")]
        test = {"sentence1": col("text1"), "sentence2": col("text2"), "score": scores}
        splits = {"test": test}
        extra: dict[str, Any] = {"min_score": min(scores), "max_score": max(scores)}
    elif kind == "pair-classification":
        splits = {
            "test": {"sentence1": col("text1"), "sentence2": col("text2"), "labels": [int(x) for x in col("label")]}
        }
        extra = {}
    else:
        names = sorted({str(x) for x in col("label")})
        labels = [names.index(str(x)) for x in col("label")]
        texts = [str(t) for t in col("text")]
        if kind == "clustering":
            splits = {"test": {"sentences": [texts], "labels": [labels]}}  # one set, clustered as a whole
        else:
            split_column = entry.get("split_column")
            if split_column:
                train = [i for i, row in enumerate(rows) if row.get(split_column) == "train"]
                test_rows = [i for i, row in enumerate(rows) if row.get(split_column) == "test"]
            else:
                train, test_rows = packaged_data.split(
                    len(rows), float(entry.get("test_share", 0.2)), int(entry.get("seed", 42))
                )
            splits = {
                split: {"text": [texts[i] for i in part], "label": [labels[i] for i in part]}
                for split, part in (("train", train), ("test", test_rows))
            }
        extra = {}
    dataset = DatasetDict({split: Dataset.from_dict(values) for split, values in splits.items()})
    return make_user_task(name, kind, dataset, **extra)
