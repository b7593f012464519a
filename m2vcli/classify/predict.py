"""The ``m2v predict`` job: texts in, a label and the class probabilities per text out, streamed as
``m2v encode`` streams vectors (the same input layer, the same look-ahead encoding, bounded memory).

Output, one row per input text in order:

- JSON lines: ``{"label": "spam", "probabilities": {"ham": 0.03, "spam": 0.97}}`` (``"labels": [...]``
  for a multi-label classifier), with ``"id"`` first when ``--id-field`` is given;
- CSV: ``id`` (when given), ``label`` (a JSON list for multi-label), then one ``p_<class>`` column per class;
- Parquet: the same columns (a list column of labels for multi-label).

A file output is written to a temporary sibling and renamed into place: an interrupted run leaves nothing.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from m2vcli.callbacks import OnProgress
from m2vcli.classify.classifier import StaticClassifier, check_threshold
from m2vcli.config import coerce_enum
from m2vcli.errors import ConfigError, InputError, MissingValueError, OutputError
from m2vcli.files import atomic_file, check_not_read, check_output_file, local_path, stdout_path
from m2vcli.texts import Chunk, InputFormat, ReadSettings, choose_input_format, open_input, read_chunks


class PredictFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


@dataclass(frozen=True)
class PredictConfig:
    """Settings of ``m2v predict``."""

    model: str | None = None
    input: str | None = None  # None or "-": standard input
    output: str | None = None  # None or "-": standard output
    format: PredictFormat | None = None  # default: from the output's extension, else jsonl
    input_format: InputFormat | None = None
    field: str | None = None
    id_field: str | None = None
    threshold: float | None = None  # multi-label; default: the classifier's
    batch_size: int = 1024
    texts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        coerce_enum(self, "format", PredictFormat)
        coerce_enum(self, "input_format", InputFormat)
        if not self.model:
            raise MissingValueError("no classifier given: pass --model/-m FOLDER", option="--model")
        if self.threshold is not None:
            check_threshold(self.threshold)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(
                f"batch_size must be a whole number of at least 1, got {self.batch_size!r}", key="batch_size"
            )


@dataclass(frozen=True)
class PredictResult:
    rows: int
    format: PredictFormat
    output: str
    counts: dict[str, int]


def output_format(config: PredictConfig) -> PredictFormat:
    if config.format is not None:
        return config.format
    if config.output and config.output != "-":
        suffix = Path(config.output).suffix.lower().lstrip(".")
        if suffix in PredictFormat.__members__:
            return PredictFormat(suffix)
        if suffix == "tsv":
            raise ConfigError("predictions are written as jsonl, csv or parquet; pass --format")
    return PredictFormat.jsonl


def _input_format(config: PredictConfig) -> InputFormat:
    if config.texts:
        if config.input or config.field or config.id_field:
            raise ConfigError("--text gives texts directly: an input file, --field and --id-field do not apply")
        return InputFormat.text
    name = None if config.input in (None, "-") else config.input
    fmt = choose_input_format(config.input_format, name, bool(config.field or config.id_field))
    if not fmt.has_fields and (config.field or config.id_field):
        raise ConfigError("--field and --id-field apply to jsonl, csv, tsv and parquet input (pass --input-format)")
    if fmt is InputFormat.parquet and name is None:
        raise ConfigError("Parquet input must be a file, not standard input")
    return fmt


class _Rows:
    """Writes predictions in one of the formats; ``write`` takes a chunk's labels and probabilities."""

    def __init__(self, fmt: PredictFormat, out: BinaryIO, classifier: StaticClassifier, with_ids: bool) -> None:
        self.fmt, self.out, self.with_ids = fmt, out, with_ids
        self.classes = classifier.classes
        self.multilabel = classifier.multilabel
        self.key = "labels" if self.multilabel else "label"
        self.written = 0
        self._parquet: Any = None
        self._text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        if fmt is PredictFormat.csv:
            self._csv = csv.writer(self._text)
            self._csv.writerow([*(["id"] if with_ids else []), self.key, *(f"p_{c}" for c in self.classes)])

    def write(self, labels: np.ndarray, probabilities: np.ndarray, ids: list[Any] | None) -> None:
        rounded = np.round(probabilities.astype(np.float64), 6)
        if self.fmt is PredictFormat.jsonl:
            lines = []
            for i, label in enumerate(labels):
                row: dict[str, Any] = {"id": ids[i]} if ids is not None else {}
                row[self.key] = label
                row["probabilities"] = dict(zip(map(str, self.classes), rounded[i].tolist(), strict=True))
                lines.append(json.dumps(row, ensure_ascii=False))
            self._text.write("\n".join(lines) + "\n")
        elif self.fmt is PredictFormat.csv:
            for i, label in enumerate(labels):
                shown = json.dumps(label, ensure_ascii=False) if self.multilabel else label
                self._csv.writerow([*([ids[i]] if ids is not None else []), shown, *rounded[i].tolist()])
        else:
            self._write_parquet(labels, probabilities, ids)
        self.written += len(labels)

    def _write_parquet(self, labels: np.ndarray, probabilities: np.ndarray, ids: list[Any] | None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns: dict[str, Any] = {}
        if ids is not None:
            columns["id"] = pa.array(ids)
        columns[self.key] = pa.array(labels.tolist())
        for j, c in enumerate(self.classes):
            columns[f"p_{c}"] = pa.array(probabilities[:, j].astype(np.float32))
        table = pa.table(columns)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.out, table.schema)
        self._parquet.write_table(table)

    def finish(self) -> None:
        if self.fmt is PredictFormat.parquet and self._parquet is None:
            self._write_parquet(
                np.empty(0, dtype=object), np.zeros((0, len(self.classes))), [] if self.with_ids else None
            )
        if self._parquet is not None:
            self._parquet.close()
        self._text.flush()
        self._text.detach()


def predict_texts(
    config: PredictConfig,
    *,
    load: Callable[[str], StaticClassifier] = StaticClassifier.from_pretrained,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    on_progress: OnProgress | None = None,
) -> PredictResult:
    """Run ``m2v predict``: read texts, classify them a batch at a time, write rows as they come."""
    fmt = output_format(config)
    in_fmt = _input_format(config)
    if fmt is PredictFormat.parquet:
        from m2vcli.extras import require

        require("parquet", "writing Parquet")
    to_stdout = config.output in (None, "-")
    reading_stdin = not config.texts and config.input in (None, "-")
    inputs = [] if config.texts or reading_stdin else [config.input]
    target = None if to_stdout else check_output_file(str(config.output), "output path", inputs=inputs)
    if target is not None:
        check_not_read(target, [*inputs, local_path(config.model)], "output path")
    assert config.model is not None
    classifier = load(config.model)
    threshold = classifier.threshold if config.threshold is None else config.threshold
    name = "input" if reading_stdin or config.texts else f"input {config.input}"
    settings = ReadSettings(
        format=in_fmt,
        field=config.field or "text",
        id_field=config.id_field,
        max_chars=classifier.embedder.longest_text(),
        rows=config.batch_size,
        name=name,
    )
    progress = on_progress or (lambda done, total: None)
    counts = dict.fromkeys(map(str, classifier.classes), 0)

    def chunks(source: BinaryIO | None) -> Iterator[Chunk]:
        if source is None:
            texts = list(config.texts)
            for start in range(0, len(texts), config.batch_size):
                part = texts[start : start + config.batch_size]
                yield Chunk(part, list(range(start, start + len(part))))
            return
        try:
            yield from read_chunks(source, settings)
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc

    def run(source: BinaryIO | None, out: BinaryIO) -> int:
        rows = _Rows(fmt, out, classifier, config.id_field is not None)
        progress(0, len(config.texts))
        for chunk, vectors in classifier.embedder.encode_stream(chunks(source), texts=lambda c: c.texts):
            probabilities = classifier.head.probabilities(vectors)
            labels = classifier.decide(probabilities, threshold)
            for label in labels:
                for item in label if classifier.multilabel else [label]:
                    counts[str(item)] += 1
            rows.write(labels, probabilities, chunk.ids)
            progress(rows.written, len(config.texts))
        rows.finish()
        return rows.written

    source: BinaryIO | None = None
    try:
        if reading_stdin:
            source = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
            if source is None:
                raise InputError("cannot read standard input: it is closed; give an input file")
        elif not config.texts:
            assert config.input is not None
            source = open_input(config.input)
        if target is None:
            out = stdout if stdout is not None else getattr(sys.stdout, "buffer", None)
            if out is None:
                raise OutputError("cannot write standard output: it is closed; pass -o FILE")
            redirected = stdout_path(out)  # > model/config.json, > the input itself
            if redirected is not None:
                check_not_read(redirected, [*inputs, local_path(config.model)], "standard output")
            try:
                written = run(source, out)
                out.flush()
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise OutputError(f"cannot write standard output: {exc.strerror or exc}") from exc
        else:
            with atomic_file(target) as handle:
                written = run(source, handle)
    finally:
        if source is not None and not reading_stdin:
            source.close()
    return PredictResult(rows=written, format=fmt, output=str(target or "-"), counts=counts)
