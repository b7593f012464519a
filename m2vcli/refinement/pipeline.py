"""``m2v distill --corpus``: distill a static model, then refine it on a corpus with the same teacher,
loaded once. The later stage depends on the earlier one: distillation knows nothing of refinement."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from m2vcli.callbacks import OnMessage, OnProgress
from m2vcli.distillation import DistillConfig, DistillResult, run_distillation
from m2vcli.distillation.distiller import distill_reads, save_result
from m2vcli.distillation.wordlists import WordList, load_word_list
from m2vcli.errors import ConfigError
from m2vcli.extras import require
from m2vcli.model.persistence import check_model_target
from m2vcli.refinement.corpus import corpus_reads, read_corpus
from m2vcli.refinement.pieces import split_long
from m2vcli.refinement.refine import (
    RefineResult,
    RefineSettings,
    check_cache_root,
    check_count,
    refine_model,
)
from m2vcli.refinement.train import OnStep
from m2vcli.teacher import Pooling, load_teacher


@dataclass
class DistillRefineResult(DistillResult):
    """A distillation and, when a corpus was given, the refinement that followed it."""

    refinement: RefineResult | None = None


def distill_and_refine(
    config: DistillConfig | None = None,
    *,
    on_progress: OnProgress | None = None,
    on_phase: OnMessage | None = None,
    on_corpus_progress: OnProgress | None = None,
    on_step: OnStep | None = None,
    words: WordList | None = None,
    **settings: Any,
) -> DistillRefineResult:
    """Distill as ``config`` says; with ``corpus``, refine the model on those texts with the same teacher
    and store it as ``quantize`` says (with ``refine=False``, only count the corpus's words and tokens);
    save it when ``save_path`` is set.

    ``on_progress`` hears the tokens embedded, ``on_corpus_progress`` the corpus texts featurized and
    ``on_step`` each training epoch's losses; ``words``: the words to add, already listed (then
    ``vocabulary`` only names them in the model's config). Every setting is checked, and the corpus read,
    before the teacher loads."""
    require("distill", "distilling a model")
    cfg = config or DistillConfig(**settings)
    if not cfg.refine and not (cfg.corpus and cfg.counts_corpus()):
        raise ConfigError(
            "--no-refine keeps a corpus only to count it: give --corpus with --vocabulary corpus:N or "
            "--weighting corpus",
            key="refine",
        )
    phase = on_phase or (lambda name: None)
    refine_settings = None
    if cfg.corpus is not None or cfg.max_texts is not None:
        refine_settings = RefineSettings(corpus=cfg.corpus, text_field=cfg.text_field, max_texts=cfg.max_texts)
    if not cfg.corpus:
        plain = run_distillation(replace(cfg, corpus=None), words=words, on_progress=on_progress, on_phase=phase)
        return DistillRefineResult(**vars(plain))
    assert refine_settings is not None
    if cfg.save_path:
        reads = [*distill_reads(cfg), *corpus_reads(cfg.corpus)]
        check_model_target(Path(cfg.save_path), force=cfg.force, reads=reads)
    if cfg.refine:  # a corpus only counted uses no feature cache
        check_cache_root(refine_settings)
    if words is None and cfg.vocabulary is not None:
        words = load_word_list(cfg.vocabulary)
    phase("Reading the corpus")
    corpus = read_corpus(cfg.corpus, field=cfg.text_field, max_texts=cfg.max_texts)
    clock = time.perf_counter()
    phase("Loading the teacher")
    teacher = load_teacher(
        cfg.model,
        cfg.device,
        cfg.dtype,
        trust_remote_code=cfg.trust_remote_code,
        decoder_ok=cfg.pooling is Pooling.LAST,
    )
    loaded = time.perf_counter() - clock
    if not cfg.refine:  # the corpus is only counted
        plain = run_distillation(
            replace(cfg, corpus=None, save_path=None), teacher=teacher, words=words, corpus_texts=corpus.texts,
            on_progress=on_progress, on_phase=phase,
        )  # fmt: skip
        plain.timings["load"] = plain.timings.get("load", 0.0) + loaded
        plain.model.config["distillation"]["corpus"] = {
            "name": corpus.name, "texts": len(corpus), "sha256": corpus.content_hash,
        }  # fmt: skip
        if cfg.save_path:
            save_result(plain, cfg.save_path, force=cfg.force, on_phase=phase)
        return DistillRefineResult(**vars(plain))
    phase("Tokenizing the corpus")
    check_count(split_long(corpus.texts, teacher)[0], refine_settings)  # before the teacher's pass, not after
    inner = replace(cfg, corpus=None, save_path=None)
    distilled = run_distillation(
        inner,
        teacher=teacher,
        words=words,
        corpus_texts=corpus.texts,
        keep_float=True,
        on_progress=on_progress,
        on_phase=phase,
    )
    distilled.timings["load"] = distilled.timings.get("load", 0.0) + loaded
    refined = refine_model(
        distilled.model,
        teacher,
        corpus,
        refine_settings,
        quantize_to=cfg.quantize,
        on_progress=on_corpus_progress,
        on_phase=phase,
        on_step=on_step,
    )
    result = DistillRefineResult(**{**vars(distilled), "model": refined.model}, refinement=refined)
    result.timings.update(refined.timings)
    if cfg.save_path:
        save_result(result, cfg.save_path, force=cfg.force, on_phase=phase)
    return result
