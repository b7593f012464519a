"""PEARL tasks on small hand-made data in the hub's schema: loading, and scores against direct computations."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.errors import InputError
from m2vcli.evaluation import EvaluateConfig, evaluate, get_tasks
from m2vcli.evaluation.tasks import pearl


def write_jsonl(root: Path, config: str, split: str, rows: list[dict[str, Any]]) -> None:
    (root / config).mkdir(parents=True, exist_ok=True)
    (root / config / f"{split}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def run(model_dir: Path, out: Path, task: str) -> float:
    (outcome,) = evaluate(EvaluateConfig(model=str(model_dir), tasks=(task,), output_dir=str(out))).outcomes
    assert outcome.status == "done", outcome.message
    assert json.loads(Path(outcome.path or "").read_text())["m2v"]["category"] == "PEARL"
    assert outcome.main_score is not None
    return outcome.main_score


@pytest.fixture
def pearl_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "pearl"
    root.mkdir()
    monkeypatch.setenv(pearl.DATA_ENV, str(root))
    return root


def test_bird_is_pearson_of_cosines(tiny_model_dir: Path, tmp_path: Path, pearl_data: Path) -> None:
    from scipy.stats import pearsonr

    rows = [("cat sat", "dog sat", 0.7), ("good movie", "great film", 0.9), ("the mat", "alone", 0.1)]
    rows += [("hello world", "secret", 0.2), ("bad film", "good film", 0.4)]
    write_jsonl(pearl_data, "bird", "test", [{"term1": a, "term2": b, "relatedness score": s} for a, b, s in rows])
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    cosines = (unit(model.encode([r[0] for r in rows])) * unit(model.encode([r[1] for r in rows]))).sum(1)
    expected = pearsonr(cosines, [r[2] for r in rows]).statistic
    assert run(tiny_model_dir, tmp_path / "out", "PEARLBIRD") == pytest.approx(expected, abs=1e-5)


def test_turney_chooses_among_its_own_candidates(tiny_model_dir: Path, tmp_path: Path, pearl_data: Path) -> None:
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    rows = [
        ["cat", "cat sat", "dog", "mat", "world", "secret"],
        ["good film", "great movie", "bad", "alone", "the", "hello"],
        ["dog", "the mat", "dog sat", "cat", "good", "bad"],
        ["hello world", "alone", "hello", "secret", "dangerous", "movie"],
    ]
    names = ["query", "label", "candidate_1", "candidate_2", "candidate_3", "candidate_4"]
    write_jsonl(pearl_data, "turney", "test", [dict(zip(names, row, strict=True)) for row in rows])
    right = 0
    for query, *candidates in rows:
        scores = unit(model.encode(candidates)) @ unit(model.encode([query]))[0]
        right += int(np.argmax(scores) == 0)
    assert 0 < right < len(rows)  # the case separates right from wrong choices
    assert run(tiny_model_dir, tmp_path / "out", "PEARLTurney") == pytest.approx(right / len(rows), abs=1e-5)


def test_yago_counts_a_missing_entity_as_wrong(tiny_model_dir: Path, tmp_path: Path, pearl_data: Path) -> None:
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    kb = ["cat", "dog sat", "good movie", "hello world", "the mat", None]
    queries = [("cat cat", "cat"), ("dog", "dog sat"), ("great film", "good movie"), ("mat", "the mat")]
    queries += [("world", "hello world"), ("secret", "not in the kb")]
    write_jsonl(pearl_data, "kb", "yago", [{"entity_name": name} for name in kb])
    write_jsonl(pearl_data, "yago", "test", [{"query": q, "label": label} for q, label in queries])
    names = [n for n in kb if n]
    nearest = (unit(model.encode([q for q, _ in queries])) @ unit(model.encode(names)).T).argmax(1)
    expected = np.mean([names[i] == label for i, (_, label) in zip(nearest, queries, strict=True)])
    assert expected < 1  # the unknown entity at least is wrong
    assert run(tiny_model_dir, tmp_path / "out", "PEARLYAGO") == pytest.approx(expected, abs=1e-5)


def test_umls_takes_the_only_split_there_is(tiny_model_dir: Path, tmp_path: Path, pearl_data: Path) -> None:
    write_jsonl(pearl_data, "kb", "umls", [{"entity_name": n} for n in ["cat", "dog", "movie"]])
    write_jsonl(pearl_data, "umls", "train", [{"query": q, "label": q} for q in ["cat", "dog", "movie"]])
    assert run(tiny_model_dir, tmp_path / "out", "PEARLUMLS") == pytest.approx(1.0)


def test_clustering_maps_string_labels(tiny_model_dir: Path, tmp_path: Path, pearl_data: Path) -> None:
    rows = [{"entity": "cat", "label": "PER"}] * 6 + [{"entity": "movie film", "label": "LOC"}] * 6
    rows += [{"entity": "hello world", "label": "ORG"}] * 6
    write_jsonl(pearl_data, "conll", "test", rows)
    assert run(tiny_model_dir, tmp_path / "out", "PEARLCoNLL") == pytest.approx(1.0)
    rows[0] = {"entity": None, "label": "PER"}  # an empty entity still counts, as "NA"
    write_jsonl(pearl_data, "bc5cdr", "test", rows)
    assert 0 < run(tiny_model_dir, tmp_path / "out", "PEARLBC5CDR") < 1


def test_ppdb_probe_matches_a_direct_probe(tiny_model_dir: Path, tmp_path: Path, pearl_data: Path) -> None:
    rng = np.random.default_rng(0)
    words = ["cat", "dog", "good", "great", "film", "movie", "mat", "sat", "hello", "world", "alone", "secret"]
    first = [" ".join(rng.choice(words, size=2)) for _ in range(200)]
    same = rng.random(200) < 0.5
    second = [a if s else " ".join(rng.choice(words, size=2)) for a, s in zip(first, same, strict=True)]
    labels = ["pos" if s else "neg" for s in same]
    write_jsonl(
        pearl_data,
        "ppdb",
        "test",
        [{"phrase_1": a, "phrase_2": b, "label": y} for a, b, y in zip(first, second, labels, strict=True)],
    )
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    features = np.concatenate([model.encode(first), model.encode(second)], axis=1)
    expected = pearl.probe_accuracy(features, [int(s) for s in same])
    assert run(tiny_model_dir, tmp_path / "out", "PEARLPPDB") == pytest.approx(expected, abs=1e-6)


def test_probe_learns_a_separable_rule_and_not_noise() -> None:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(600, 8))
    assert pearl.probe_accuracy(features, [int(x > 0) for x in features[:, 0]]) > 0.9
    assert pearl.probe_accuracy(features, [int(x) for x in rng.integers(0, 2, 600)]) < 0.7


def write_table(folder: Path, left: list[str], matches: list[tuple[str, str]], extra_right: list[str]) -> None:
    folder.mkdir(parents=True)

    def write(name: str, header: list[str], rows: list[list[Any]]) -> None:
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, *rows])

    write("left.csv", ["id", "title"], [[i, t] for i, t in enumerate(left)])
    write("right.csv", ["id", "title"], [[i, t] for i, t in enumerate([r for r, _ in matches] + extra_right)])
    write("gt.csv", ["id_l", "title_l", "id_r", "title_r"], [[0, lt, 0, rt] for rt, lt in matches])


def test_autofj_is_the_mean_of_per_table_accuracy(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = {
        "Animals": (
            ["cat sat", "dog", "the mat", "hello, world"],
            [("cat", "cat sat"), ("dog dog", "dog"), ("world hello", "hello, world")],
        ),
        "Films": (
            ["good movie", "bad film", "alone"],
            [("great movie", "good movie"), ("film", "bad film"), ("movie alone", "alone")],
        ),
    }
    package = tmp_path / "autofj"
    for name, (left, matches) in tables.items():
        write_table(package / "benchmark" / name, left, matches, ["secret"])  # an unmatched right row
    monkeypatch.setattr(pearl, "package_dir", lambda package_name, pip_name: package)
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    accuracies = []
    for left, queries in tables.values():
        nearest = (unit(model.encode([q for q, _ in queries])) @ unit(model.encode(left)).T).argmax(1)
        accuracies.append(np.mean([left[i] == right for i, (_, right) in zip(nearest, queries, strict=True)]))
    assert pearl.autofj_tables() == tables  # read back as written, the unmatched row left out
    assert run(tiny_model_dir, tmp_path / "out", "PEARLAutoFJ") == pytest.approx(np.mean(accuracies), abs=1e-5)


def test_autofj_table_with_a_bad_header_fails_that_task_only(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "autofj"
    write_table(package / "benchmark" / "Animals", ["cat"], [("cat", "cat")], [])
    (package / "benchmark" / "Animals" / "left.csv").write_text("id,name\n0,cat\n")
    monkeypatch.setattr(pearl, "package_dir", lambda package_name, pip_name: package)
    report = evaluate(EvaluateConfig(model=str(tiny_model_dir), tasks=("PEARLAutoFJ",), output_dir=str(tmp_path)))
    (outcome,) = report.outcomes
    assert outcome.status == "failed" and "left.csv has no 'title' column" in (outcome.message or "")


@pytest.mark.data
def test_autofj_reads_the_installed_package() -> None:
    tables = pearl.autofj_tables()
    assert len(tables) == 50
    left, queries = tables["Amphibian"]
    assert len(left) > len(queries) > 100


def test_missing_autofj_package_names_it(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "autofj" else real(name, *a))
    report = evaluate(EvaluateConfig(model=str(tiny_model_dir), tasks=("PEARLAutoFJ",), output_dir=str(tmp_path)))
    (outcome,) = report.outcomes
    assert outcome.status == "failed" and "pip install autofj==0.0.6" in (outcome.message or "")


def test_hub_loading_asks_for_the_config_then_takes_the_named_or_only_split(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    monkeypatch.delenv(pearl.DATA_ENV, raising=False)
    rows = {"term1": ["cat", "good", "the"], "term2": ["dog", "great", "alone"], "relatedness score": [0.5, 0.9, 0.1]}
    calls: list[tuple[Any, ...]] = []
    fixture = datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)})

    def load_dataset(*args: Any, **kwargs: Any) -> Any:
        calls.append((*args, *kwargs.values()))
        return fixture

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    run(tiny_model_dir, tmp_path / "out", "PEARLBIRD")
    assert calls == [("Lihuchen/pearl_benchmark", "bird")]  # one request: the whole configuration
    assert pearl.pearl_split("bird", "train")["term1"] == rows["term1"]  # the named split when it is there
    fixture["other"] = fixture["train"]
    with pytest.raises(InputError, match="has no split 'test' \\(it has train, other\\)"):
        pearl.pearl_split("bird", "test")


def test_missing_column_and_missing_data_are_one_line_failures(
    tiny_model_dir: Path, tmp_path: Path, pearl_data: Path
) -> None:
    write_jsonl(pearl_data, "bird", "test", [{"term1": "cat", "term2": "dog", "score": 1.0}])
    report = evaluate(
        EvaluateConfig(model=str(tiny_model_dir), tasks=("PEARLBIRD", "PEARLTurney"), output_dir=str(tmp_path))
    )
    bird, turney = report.outcomes
    assert bird.status == "failed" and "missing column 'relatedness score'" in (bird.message or "")
    assert turney.status == "failed" and "no PEARL data for 'turney'" in (turney.message or "")


def test_pearl_suite_lists_the_nine_data_sets() -> None:
    names = [task.metadata.name for task in get_tasks(suite="pearl")]
    assert len(names) == 9 and all(name.startswith("PEARL") for name in names)
    assert "PEARLAutoFJ" in [task.metadata.name for task in get_tasks()]  # the offline one is in the default suite


def test_unreachable_hub_says_how_to_run_pearl_offline(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    def offline(*args: object, **kwargs: object) -> object:
        raise ConnectionError("Couldn't reach 'Lihuchen/pearl_benchmark' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.delenv(pearl.DATA_ENV, raising=False)
    monkeypatch.setattr(datasets, "load_dataset", offline)
    report = evaluate(EvaluateConfig(model=str(tiny_model_dir), tasks=("PEARLTurney",), output_dir=str(tmp_path)))
    (outcome,) = report.outcomes
    assert outcome.status == "failed"
    assert "set M2V_PEARL_DATA to a folder holding a copy of Lihuchen/pearl_benchmark" in (outcome.message or "")


def test_local_copy_prefers_the_named_split_and_refuses_ambiguity(
    tiny_model_dir: Path, tmp_path: Path, pearl_data: Path
) -> None:
    rows = [("cat", "dog", 0.5), ("good", "great", 0.9), ("the", "alone", 0.1)]
    write_jsonl(pearl_data, "bird", "test", [{"term1": a, "term2": b, "relatedness score": s} for a, b, s in rows])
    write_jsonl(pearl_data, "bird", "train", [{"other": 1}])  # not read: the test split is there
    assert pearl.pearl_split("bird", "test")["term1"] == ["cat", "good", "the"]
    (pearl_data / "bird" / "test.csv").write_text("term1,term2,relatedness score\ncat,dog,0.5\n")
    with pytest.raises(InputError, match="split 'test' in more than one file"):
        pearl.pearl_split("bird", "test")


def test_ppdb_label_outside_pos_and_neg_is_named(tiny_model_dir: Path, tmp_path: Path, pearl_data: Path) -> None:
    write_jsonl(pearl_data, "ppdb", "test", [{"phrase_1": "cat", "phrase_2": "dog", "label": "maybe"}] * 4)
    report = evaluate(EvaluateConfig(model=str(tiny_model_dir), tasks=("PEARLPPDB",), output_dir=str(tmp_path)))
    assert "label 'maybe' is not pos or neg" in (report.outcomes[0].message or "")
