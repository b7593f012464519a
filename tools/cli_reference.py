"""Write docs/cli.md, the reference of every ``m2v`` command, from the Typer app itself.

    python tools/cli_reference.py          # rewrite docs/cli.md
    python tools/cli_reference.py --check  # exit 1 when docs/cli.md is not what the app says

Each command gets its help text and one table row per parameter: the option names, the value it takes,
its default and its help. Defaults are taken from the help texts' "(default: ...)", which the commands
fill from the config dataclasses. The output depends on the code only: no terminal width, no path of
this machine.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "cli.md"

HEADER = """\
# Command reference

Generated from the `m2v` command tree by `python tools/cli_reference.py`; do not edit by hand
(`tests/project/test_readme.py` fails when this page and the code disagree).

Every command also takes `-h` / `--help`, and `--config FILE.yaml` with any of its options
(`examples/` holds one such file per command); a flag given on the command line beats the file.
Exit codes: 0 success, 1 an error (one line on stderr), 2 a usage error, 128 + the signal's number when
stopped by Ctrl-C, SIGTERM or SIGHUP. `M2V_DEBUG=1` shows the traceback of an error, with the library error
that caused it.
"""

DEFAULT = re.compile(r"\s*\(default: (?P<value>[^()]*(?:\([^()]*\)[^()]*)*)\)(?P<end>\.?)$")
REQUIRED = re.compile(r"\s*\(required\)(?P<end>\.?)$")


def plain(text: str | None) -> str:
    """A help text as the terminal shows it: Typer reads help as rich markup (``\\[`` is a literal ``[``)."""
    from rich.text import Text

    return Text.from_markup(text or "").plain.strip()


def cell(text: str) -> str:
    """Text for a markdown table cell: ``|`` and HTML-like ``<word>`` must not end the cell or vanish."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    return f"`{text}`".replace("|", "\\|")


def split_help(help_text: str) -> tuple[str, str]:
    """(help without its default, the default as shown) for one parameter's help text."""
    found = DEFAULT.search(help_text)
    if found:
        return help_text[: found.start()] + found.group("end"), found.group("value")
    found = REQUIRED.search(help_text)
    if found:
        return help_text[: found.start()] + found.group("end"), "required"
    return help_text, ""


def value_kind(param: Any) -> str:
    """What a parameter takes: a flag, one of some choices, a number (with its range), text, a path."""
    if getattr(param, "is_flag", False):
        return "flag"
    desc = getattr(param, "type_descriptor", None)
    if desc is None:  # a plain Click parameter
        return str(getattr(param, "type", "")).lower()
    if desc.is_choice:
        choices = [c.value if isinstance(c, Enum) else c for c in desc.choices or ()]
        kind = "one of " + ", ".join(code(str(c)) for c in choices)
    elif desc.is_path:
        kind = {"file": "file", "dir": "folder"}.get(desc.path_type, "path")
    else:
        annotation = desc.annotation
        if desc.is_list:
            args = getattr(annotation, "__args__", (str,))
            annotation = args[0]
        kind = {str: "text", int: "integer", float: "number", bool: "yes/no"}.get(annotation, "text")
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        kind += f", {low} to {high}"
    elif low is not None:
        kind += f", at least {low}"
    elif high is not None:
        kind += f", at most {high}"
    if getattr(param, "multiple", False) or getattr(param, "nargs", 1) == -1:
        kind += ", repeatable" if getattr(param, "param_type_name", "") == "option" else ", one or more"
    return kind


def names(param: Any) -> str:
    if getattr(param, "param_type_name", "") == "argument":
        name = param.metavar or param.name.upper()
        name = name.strip("[]")
        if param.nargs == -1:
            name += "..."
        return code(name)
    long = [opt for opt in param.opts if opt.startswith("--")]
    short = [opt for opt in param.opts if not opt.startswith("--")]
    shown = ", ".join(code(opt) for opt in long + short)
    if param.secondary_opts:
        shown += " / " + ", ".join(code(opt) for opt in param.secondary_opts)
    return shown


def default_of(param: Any, from_help: str) -> str:
    if from_help:
        return from_help
    if getattr(param, "required", False):
        return "required"
    if getattr(param, "is_flag", False) and param.default in (False, None) and not param.secondary_opts:
        return "off"
    value = param.default
    if value is None or value == () or value == []:
        return ""
    if isinstance(value, Enum):
        value = value.value
    return str(value)


def shown_default(text: str) -> str:
    if not text:
        return "-"
    if text in ("required", "off"):
        return text
    return code(text) if " " not in text and "`" not in text else cell(text)


def param_rows(params: Iterable[Any]) -> list[str]:
    rows = ["| option | value | default | meaning |", "|---|---|---|---|"]
    for param in params:
        if getattr(param, "hidden", False):
            continue
        help_text, from_help = split_help(plain(getattr(param, "help", "")))
        default = default_of(param, from_help)
        rows.append(f"| {names(param)} | {value_kind(param)} | {shown_default(default)} | {cell(help_text)} |")
    return rows


def help_blocks(help_text: str) -> list[str]:
    """A command's help as markdown: paragraphs as they are, indented example lines as one code block."""
    out: list[str] = []
    examples: list[str] = []
    for paragraph in re.split(r"\n\s*\n", help_text.strip()):
        head, marker, rest = paragraph.partition("Examples:\n")
        if marker and not head.strip():  # "Examples:" and one example per line
            out += ["Examples:", ""]
            paragraph = "\n".join("  " + line for line in rest.splitlines())
        if paragraph.startswith("  "):
            examples.extend(line.strip() for line in paragraph.splitlines())
            continue
        if examples:
            out += ["```bash", *examples, "```", ""]
            examples = []
        out += [" ".join(line.strip() for line in paragraph.splitlines()), ""]
    if examples:
        out += ["```bash", *examples, "```", ""]
    return out


def command_tree() -> Any:
    import typer.main

    from m2vcli.cli import app

    return typer.main.get_command(app)


def render() -> str:
    """The whole of docs/cli.md."""
    group = command_tree()
    commands = [(name, command) for name, command in group.commands.items() if not command.hidden]
    lines = [HEADER, "| command | what it does |", "|---|---|"]
    for name, command in commands:
        first = plain(command.help).split("\n\n")[0].replace("\n", " ")
        lines.append(f"| [`m2v {name}`](#m2v-{name}) | {cell(first)} |")
    lines += ["", "## m2v", "", "```text", "m2v [OPTIONS] COMMAND [ARGS]...", "```", ""]
    lines += help_blocks(plain(group.help))
    lines += param_rows(group.params)
    lines.append("")
    for name, command in commands:
        lines += [f"## m2v {name}", "", "```text", usage(name, command), "```", ""]
        lines += help_blocks(plain(command.help))
        lines += param_rows(command.params)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def usage(name: str, command: Any) -> str:
    pieces = [f"m2v {name}", "[OPTIONS]"]
    for param in command.params:
        if getattr(param, "param_type_name", "") == "argument" and not param.hidden:
            shown = (param.metavar or param.name.upper()).strip("[]") + ("..." if param.nargs == -1 else "")
            pieces.append(shown if param.required else f"[{shown}]")
    return " ".join(pieces)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/cli.md from the m2v command tree.")
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/cli.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
    if args.check:
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python tools/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
