"""All network access: resolving a Hugging Face hub id to a local folder.

The local cache is always tried first. The hub is contacted only when the id is not cached and the
environment does not say offline (``HF_HUB_OFFLINE=1``). Nothing here runs at import time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from m2vcli.errors import HubError

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


def looks_like_hub_id(name: str) -> bool:
    """True for ``name`` or ``org/name`` shapes that the hub accepts as repository ids.

    >>> looks_like_hub_id("BAAI/bge-base-en-v1.5"), looks_like_hub_id("./my_model"), looks_like_hub_id("/tmp/x")
    (True, False, False)
    """
    return bool(_HUB_ID.fullmatch(name)) and ".." not in name and "--" not in name


def hub_cache_dir() -> str | None:
    """The hub cache folder named by the environment now (huggingface_hub reads it only at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return None


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


_OFFLINE_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
_OFFLINE_FLAGS = (
    ("huggingface_hub.constants", "HF_HUB_OFFLINE"),
    ("datasets.config", "HF_HUB_OFFLINE"),
    ("datasets.config", "HF_DATASETS_OFFLINE"),
)


@contextmanager
def hub_mode_restored() -> Iterator[None]:
    """Put back the offline settings (environment and libraries) as they were, whatever ``go_offline`` did."""
    import importlib
    import sys

    for module, _ in _OFFLINE_FLAGS:
        with suppress(ImportError):
            importlib.import_module(module)
    env = {name: os.environ.get(name) for name in _OFFLINE_ENV}
    flags = {(m, a): getattr(sys.modules[m], a) for m, a in _OFFLINE_FLAGS if hasattr(sys.modules.get(m), a)}
    try:
        yield
    finally:
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for (module, attribute), value in flags.items():
            setattr(sys.modules[module], attribute, value)


def go_offline() -> None:
    """Switch this process to offline mode once the hub proved unreachable: the Hugging Face libraries
    then read their caches at once, or fail at once, instead of retrying the network for each request."""
    import sys

    for name in _OFFLINE_ENV:
        os.environ[name] = "1"
    for module, attribute in _OFFLINE_FLAGS:
        if hasattr(sys.modules.get(module), attribute):
            setattr(sys.modules[module], attribute, True)


def resolve_hub_folder(
    repo_id: str,
    *,
    allow_patterns: list[str] | None = None,
    revision: str | None = None,
    token: str | None = None,
) -> Path:
    """Return a local folder holding ``repo_id``: from the cache, else downloaded when online.

    Raises ``HubError`` with a one-line reason and the way out (pass a local folder).
    """
    from huggingface_hub import snapshot_download

    hint = "pass the path of a local model folder instead"
    try:
        return Path(
            snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=allow_patterns,
                local_files_only=True,
                token=token,
                cache_dir=hub_cache_dir(),
            )
        )
    except Exception:
        pass  # not cached (or cached incompletely): try the hub below
    if hub_offline():
        raise HubError(
            f"'{repo_id}' is not a local folder and is not in the Hugging Face cache, and HF_HUB_OFFLINE is set; {hint}"
        )
    try:
        return Path(
            snapshot_download(
                repo_id, revision=revision, allow_patterns=allow_patterns, token=token, cache_dir=hub_cache_dir()
            )
        )
    except Exception as exc:
        reason = _short_reason(exc)
        raise HubError(
            f"'{repo_id}' is not a local folder and could not be fetched from the Hugging Face hub ({reason}); {hint}"
        ) from None


def _short_reason(exc: Exception) -> str:
    name = type(exc).__name__
    if "RepositoryNotFound" in name:
        return "no such repository, or it is private"
    if "RevisionNotFound" in name:
        return "no such revision"
    if "Connection" in name or "Offline" in name or "LocalEntryNotFound" in name or "Timeout" in name:
        return "the hub cannot be reached"
    text = str(exc).strip().splitlines()
    return f"{name}: {text[0][:160]}" if text else name
