"""What ``--help`` says about options: which ones every run needs, what a batch size counts, and on/off
flags shown without a value placeholder."""

from __future__ import annotations

import itertools
import re

import pytest

from m2vcli.cli import app
from tests.helpers import run_m2v

COMMANDS = [str(c.name) for c in app.registered_commands]


def option_help(*args: str) -> dict[str, str]:
    """``m2v ARGS --help``'s option rows: each long option name -> the rest of its row and continuation rows."""
    ran = run_m2v(*args, "--help", env={"COLUMNS": "200"})
    assert ran.returncode == 0, ran.stderr
    rows: dict[str, str] = {}
    current = None
    for line in ran.stdout.decode().splitlines():
        cells = re.sub(r"[\u2500-\u257f]", " ", line).split()
        if cells and cells[0].startswith("--"):
            current = cells[0]
            rows[current] = " ".join(cells[1:])
        elif current and cells:
            rows[current] += " " + " ".join(cells)
    return rows


@pytest.mark.parametrize("command", [[], *[[name] for name in COMMANDS]], ids=lambda c: " ".join(c) or "m2v")
def test_flags_show_no_value_placeholder(command: list[str]) -> None:
    rows = option_help(*command)
    assert "--help" in rows
    assert [name for name, text in rows.items() if "<bool>" in text] == []


def test_options_every_run_needs_say_so() -> None:
    assert "(required)" in option_help("encode")["--model"]
    assert "(required)" in option_help("distill")["--save-path"]
    assert "(required)" not in option_help("distill")["--model"]  # the packaged teacher by default


def test_batch_sizes_say_what_they_count() -> None:
    assert "counted in vocabulary tokens" in option_help("distill")["--batch-size"]
    assert "counted in texts" in option_help("encode")["--batch-size"]


def test_flags_still_parse(tiny_model_dir: object) -> None:
    ran = run_m2v("encode", "-m", str(tiny_model_dir), "--no-normalize", "--format", "jsonl", stdin=b"hello\n")
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_help_fits_80_columns_reads_as_words_and_its_examples_never_wrap(command: str) -> None:
    import inspect

    ran = run_m2v(command, "--help", env={"COLUMNS": "80"})
    assert ran.returncode == 0, ran.stderr
    text = ran.stdout.decode()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text  # nothing cut
    for leak in ("<int", "<float", "<str>", "<file>", "<bool>", "list[", "[x>=", "[x<=", "[[", "]]"):
        assert leak not in text, (command, leak)
    end = next(i for i, line in enumerate(lines) if line.strip() in ("Examples:", "Options", "╭─ Options"))
    for line, after in itertools.pairwise(lines[3:end]):  # the description, after the usage line
        if line.strip() and after.strip():  # a paragraph goes on: the line is filled, not cut at a source break
            assert len(line.rstrip()) > 60, (command, line)
    callback = next(c.callback for c in app.registered_commands if c.name == command)
    examples = [line.strip() for line in (inspect.getdoc(callback) or "").split("Examples:")[1].splitlines()]
    for example in filter(None, examples):
        assert any(line.strip() == example for line in lines), f"{command}: the example wraps: {example}"
        assert any(line.rstrip() == " " + example for line in lines), f"{command}: indented unlike the rest"


def test_choices_are_named_in_the_help_text() -> None:
    rows = option_help("encode")
    assert "NAME" in rows["--format"] and "One of: npy, jsonl, safetensors, parquet." in rows["--format"]
    assert rows["--batch-size"].startswith("N ")
