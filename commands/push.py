"""``m2v push``: share a model on the Hugging Face hub, with a card that carries its scores."""

from __future__ import annotations

from typing import Annotated

import typer

from m2vcli.console import err_console
from m2vcli.evaluation import read_scores
from m2vcli.model.sharing import PushConfig, push_folder

from ._options import ConfigOption, settings


def push_command(
    model: Annotated[
        str | None, typer.Argument(metavar="MODEL", help="Static model folder (required).", show_default=False)
    ] = None,
    repo_id: Annotated[
        str | None,
        typer.Argument(metavar="REPO", help="Hub repository, ORG/NAME or NAME (required).", show_default=False),
    ] = None,
    private: Annotated[
        bool | None, typer.Option("--private", help="Make a new repository private.", show_default=False)
    ] = None,
    revision: Annotated[
        str | None,
        typer.Option("--revision", help="Branch to push to, created when missing (default: main).", show_default=False),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", help="Hub token with write access (default: HF_TOKEN, else hf auth login's).", show_default=False
        ),
    ] = None,
    results: Annotated[
        str | None,
        typer.Option(
            "--results",
            help="m2v evaluate results (a folder or file) whose scores the card shows.",
            show_default=False,
        ),
    ] = None,
    message: Annotated[str | None, typer.Option("--message", help="Commit message.", show_default=False)] = None,
    config: ConfigOption = None,
) -> None:
    """Upload a model to the Hugging Face hub, with a card of its settings and scores.

    The card carries the model's settings, its refinement, and the scores of the m2v evaluate results
    given with --results, as the hub's model-index metadata and as a table. The upload is one commit.

    Examples:

        m2v push my_model my-org/my-static-model

        m2v evaluate -m my_model -o results

        m2v push my_model my-org/my-static-model --results results

        m2v push my_model my-org/my-static-model --private --revision v2
    """
    flags = {
        "model": model,
        "repo_id": repo_id,
        "private": private,
        "revision": revision,
        "token": token,
        "results": results,
        "message": message,
    }
    cfg = settings(PushConfig, config, flags)
    console = err_console()
    scores, skipped = read_scores(cfg.results, cfg.model) if cfg.results is not None else ({}, [])
    for why in skipped:
        console.print(f"note: {why}", markup=False)
    if cfg.results is not None and not scores:
        console.print(f"note: no scores found in {cfg.results}; the card will have none", markup=False)
    done = push_folder(
        str(cfg.model),
        str(cfg.repo_id),
        private=cfg.private,
        revision=cfg.revision,
        token=cfg.token,
        scores=scores,
        commit_message=cfg.message,
        on_phase=lambda name: console.print(f"{name}...", markup=False),
    )
    console.print(
        f"Pushed {len(done.files)} files to {done.repo_id} ({done.revision}), {done.scores} scores on the card: "
        f"{done.url}",
        markup=False,
    )
