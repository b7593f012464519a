"""The documentation says what the code does: docs/cli.md is what the command tree generates, the defaults it
shows for ``m2v distill`` are ``DistillConfig``'s, every relative link leads somewhere, the README's set-up and
test commands are CI's, and the layout map in CONTRIBUTING.md names every package."""

from __future__ import annotations

import dataclasses
import html
import importlib.util
import re
from enum import Enum
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from m2vcli.distillation import DistillConfig

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
CLI_MD = ROOT / "docs" / "cli.md"
PAGES = [README, CONTRIBUTING, *sorted((ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 250

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^()\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)


@cache
def cli_reference() -> ModuleType:
    """``tools/cli_reference.py``, imported from its file (``tools/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "tools" / "cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code_blocks(text: str) -> list[str]:
    """The contents of the fenced code blocks, in order."""
    return [block.group(0).split("\n", 1)[1].rsplit("\n", 1)[0] for block in FENCE.finditer(text)]


def prose(text: str) -> str:
    """The text without code blocks and inline code, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slugs(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a markdown page (``## `m2v info` `` -> ``m2v-info``)."""
    found: set[str] = set()
    for match in HEADING.finditer(FENCE.sub("", text)):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match.group(2)).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


# docs/cli.md


def test_the_cli_reference_is_what_the_command_tree_generates() -> None:
    expected = cli_reference().render()
    current = CLI_MD.read_text(encoding="utf-8") if CLI_MD.exists() else ""
    assert current == expected, "docs/cli.md is out of date: run python tools/cli_reference.py"


def test_the_cli_reference_documents_every_command() -> None:
    tree = cli_reference().command_tree()
    headings = set(re.findall(r"^## m2v (\S+)$", CLI_MD.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert headings == {name for name, command in tree.commands.items() if not command.hidden}


def table_rows(section: str) -> list[list[str]]:
    """The cells of each body row of the markdown tables in ``section`` (escaped ``\\|`` kept inside a cell)."""
    rows = []
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= set("|-"):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if cells and cells[0] != "option":
            rows.append(cells)
    return rows


def documented_defaults(command: str) -> dict[str, str]:
    """Option (as a config field name: ``--pca-dims`` -> ``pca_dims``) -> the default cell shown in docs/cli.md."""
    text = CLI_MD.read_text(encoding="utf-8")
    start = text.index(f"\n## m2v {command}\n")
    end = text.find("\n## ", start + 1)
    defaults = {}
    for cells in table_rows(text[start : end if end != -1 else None]):
        options = re.findall(r"`(--[a-z][a-z0-9-]*)`", cells[0])
        if options:
            defaults[options[0][2:].replace("-", "_")] = html.unescape(cells[2].replace("\\|", "|"))
    return defaults


def shows(cell: str, expected: Any) -> bool:
    """Whether a default cell of docs/cli.md shows the dataclass default ``expected``."""
    text = cell.strip().strip("`")
    if isinstance(expected, Enum):
        expected = expected.value
    if expected is None:  # not set: no value, or a description of what happens instead
        return text in ("-", "none", "required") or " " in text
    if isinstance(expected, bool):
        return text in (("on", "yes", "true") if expected else ("off", "no", "false"))
    first = re.split(r"[ ;]", text, maxsplit=1)[0]
    if isinstance(expected, (int, float)):
        try:
            return float(first.replace(",", "")) == float(expected)
        except ValueError:
            return False
    return first == str(expected)


def test_the_shown_defaults_are_read_as_meant() -> None:
    assert shows("`256`", 256) and shows("1,024; 8,192 with --engine ray", 1024) and not shows("`128`", 256)
    assert shows("auto = bfloat16 where the CPU supports it, else float32", "auto")
    assert shows("`0.0001`", 1e-4) and shows("off", False) and not shows("off", True)
    assert shows("-", None) and shows("required", None) and shows("the packaged all-MiniLM-L6-v2", None)
    assert not shows("`text`", None) and not shows("-", "text")


def test_distill_defaults_in_the_reference_are_the_dataclass_defaults() -> None:
    shown = documented_defaults("distill")
    command = cli_reference().command_tree().commands["distill"]
    visible = [param for param in command.params if not param.hidden]
    assert set(shown) == {opt[2:].replace("-", "_") for param in visible for opt in param.opts if opt.startswith("--")}
    fields = {field.name: field.default for field in dataclasses.fields(DistillConfig)}
    compared = sorted(set(fields) & set(shown))
    assert compared, "no DistillConfig field has a same-named m2v distill option"
    wrong = {name: (shown[name], fields[name]) for name in compared if not shows(shown[name], fields[name])}
    assert wrong == {}, "docs/cli.md shows these defaults (shown, DistillConfig's)"


# Links and size


def relative_links(page: Path) -> list[str]:
    targets = LINK.findall(prose(page.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t)]  # http:, https:, mailto:


def test_every_page_is_checked() -> None:
    assert {p.name for p in PAGES} >= {"README.md", "CONTRIBUTING.md", "cli.md", "results.md"}
    assert all(relative_links(page) for page in (README, ROOT / "docs" / "README.md"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_points_at_a_file_and_heading_that_exist(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in slugs(file.read_text(encoding="utf-8")):
            broken.append(f"{target}: no such heading in {file.relative_to(ROOT)}")
    assert broken == []


def test_the_slugs_are_githubs() -> None:
    page = "# m2v\n## `m2v info`\n## Hub ids and offline use\n## Avg (All)\n## Avg (All)\n```\n# no\n```\n"
    assert slugs(page) == {"m2v", "m2v-info", "hub-ids-and-offline-use", "avg-all", "avg-all-1"}


def test_the_readme_stays_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines < MAX_README_LINES, f"README.md has {lines} lines: move depth into docs/"


# The README's commands are CI's


def ci_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in lines if line.strip() and not line.startswith(("#", "set ", "cd ", "rm "))]
    assert len(commands) == 1, commands
    return commands[0].strip()


def is_install_step(step: str) -> bool:
    return step.startswith(("python3 -m venv", ". .venv/bin/activate", "pip install"))


def test_the_readme_test_command_is_what_ci_runs() -> None:
    tests = code_blocks(README.read_text(encoding="utf-8"))[1]
    assert tests == ci_command()
    assert ci_command() in code_blocks(CONTRIBUTING.read_text(encoding="utf-8"))


def test_the_readme_setup_command_comes_first_and_installs_as_ci_does() -> None:
    text = README.read_text(encoding="utf-8")
    setup = code_blocks(text)[0]
    assert text.index(setup) < text.index("## Quickstart")
    ci_install = [step for step in ci_command().split(" && ") if is_install_step(step)]
    steps = setup.split(" && ")
    for mine, ci in zip(steps, ci_install, strict=False):  # the venv, its activation, the pinned torch, ...
        if ci.startswith("pip install -q -e "):  # ... m2v with its extras (CI's are the tests'), ...
            assert re.fullmatch(r'pip install -q -e "\.\[[a-z,]+\]"', mine)
        else:  # ... and the packages installed on their own
            assert mine == ci
    run = steps[len(ci_install) :]
    assert run == ["bash examples/quickstart.sh work"] and (ROOT / "examples" / "quickstart.sh").exists()


# The layout map and the import lines of the documentation


def test_the_layout_map_names_every_package_and_top_level_module() -> None:
    layout = next(b for b in code_blocks(CONTRIBUTING.read_text(encoding="utf-8")) if b.startswith("m2vcli/"))
    named = set(re.findall(r"[\w.]+/?", layout))
    packages = {f"{p.parent.name}/" for p in (ROOT / "m2vcli").glob("*/__init__.py")}
    modules = {p.name for p in (ROOT / "m2vcli").glob("*.py") if p.name != "__init__.py"}
    top = {f"{p.name}/" for p in ROOT.iterdir() if p.is_dir() and p.name in ("commands", "tests", "tools")}
    assert sorted((packages | modules | top) - named) == []


def documented_imports() -> list[str]:
    found = set()
    for page in PAGES:
        for block in code_blocks(page.read_text(encoding="utf-8")):
            found.update(re.findall(r"^from m2vcli[\w.]* import [\w, ]+$", block, flags=re.MULTILINE))
    return sorted(found)


@pytest.mark.parametrize("statement", documented_imports())
def test_the_documented_imports_work(statement: str) -> None:
    namespace: dict[str, object] = {}
    exec(statement, namespace)
    names = [name.strip() for name in statement.split(" import ")[1].split(",")]
    assert [name for name in names if not callable(namespace[name])] == []
