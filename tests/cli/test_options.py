"""One option vocabulary: shared options are declared once, mean the same in every command that takes
them, and no command module imports another."""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import pytest

from m2vcli.commands import _options

COMMANDS = Path(__file__).resolve().parents[2] / "commands"
SHARED = [name for name in vars(_options) if name.endswith("Option") and not name.startswith("_")]


def test_no_command_imports_another() -> None:
    for path in sorted(COMMANDS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert (node.module or "").startswith("_"), f"{path.name} imports .{node.module}"
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert not node.module.startswith("m2vcli.commands."), f"{path.name} imports {node.module}"


def test_every_option_is_declared_once() -> None:
    """An option alias lives in _options.py only; a command module declares only its own options."""
    for path in sorted(COMMANDS.glob("*.py")):
        if path.name == "_options.py":
            continue
        declared = {
            target.id
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name) and target.id.endswith("Option")
        }
        assert not declared & set(SHARED), f"{path.name} declares shared options again: {declared & set(SHARED)}"


@pytest.mark.parametrize("name", ["device", "text_field", "max_texts"])
def test_a_shared_default_is_the_same_in_every_command_that_takes_it(name: str) -> None:
    defaults = {cls.__name__: {f.name: f.default for f in dataclasses.fields(cls)}[name] for cls in _options.SHARED_BY}
    assert len(set(defaults.values())) == 1, defaults


def test_shared_options_are_used() -> None:
    """Each shared alias is taken by at least two commands (else it belongs to its command)."""
    from m2vcli.cli import app

    users: dict[str, set[str]] = {name: set() for name in SHARED}
    for command in app.registered_commands:
        assert command.callback is not None
        hints = typing.get_type_hints(command.callback, include_extras=True)
        for hint in hints.values():
            for name in SHARED:
                if hint == typing.get_type_hints(_Holder, include_extras=True).get(name):
                    users[name].add(command.callback.__name__)
    assert {name: len(u) for name, u in users.items() if len(u) < 2} == {}


class _Holder:
    """The shared aliases as annotations, to compare with the commands' parameters."""


_Holder.__annotations__ = {name: getattr(_options, name) for name in SHARED}
