"""What each package may import: heavy libraries stay where they are used, the CLI library stays in the
CLI layer, and private mteb names stay in one adapter module. Plus the public import paths of the README."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TREES = ("m2vcli", "commands")

# Where each library may be imported (a path ending in "/" is a folder and everything under it).
ALLOWED: dict[str, tuple[str, ...]] = {
    "torch": ("m2vcli/teacher/", "m2vcli/refinement/", "m2vcli/classify/train.py"),
    "transformers": ("m2vcli/teacher/",),
    "mteb": ("m2vcli/evaluation/",),
    "datasets": ("m2vcli/evaluation/", "m2vcli/hub.py"),  # hub.load_dataset imports it lazily
    "sklearn": ("m2vcli/evaluation/",),
    # Loading a Sentence Transformer, or model2vec's StaticModel for `m2v bench --reference`, is done in one
    # place that `m2v evaluate` and `m2v bench` share.
    "sentence_transformers": ("m2vcli/adapters.py",),
    "model2vec": ("m2vcli/adapters.py",),
    "typer": ("commands/", "m2vcli/cli.py"),
    "click": (),  # Typer vendors its own Click
}
PURE_CORE = ("m2vcli/model/", "m2vcli/encoding/")
HEAVY = ["torch", "transformers", "sentence_transformers", "mteb", "datasets", "sklearn"]
NOT_IN_PURE_CORE = {*HEAVY, "scipy", "model2vec"}
MTEB_ADAPTER = "m2vcli/evaluation/mteb_adapter.py"


def imported_names(source: str) -> set[str]:
    """Every module a source file imports, wherever the import is (functions, ``TYPE_CHECKING`` blocks);
    ``from a import b`` gives ``a`` and ``a.b``, and ``importlib.import_module("x")`` gives ``x``.
    Relative imports stay inside the package and are left out."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            dynamic = (isinstance(func, ast.Name) and func.id == "__import__") or (
                isinstance(func, ast.Attribute) and func.attr == "import_module"
            )
            if dynamic and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def mteb_attributes(source: str) -> set[str]:
    """``mteb.x`` for each attribute read straight off the ``mteb`` module."""
    return {
        f"mteb.{node.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "mteb"
    }


@cache
def source_files() -> dict[str, str]:
    """Relative posix path -> source, for every module of the package and of the command layer."""
    files = {}
    for tree in TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            files[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    return files


def imports_by_file() -> dict[str, set[str]]:
    return {rel: imported_names(source) for rel, source in source_files().items()}


def located(rel: str, places: tuple[str, ...]) -> bool:
    return any(rel == place or (place.endswith("/") and rel.startswith(place)) for place in places)


def is_private_mteb(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "mteb" and len(parts) > 1 and (parts[1].startswith("_") or parts[1] in {"abstasks", "models"})


def module_of(rel: str) -> str:
    """The dotted module a source file is (``commands/`` installs as ``m2vcli.commands``)."""
    parts = rel.removesuffix(".py").split("/")
    if parts[0] == "commands":
        parts = ["m2vcli", *parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_graph() -> dict[str, set[str]]:
    """Module -> the m2v modules it imports, wherever the import is (module level, functions,
    ``TYPE_CHECKING``), relative imports included. ``from a import b`` counts as ``a.b`` when that is a
    module, else as ``a``; the parent packages Python imports first are not edges."""
    modules = {module_of(rel) for rel in source_files()}

    def owner(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {}
    for rel, source in source_files().items():
        here = module_of(rel)
        package = here if rel.endswith("__init__.py") else here.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = node.module if node.level == 0 else ".".join(p for p in (base, node.module) if p)
                if not module:
                    continue
                names = [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names]
            else:
                continue
            targets.update(owner(name) for name in names if name.startswith("m2vcli"))
        graph[here] = targets - {here, ""}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (each an import cycle), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules_counting_function_level_imports() -> None:
    graph = module_graph()
    assert graph["m2vcli.refinement.pipeline"] >= {"m2vcli.distillation", "m2vcli.refinement.refine"}
    assert cycles(graph) == []


def test_no_import_cycle_between_packages() -> None:
    """Each sub-package of m2vcli (and each top-level module) is a node; the package re-exporting the
    public API (``m2vcli/__init__.py``) is left out, as it sits above everything."""

    def room(module: str) -> str:
        return ".".join(module.split(".")[:2])

    rooms: dict[str, set[str]] = {}
    for module, targets in module_graph().items():
        if module == "m2vcli":
            continue
        rooms.setdefault(room(module), set()).update(room(t) for t in targets if room(t) != room(module))
    assert "m2vcli.distillation" not in rooms["m2vcli.teacher"] and "m2vcli.refinement" in rooms["m2vcli.commands"]
    assert cycles(rooms) == []


def test_the_scanner_sees_every_kind_of_import() -> None:
    source = (
        "import os.path as p\n"
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "if TYPE_CHECKING:\n    import torch\n"
        "def f():\n    from sklearn.cluster import KMeans\n    import importlib\n"
        "    return importlib.import_module('mteb._evaluators'), __import__('scipy')\n"
        "class C:\n    def g(self):\n        from mteb import abstasks\n"
    )
    assert imported_names(source) == {
        "os.path",
        "typing",
        "typing.TYPE_CHECKING",
        "torch",
        "sklearn.cluster",
        "sklearn.cluster.KMeans",
        "importlib",
        "mteb._evaluators",
        "scipy",
        "mteb",
        "mteb.abstasks",
    }
    assert mteb_attributes("import mteb\nmteb._create_dataloaders.x(mteb.get_tasks())") == {
        "mteb._create_dataloaders",
        "mteb.get_tasks",
    }


def test_the_scan_covers_the_package_and_the_commands() -> None:
    files = source_files()
    assert {"m2vcli/cli.py", "m2vcli/hub.py", "commands/encode.py", MTEB_ADAPTER} <= set(files)
    assert any(rel.startswith("m2vcli/evaluation/tasks/") for rel in files)


@pytest.mark.parametrize("library", list(ALLOWED))
def test_each_library_is_imported_only_where_allowed(library: str) -> None:
    misplaced = [
        f"{rel}: {name}"
        for rel, names in imports_by_file().items()
        for name in sorted(names)
        if name.split(".")[0] == library and not located(rel, ALLOWED[library])
    ]
    assert misplaced == [], f"{library} may be imported only in {ALLOWED[library]}"


def test_every_single_file_allowance_is_still_used() -> None:
    """A file named in ALLOWED that no longer imports the library is a stale hole in the rule."""
    imports = imports_by_file()
    stale = [
        f"{library} in {place}"
        for library, places in ALLOWED.items()
        for place in places
        if not place.endswith("/") and not any(n.split(".")[0] == library for n in imports.get(place, set()))
    ]
    assert stale == []


def test_model_and_encoding_import_no_heavy_library_even_lazily() -> None:
    heavy = [
        f"{rel}: {name}"
        for rel, names in imports_by_file().items()
        if located(rel, PURE_CORE)
        for name in sorted(names)
        if name.split(".")[0] in NOT_IN_PURE_CORE
    ]
    assert heavy == []


def test_private_mteb_names_only_in_the_adapter() -> None:
    private = [
        f"{rel}: {name}"
        for rel, source in source_files().items()
        if rel != MTEB_ADAPTER
        for name in sorted(imported_names(source) | mteb_attributes(source))
        if is_private_mteb(name)
    ]
    assert private == []
    assert any(is_private_mteb(name) for name in imported_names(source_files()[MTEB_ADAPTER]))


@pytest.mark.subprocess
def test_importing_the_packages_loads_no_heavy_library() -> None:
    probe = (
        "import json, sys\n"
        "import m2vcli.cli, m2vcli.model, m2vcli.encoding, m2vcli.evaluation, m2vcli.benchmark, m2vcli.distillation\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_the_mteb_adapter_imports_and_exports_what_it_names() -> None:
    from m2vcli.evaluation import mteb_adapter

    assert mteb_adapter.__all__
    assert [name for name in mteb_adapter.__all__ if not hasattr(mteb_adapter, name)] == []


def readme_imports() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"^from m2vcli[\w.]* import [\w, ]+$", text, flags=re.MULTILINE)))


PUBLIC_IMPORTS = [
    "from m2vcli import StaticEmbedder, distill",
    "from m2vcli.evaluation import get_tasks, run_tasks",
    "from m2vcli.evaluation.leaderboard import find_result_files, make_leaderboard, parse_mteb_results",
    "from m2vcli.distillation import DistillConfig, run_distillation",
]


@pytest.mark.parametrize("statement", sorted(set(PUBLIC_IMPORTS + readme_imports())))
def test_public_import_paths_keep_working(statement: str) -> None:
    namespace: dict[str, object] = {}
    exec(statement, namespace)
    names = [name.strip() for name in statement.split(" import ")[1].split(",")]
    assert [name for name in names if not callable(namespace[name])] == []


def test_public_names_are_the_implementations() -> None:
    from m2vcli import StaticEmbedder
    from m2vcli.model.embedder import StaticEmbedder as Embedder

    assert StaticEmbedder is Embedder
    assert len(readme_imports()) >= 2  # the README's examples were found


def test_every_package_folder_is_in_the_wheel() -> None:
    """A sub-package missing from pyproject's list installs without its files (the editable install hides it)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, as tomli
        import tomli as tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "m2vcli").rglob("__init__.py")}
    assert found <= listed, f"missing from pyproject.toml's packages: {sorted(found - listed)}"
