"""What ``--help`` says about options: which ones every run needs, what a batch size counts, and on/off
flags shown without a value placeholder."""

from __future__ import annotations

import itertools

import pytest

from m2vcli.cli import app
from tests.helpers import help_option_rows, run_m2v

COMMANDS = [str(c.name) for c in app.registered_commands]


def option_help(*args: str) -> dict[str, str]:
    """``m2v ARGS --help``'s option rows: each row's first long option name -> the rest of the row."""
    return {names[0]: text for names, text in help_option_rows(*args).items()}


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


@pytest.mark.parametrize("command", COMMANDS)
def test_each_option_is_one_label_with_a_wide_text_column_at_80_columns(command: str) -> None:
    """Names and placeholder share one cell (``-o, --save-path PATH``), so every help text starts by column 30
    (a name too long for that cell has a line of its own); and every option the command takes is in the help,
    under all its names."""
    import re

    import typer.main

    ran = run_m2v(command, "--help", env={"COLUMNS": "80"})
    lines = ran.stdout.decode().splitlines()
    starts = set()
    for i, line in enumerate(lines):
        row = re.match(r"│ ( {0,4}-\S.*?)(?: {2,}(\S.*?))?\s*│$", line)
        if row is None:
            continue
        if row.group(2) is None:  # a long label alone: its text starts the next line
            assert len(row.group(1)) > 24, (command, line)
            text_line = lines[i + 1]
            starts.add(len(text_line) - len(text_line[1:].lstrip()))
        else:
            starts.add(line.index(row.group(2), 2 + len(row.group(1))))
    assert len(starts) == 1 and starts.pop() <= 30, (command, starts)
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    shown = {name for names in help_option_rows(command) for name in names}
    for param in click_command.params:
        if param.param_type_name == "option":
            longs = {o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")}
            assert longs <= shown, (command, longs - shown)
    if command == "distill":
        assert any(line.startswith("│ -o, --save-path PATH ") for line in lines)


def test_bare_m2v_shows_the_help_and_no_empty_error() -> None:
    ran = run_m2v()
    assert ran.returncode == 2
    assert "Usage: m2v [OPTIONS] COMMAND" in ran.stdout.decode() and "distill" in ran.stdout.decode()
    assert ran.stderr.decode() == ""
