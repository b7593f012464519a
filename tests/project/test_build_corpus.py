"""The corpus builder's pieces on small inputs: sentence splitting, the repair of the news articles' broken
quotes, the overlap check against evaluation text, and the selection. No download, no WordNet."""

from __future__ import annotations

import doctest
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def load_builder() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "build_corpus.py"
    spec = importlib.util.spec_from_file_location("build_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bc = load_builder()


def test_the_docstring_examples_hold() -> None:
    result = doctest.testmod(bc)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("It rained. We stayed in!", ["It rained.", "We stayed in!"]),
        (
            "Mr. Smith and Dr. Jones met on Sept. 3. They talked.",
            ["Mr. Smith and Dr. Jones met on Sept. 3.", "They talked."],
        ),
        ("The U.S. Senate voted. George W. Bush spoke.", ["The U.S. Senate voted.", "George W. Bush spoke."]),
        ('"Is it over?" she asked. "No."', ['"Is it over?" she asked.', '"No."']),
        ("He read No. 5 aloud. It was short.", ["He read No. 5 aloud.", "It was short."]),
        ("Costs rose 3.5 percent. Wages did not.", ["Costs rose 3.5 percent.", "Wages did not."]),
        ("a lower-case start. it stays whole", ["a lower-case start. it stays whole"]),
        ("  spaced \n\t out  ", ["spaced out"]),
        ("", []),
    ],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert bc.split_sentences(text) == sentences


def test_fragments_join_the_next_sentence_and_lengths_are_bounded() -> None:
    long = "Now " + " ".join(["word"] * 80) + "."
    paragraph = f"Yes. Indeed. We will build the road. {long} Fine. Thanks."
    assert bc.paragraph_texts(paragraph) == ["Yes. Indeed. We will build the road."]
    assert bc.paragraph_texts("Four words stand here.") == ["Four words stand here."]


@pytest.mark.parametrize(
    ("broken", "repaired"),
    [
        ('"We will win,"?he said.', '"We will win," he said.'),
        ('He said "we are done."?Then he left the room.', 'He said "we are done." Then he left the room.'),
        ('It is not that old "?it is new.', "It is not that old \u2014 it is new."),
        ('They listed "\ufffdmoderate"?groups by name.', 'They listed "moderate" groups by name.'),
        ('The senators"?votes were counted.', "The senators' votes were counted."),
        ('It doesn"t matter, they"re here.', "It doesn't matter, they're here."),
        (
            "The vote ended.- Next came the count,-and the result.",
            "The vote ended. Next came the count, and the result.",
        ),
        ('It ended. "the crowd left," she said.', 'It ended. "The crowd left," she said.'),
    ],
)
def test_broken_quotes_with_one_reading_are_repaired(broken: str, repaired: str) -> None:
    texts, dropped = bc.news_texts(broken)
    assert " ".join(texts) == repaired
    assert sum(dropped.values()) == 0


@pytest.mark.parametrize(
    "broken",
    [
        'He met Trump"?aides in the hall.',  # an apostrophe or a closing quote: no clear reading
        "Police told garda\ufffd\ufffd he was there.",
        'The cost was "?0 million in the end.',
        "The channel RT?s host spoke at length.",
    ],
)
def test_damage_without_a_clear_reading_drops_the_sentence(broken: str) -> None:
    texts, dropped = bc.news_texts(f"{broken} The next sentence is clean.")
    assert texts == ["The next sentence is clean."]
    assert dropped["damaged"] == 1


def test_boilerplate_is_dropped() -> None:
    texts, dropped = bc.news_texts(
        "READ MORE: Storms hit the coast Rain fell all day. Source: Al Jazeera and news agencies"
    )
    assert texts == []
    assert dropped["boilerplate"] == 2


def test_speeches_lose_stage_directions_labels_and_headings() -> None:
    speech = (
        "Mr. Speaker, Members of Congress:\n\nThe President. Thank you all. [Applause] Our union is strong.\n"
        "Audience members. We love you!\nTHE ECONOMY\n(a) We will cut taxes for every family."
    )
    assert bc.speech_texts(speech) == ["Thank you all. Our union is strong.", "We will cut taxes for every family."]


EVALUATION = {
    "imdb": ["What a film. I would happily watch this one again with all of my friends.  Ten out of ten!"],
    "wordsim353": ["tiger", "cat", "tiger cat"],
}


@pytest.fixture(scope="module")
def index() -> Any:
    return bc.EvaluationIndex(EVALUATION)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I would happily watch this one again with all of my friends.", "exact: imdb"),
        ("I  WOULD happily watch this one again with all of my friends.", "exact: imdb"),
        ("What a film. I would happily watch this one again with all of my friends.", "exact: imdb"),
        ("Honestly, I would happily watch this one again with all of my friends.", "contains: imdb"),
        ("tiger cat", "exact: wordsim353"),
        ("Tiger", "exact: wordsim353"),
        ("I would happily watch this one again.", None),  # shorter than the whole sentence: no match
        ("What a film.", "exact: imdb"),
        ("A tiger cat sat on the mat.", None),  # short evaluation items are matched whole only
    ],
)
def test_overlap_with_evaluation_text(index: Any, text: str, reason: str | None) -> None:
    assert index.overlap(text) == reason


def test_curly_quotes_compare_as_straight_ones() -> None:
    index = bc.EvaluationIndex({"rotten_tomatoes": ["it\u2019s a \u201cmust see\u201d for the whole family"]})
    assert index.overlap('It\'s a "must see" for the whole family') == "exact: rotten_tomatoes"


def test_distinct_removes_duplicates_junk_and_overlap(index: Any) -> None:
    pools = {
        "news": ["The road was built in a year.", "the  ROAD was built in a year.", "Visit www.example.com for more."],
        "sotu 1900-": ["The road was built in a year.", "I would happily watch this one again with all of my friends."],
    }
    kept, removed = bc.distinct(pools, index)
    assert kept == {"news": ["The road was built in a year."], "sotu 1900-": []}
    assert removed == {"sotu 1900- (exact: imdb)": 1}


def test_smaller_corpora_are_prefixes_and_wordnet_is_capped() -> None:
    kept = {
        "news": [f"News sentence number {i} here." for i in range(60)],
        "sotu 1900-": [f"Modern address sentence {i} here." for i in range(20)],
        "sotu -1899": [f"Old address sentence {i} here." for i in range(10)],
        "wordnet glosses": [f"a gloss number {i}" for i in range(100)],
        "wordnet examples": [],
    }
    full = bc.select(kept, 1_000, seed=3)
    assert bc.select(kept, 40, seed=3) == full[:40]
    assert bc.select(kept, 1_000, seed=4) != full
    assert len(full) == 120 and sum(source.startswith("wordnet") for source, _ in full) == 30
