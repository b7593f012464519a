"""Sharing a model (``m2v push``, ``StaticEmbedder.push_to_hub``): the folder with a model card that carries
its settings, its refinement and its ``m2v evaluate`` scores, uploaded in one commit through
huggingface_hub's own API (``HF_ENDPOINT`` and ``HF_TOKEN`` are honoured, as huggingface_hub does).

Everything that can be checked is checked before anything is sent: the repository name, a token, the hub
not switched off (``HF_HUB_OFFLINE``), the model folder, the scores. The upload is one commit, so the
repository holds the old files or the new ones."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from m2vcli.errors import ConfigError, HubError, InputError, MissingValueError, first_line
from m2vcli.hub import hub_offline
from m2vcli.model.folder import ModelKind, is_classifier, model_kind
from m2vcli.model.modelcard import Scores, model_card
from m2vcli.model.persistence import RawModel, read_model_folder, resolve_model_folder

REPO_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
CARD = "README.md"


@dataclass(frozen=True)
class PushConfig:
    """Settings of ``m2v push``."""

    model: str | None = None
    repo_id: str | None = None
    private: bool = False
    revision: str | None = None
    token: str | None = None
    results: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if not self.model:
            raise MissingValueError("give the model folder to push", option="MODEL")
        if not self.repo_id:
            raise MissingValueError("give the hub repository to push to, as ORG/NAME", option="REPO")


@dataclass
class PushResult:
    repo_id: str
    url: str
    revision: str
    files: list[str]
    scores: int  # tasks whose scores the card carries


def check_repo_id(repo_id: Any) -> str:
    """``NAME`` or ``ORG/NAME``, each part of letters, digits, ``.``, ``_`` and ``-`` (at most 96), not starting
    with a symbol, without ``--`` or ``..``: the hub's rules, checked before anything is sent.

    >>> check_repo_id("my-org/my_model.v2")
    'my-org/my_model.v2'
    """
    parts = repo_id.split("/") if isinstance(repo_id, str) else []
    if not 1 <= len(parts) <= 2 or any(
        not REPO_PART.fullmatch(p) or "--" in p or ".." in p or p.endswith(".git") for p in parts
    ):
        raise ConfigError(
            f"{repo_id!r} is not a valid hub repository name: write NAME or ORG/NAME with letters, digits, '.', "
            "'_' and '-' (at most 96 each, no '--' or '..')",
            key="repo_id",
        )
    return str(repo_id)


def find_token(token: str | None) -> str:
    """``token``, else the one ``HF_TOKEN`` or ``hf auth login`` gives; none is a one-line error."""
    if token is not None and not (isinstance(token, str) and token.strip()):
        raise ConfigError("the token is empty: pass a Hugging Face token with write access", key="token")
    if token:
        return token.strip()
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise ConfigError(
            "no Hugging Face token: pass --token, set HF_TOKEN, or run `hf auth login` (a token with write access)",
            key="token",
        )
    return found


def push_folder(
    folder: str | os.PathLike[str],
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
    scores: Scores | None = None,
    commit_message: str | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> PushResult:
    """Upload the static model in ``folder`` to the hub as ``repo_id`` (created when missing; ``private``
    then), on branch ``revision`` (default: main, created when missing), with a card that carries
    ``scores`` (category -> task -> score x100, as ``m2vcli.evaluation.read_scores`` reads them)."""
    phase = on_phase or (lambda name: None)
    repo_id = check_repo_id(repo_id)
    if revision is not None and (not isinstance(revision, str) or not revision.strip() or ".." in revision):
        raise ConfigError(f"revision must be a branch name, not {revision!r}", key="revision")
    source = Path(folder)
    if model_kind(source) is not ModelKind.STATIC:
        raise InputError(f"{folder} is not a static model folder (m2v distill makes one)")
    write_token = find_token(token)
    if hub_offline():
        raise HubError("cannot push: HF_HUB_OFFLINE is set (the hub is switched off for this process)")
    scores = scores or {}
    raw = read_model_folder(resolve_model_folder(source))  # checked whole before anything is sent
    if is_classifier(source):
        from m2vcli.model.head import read_head

        read_head(raw.folder, raw.config, int(raw.embeddings.shape[1]))  # its head too
    with tempfile.TemporaryDirectory(prefix="m2v-push-") as staging:
        staged = Path(staging) / "model"
        shutil.copytree(source, staged, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        (staged / CARD).write_text(card_for(raw, repo_id, scores), encoding="utf-8")
        files = sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file())
        phase("Uploading")
        url = _upload(staged, repo_id, private, revision, write_token, commit_message or f"Upload {repo_id} with m2v")
    return PushResult(repo_id, url, revision or "main", files, sum(len(t) for t in scores.values()))


def push_model(model: Any, repo_id: str, **settings: Any) -> str:
    """``model`` (a ``StaticEmbedder``) saved to a private temporary folder and pushed from there (see
    ``push_folder`` for ``settings``); the commit's URL."""
    with tempfile.TemporaryDirectory(prefix="m2v-push-") as folder:
        model.save_pretrained(Path(folder) / "model")
        return push_folder(Path(folder) / "model", repo_id, **settings).url


def card_for(raw: RawModel, repo_id: str, scores: Scores) -> str:
    """The card of the folder ``raw`` was read from, named ``repo_id``, with ``scores``."""
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_str(raw.tokenizer_json).get_vocab_size(with_added_tokens=True)
    rows, dim = raw.embeddings.shape
    return model_card(repo_id, raw.config, rows=rows, dim=dim, vocab_size=vocab, scores=scores)


def _upload(folder: Path, repo_id: str, private: bool, revision: str | None, token: str, message: str) -> str:
    from huggingface_hub import HfApi

    from m2vcli.hub import short_reason

    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, revision=revision, commit_message=message)
    except Exception as exc:  # huggingface_hub raises HTTP, network and validation errors of many types
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise HubError(f"the hub refused the push to {repo_id} ({status}): the token cannot write there") from exc
        reason = short_reason(exc) if not isinstance(exc, ValueError) else first_line(exc, 160)
        raise HubError(f"cannot push to {repo_id}: {reason}") from exc
    return str(getattr(commit, "commit_url", "") or f"{api.endpoint}/{repo_id}")
