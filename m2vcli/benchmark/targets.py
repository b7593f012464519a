"""Which models ``m2v bench`` times: the given ones (plus each static model's teacher, and model2vec's
encoder with ``--reference``), or by default the packaged teacher and a model distilled from it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from m2vcli.adapters import Encoder, display_name
from m2vcli.benchmark.settings import BenchConfig
from m2vcli.callbacks import OnMessage, OnProgress
from m2vcli.errors import M2VError
from m2vcli.hub import Fetch, resolve_model
from m2vcli.model.folder import ModelKind, model_kind, peek_json, teacher_of


@dataclass(frozen=True)
class Target:
    name: str
    path: Path
    kind: Encoder
    is_teacher: bool = False
    error: str | None = None  # set when the model could not even be found


def default_model_cache() -> Path:
    """Where the default distilled model is kept between runs (``$XDG_CACHE_HOME/m2v`` or ``~/.cache/m2v``)."""
    from m2vcli.version import __version__

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "m2v"
    return root / f"bench-default-{__version__}"


def resolve_targets(
    cfg: BenchConfig, progress: OnMessage | None = None, on_progress: OnProgress | None = None
) -> list[Target]:
    """The models to time: the given ones (plus each static model's teacher when it can be loaded, and
    model2vec's encoder with ``--reference``), or by default the packaged teacher and a model distilled
    from it (distilled once and cached; ``on_progress`` hears the tokens embedded). Each is named as
    ``m2v evaluate`` names it (``display_name``), so bench rows and evaluation results join."""
    from m2vcli.teacher import DEFAULT_TEACHER, packaged_teacher

    say = progress or (lambda message: None)
    if not cfg.models:
        cached = default_model_cache()
        if model_kind(cached) is not ModelKind.STATIC:
            say("Distilling the default model (once, cached)...")
            from m2vcli.distillation import run_distillation

            run_distillation(
                save_path=str(cached),
                force=True,
                on_progress=on_progress,
                on_phase=lambda name: say(f"  {name}..."),
            )
        defaults = []
        if cfg.teacher:
            teacher_path = packaged_teacher().path
            defaults.append(
                Target(
                    display_name(DEFAULT_TEACHER, teacher_path), teacher_path, Encoder.for_folder(teacher_path), True
                )
            )
        defaults.append(Target("m2v default", cached, Encoder.STATIC))
        if cfg.reference:
            defaults.append(Target("m2v default (model2vec encode)", cached, Encoder.REFERENCE))
        return defaults
    targets: list[Target] = []
    teachers: list[str] = []
    for name in cfg.models:
        try:
            path = resolve_model(name, Fetch.ANY)
        except M2VError as exc:
            targets.append(Target(name, Path(name), Encoder.STATIC, error=str(exc)))
            continue
        kind = Encoder.for_folder(path)
        shown = display_name(name, path)
        targets.append(Target(shown, path, kind))
        if kind is Encoder.STATIC:
            if cfg.reference:
                targets.append(Target(f"{shown} (model2vec encode)", path, Encoder.REFERENCE))
            teacher = teacher_of(peek_json(path / "config.json"))
            if teacher and teacher not in teachers:
                teachers.append(teacher)
    if cfg.teacher and all(t.kind is not Encoder.SENTENCE_TRANSFORMER for t in targets):
        for teacher in teachers:
            try:
                path = (
                    packaged_teacher().path
                    if teacher == DEFAULT_TEACHER
                    else resolve_model(teacher, Fetch.TRANSFORMER, what="teacher")
                )
            except M2VError as exc:
                say(f"Teacher {teacher} left out: {exc}")
                continue
            targets.insert(0, Target(display_name(teacher, path), path, Encoder.SENTENCE_TRANSFORMER, True))
    return targets
