"""Evaluation tasks on the user's own data, declared in YAML (``m2v evaluate --task-file tasks.yaml``).

```yaml
tasks:
  - name: SupportTickets
    type: classification   # word-, text-similarity, classification, clustering, pair-classification, retrieval
    path: tickets.csv             # .csv, .tsv, .jsonl or .parquet; relative to this file
    columns: {text: body, label: queue}
    test_share: 0.2               # classification: seeded split, unless split_column names train/test rows
  - name: FAQSearch
    type: retrieval               # each row a query and one relevant document; nDCG@10
    path: faq.tsv
    columns: {query: question, document: answer}
    corpus: more_answers.tsv      # optional: more documents (its `document` column), none of them relevant
```

Each entry becomes a local MTEB task, so its score uses MTEB's evaluator. Errors name the file, the line of
the YAML entry and the key at fault; a bad value in a data file is named by its row and column. Scores must
be finite numbers, pair-classification labels 0 or 1, and texts strings. A data file over
``MAX_DATA_BYTES`` is refused before it is read, and a file that several tasks use is read once.
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import Any

from m2vcli.config import clip, read_yaml, yaml_loader
from m2vcli.errors import ConfigError, InputError
from m2vcli.files import file_size
from m2vcli.texts import InputFormat, ReadSettings, open_input
from m2vcli.texts.records import read_table

COLUMNS = {
    "word-similarity": ("text1", "text2", "score"),
    "text-similarity": ("text1", "text2", "score"),
    "classification": ("text", "label"),
    "clustering": ("text", "label"),
    "pair-classification": ("text1", "text2", "label"),
    "retrieval": ("query", "document"),
}
KEYS = {"name", "type", "path", "columns", "test_share", "split_column", "seed", "corpus"}
MAX_DATA_BYTES = 512 * 1024**2
MAX_NAME_BYTES = 200  # a task name becomes a file name
MAX_PATH_CHARS = 4096
MAX_SEED = 2**32 - 1

Rows = list[tuple[str, dict[str, Any]]]  # each row with where it stands: "task data file F line N"


def _lines(text: str) -> list[int]:
    """The line (from 1) of each entry under ``tasks``."""
    import yaml

    root = yaml.compose(text, Loader=yaml_loader())
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "tasks" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def read_rows(path: Path) -> Rows:
    """The rows of a JSON lines, CSV/TSV or Parquet file (at most ``MAX_DATA_BYTES``), each with where it
    stands, read through ``m2vcli.texts`` (the same rules and messages as every other input)."""
    fmt = InputFormat.from_suffix(path.name)
    if fmt is None or fmt is InputFormat.text:
        raise ConfigError(f"task data file {path} must be .csv, .tsv, .jsonl or .parquet")
    file_size(path, "task data file", MAX_DATA_BYTES)
    settings = ReadSettings(format=fmt, name=f"task data file {path}")
    with open_input(str(path), "task data file") as stream:
        try:
            return [(where, row) for row, where in read_table(stream, settings)]
        except OSError as exc:
            raise InputError(f"cannot read task data file {path}: {exc.strerror or exc}") from exc


def _check_values(rows: Rows, names: list[str], path: Path) -> None:
    """Every row has a value in every named column."""
    for where, row in rows:
        for name in names:
            if row.get(name) is None:
                raise ConfigError(f"{where}: no value for column {clip(name, 40)}")


def load_task_file(path: str | Path) -> list[Any]:
    """Task objects for every entry of a YAML task file."""
    file = Path(path)
    data, text = read_yaml(file, "task file")
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list) or not data["tasks"]:
        raise ConfigError(f"{file} must hold a 'tasks' list")
    if len(data) > 1:
        other = next(k for k in data if k != "tasks")
        raise ConfigError(f"{file}: unknown key {clip(other, 40)}; a task file holds only a 'tasks' list")
    lines = _lines(text)
    cache: dict[Path, Rows] = {}
    seen: dict[str, int] = {}
    tasks = []
    for i, entry in enumerate(data["tasks"]):
        line = lines[i] if i < len(lines) else 0
        where = f"{file} line {line}"
        _check_entry(where, entry)
        name = entry["name"]
        if name in seen:
            raise ConfigError(f"{where}: the name {clip(name)} is already used by the task at line {seen[name]}")
        seen[name] = line
        tasks.append(_build(file, entry, where, cache))
    return tasks


def _fail(where: str, key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{where}: {key} must be {expected}, got {clip(value)}")


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)


def _check_entry(where: str, entry: Any) -> None:
    """The keys of one task entry and the type and range of each value."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: each task must be a mapping")
    unknown = sorted(str(k) for k in set(entry) - KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {clip(unknown[0], 40)}; valid keys: {', '.join(sorted(KEYS))}")
    for key in ("name", "type", "path", "columns"):
        if key not in entry:
            raise ConfigError(f"{where}: missing key {key!r}")
    name = entry["name"]
    if not isinstance(name, str) or not name.strip():
        raise _fail(where, "name", "a non-empty string", name)
    if "/" in name or "\\" in name or name in (".", "..") or _has_control(name):
        raise _fail(where, "name", "a name without path separators or control characters", name)
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise _fail(where, "name", f"at most {MAX_NAME_BYTES} bytes long (in UTF-8)", name)
    kind = entry["type"]
    if not isinstance(kind, str) or kind not in COLUMNS:
        raise _fail(where, "type", f"one of {', '.join(COLUMNS)}", kind)
    for key in ("path", "corpus"):
        value = entry.get(key, "-")
        if not isinstance(value, str) or not value.strip() or _has_control(value) or len(value) > MAX_PATH_CHARS:
            raise _fail(where, key, "a file path (a non-empty string without control characters)", value)
    columns = entry["columns"]
    roles = COLUMNS[kind]
    if not isinstance(columns, dict):
        raise _fail(where, "columns", f"a mapping of {', '.join(roles)} to column names", columns)
    for role, column in columns.items():
        if role not in roles:
            raise ConfigError(f"{where}: columns has {clip(role, 40)}, but a {kind} task takes {', '.join(roles)}")
        if not isinstance(column, str) or not column:
            raise _fail(where, f"columns.{role}", "a column name (a non-empty string)", column)
    for role in roles:
        if role not in columns:
            raise ConfigError(f"{where}: columns is missing {role!r} (a {kind} task needs {', '.join(roles)})")
    share = entry.get("test_share", 0.2)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
        raise _fail(where, "test_share", "a number between 0 and 1 (exclusive)", share)
    seed = entry.get("seed", 42)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise _fail(where, "seed", f"a whole number between 0 and {MAX_SEED}", seed)
    split_column = entry.get("split_column", "-")
    if not isinstance(split_column, str) or not split_column:
        raise _fail(where, "split_column", "a column name (a non-empty string)", split_column)
    if "corpus" in entry and kind != "retrieval":
        raise ConfigError(f"{where}: corpus is for retrieval tasks only")


def _rows(path: Path, cache: dict[Path, Rows]) -> Rows:
    if path not in cache:
        cache[path] = read_rows(path)
    return cache[path]


def _build(file: Path, entry: dict[str, Any], where: str, cache: dict[Path, Rows]) -> Any:
    kind, columns = entry["type"], entry["columns"]
    data_path = (file.parent / entry["path"]).resolve()
    rows = _rows(data_path, cache)
    if not rows:
        raise ConfigError(f"{where}: {data_path} has no rows")
    for role in COLUMNS[kind]:
        if columns[role] not in rows[0][1]:
            raise ConfigError(f"{where}: column {clip(columns[role], 40)} ({role}) is not in {data_path}")
    _check_values(rows, [columns[role] for role in COLUMNS[kind]], data_path)
    values = {role: _column(rows, columns[role], role, kind, data_path) for role in COLUMNS[kind]}
    if kind in ("classification", "clustering") and len({str(x) for x in values["label"]}) < 2:
        raise ConfigError(f"{where}: a {kind} task needs at least two label values in {data_path}")
    if kind == "pair-classification" and set(values["label"]) != {0, 1}:
        raise ConfigError(f"{where}: a pair-classification task needs both labels, 0 and 1, in {data_path}")
    corpus: list[str] = []
    if "corpus" in entry:
        corpus_path = (file.parent / entry["corpus"]).resolve()
        corpus_rows = _rows(corpus_path, cache)
        if corpus_rows and columns["document"] not in corpus_rows[0][1]:
            raise ConfigError(f"{where}: column {clip(columns['document'], 40)} (document) is not in {corpus_path}")
        _check_values(corpus_rows, [columns["document"]], corpus_path)
        corpus = _column(corpus_rows, columns["document"], "document", kind, corpus_path)
    split: tuple[list[int], list[int]] | None = None
    if kind == "classification" and "split_column" in entry:
        split = _split(rows, entry["split_column"], where, data_path)
    return _task(entry["name"], kind, values, entry, corpus, split)


def _column(rows: Rows, column: str, role: str, kind: str, path: Path) -> list[Any]:
    """The values of one column, checked for their role: texts are strings, scores finite numbers,
    pair-classification labels 0 or 1, other labels strings or whole numbers."""
    out: list[Any] = []
    for where, row in rows:
        value = row[column]
        at = f"{where}, column {clip(column, 40)}"
        if role == "score":
            number_value = _finite(value)
            if number_value is None:
                raise ConfigError(f"{at}: a score must be a finite number, got {clip(value)}")
            out.append(number_value)
        elif role == "label" and kind == "pair-classification":
            label = value.strip() if isinstance(value, str) else value
            if isinstance(label, bool) or label not in (0, 1, "0", "1") or isinstance(label, float):
                raise ConfigError(f"{at}: a pair-classification label must be 0 or 1, got {clip(value)}")
            out.append(int(label))
        elif role == "label":
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise ConfigError(f"{at}: a label must be a string or a whole number, got {clip(value)}")
            out.append(value)
        else:
            if not isinstance(value, str):
                raise ConfigError(f"{at}: a {role} must be a string, got {clip(value)}")
            out.append(value)
    return out


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None: a number, or a string that spells one (CSV cells are text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _split(rows: Rows, column: str, where: str, path: Path) -> tuple[list[int], list[int]]:
    """Train and test row indexes from ``split_column`` (rows holding neither word are left out)."""
    if column not in rows[0][1]:
        raise ConfigError(f"{where}: split_column {clip(column, 40)} is not in {path}")
    train = [i for i, (_, row) in enumerate(rows) if row.get(column) == "train"]
    test = [i for i, (_, row) in enumerate(rows) if row.get(column) == "test"]
    if not train or not test:
        raise ConfigError(f"{where}: split_column {clip(column, 40)} needs rows marked train and rows marked test")
    return train, test


def _task(
    name: str,
    kind: str,
    values: dict[str, list[Any]],
    entry: dict[str, Any],
    corpus: list[str],
    split: tuple[list[int], list[int]] | None,
) -> Any:
    from datasets import Dataset, DatasetDict

    from m2vcli import packaged_data
    from m2vcli.evaluation.tasks.common import make_user_task, retrieval_split

    if kind == "retrieval":
        relevant: dict[str, list[str]] = {}
        for query, document in zip(values["query"], values["document"], strict=True):
            relevant.setdefault(query, []).append(document)
        split_data = retrieval_split(list(values["document"]) + corpus, list(relevant.items()))
        return make_user_task(name, kind, {"default": {"test": split_data}})
    if kind in ("word-similarity", "text-similarity"):
        scores = values["score"]
        splits = {"test": {"sentence1": values["text1"], "sentence2": values["text2"], "score": scores}}
        extra: dict[str, Any] = {"min_score": min(scores), "max_score": max(scores)}
    elif kind == "pair-classification":
        splits = {"test": {"sentence1": values["text1"], "sentence2": values["text2"], "labels": values["label"]}}
        extra = {}
    else:
        names = sorted({str(x) for x in values["label"]})
        index = {label: i for i, label in enumerate(names)}
        labels = [index[str(x)] for x in values["label"]]
        texts = values["text"]
        if kind == "clustering":
            splits = {"test": {"sentences": [texts], "labels": [labels]}}  # one set, clustered as a whole
        else:
            train, test_rows = split or packaged_data.split(
                len(texts), float(entry.get("test_share", 0.2)), int(entry.get("seed", 42))
            )
            splits = {
                part_name: {"text": [texts[i] for i in part], "label": [labels[i] for i in part]}
                for part_name, part in (("train", train), ("test", test_rows))
            }
        extra = {}
    dataset = DatasetDict({part: Dataset.from_dict(data) for part, data in splits.items()})
    return make_user_task(name, kind, dataset, **extra)
