"""The Python API's model-returning functions: ``distill`` and ``refine``, with every setting of ``m2v
distill`` and ``m2v refine`` as a named, typed keyword (a test holds them equal to ``DistillConfig`` and
``RefineConfig``), model2vec's keyword names where they mean the same thing, and a progress bar on a
terminal. The functions that return a result object (timings, vocabulary, training details) are
``m2vcli.distillation.run_distillation``, ``m2vcli.refinement.run_refinement`` and
``m2vcli.refinement.distill_and_refine``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from m2vcli.errors import ConfigError
from m2vcli.model import StaticEmbedder

if TYPE_CHECKING:  # the defaults below are the enums' values: importing m2vcli stays light
    from m2vcli.distillation.numerics import Weighting
    from m2vcli.model.quantization import Quantize
    from m2vcli.refinement.train import Loss
    from m2vcli.teacher import Device, Pooling, Precision

# model2vec's keyword -> m2v's, where both mean the same thing
MODEL2VEC_NAMES = {"model_name": "model", "quantize_to": "quantize", "show_progress": "show_progress_bar"}
# model2vec keywords m2v has no counterpart for, with what to do instead
NO_COUNTERPART = {
    "vocabulary_quantization": "m2v has no vocabulary quantization; use pca_dims and quantize for a smaller model",
    "use_subword": "m2v always keeps the teacher's subword tokens; pass vocabulary= to add whole words",
}


def _renamed(
    function: Any,
    given: dict[str, Any],
    current: dict[str, Any],
    names: dict[str, str] = MODEL2VEC_NAMES,
    no_counterpart: dict[str, str] = NO_COUNTERPART,
) -> dict[str, Any]:
    """``given`` (the keywords the signature does not name) with model2vec's names (``names``) turned into
    m2v's; any other unknown keyword, or one that repeats a setting already passed (``current``, with the
    signature's defaults), is a TypeError that says so."""
    import difflib
    import inspect

    defaults = {k: p.default for k, p in inspect.signature(function).parameters.items()}
    accepted = list(current)
    out: dict[str, Any] = {}
    for key, value in given.items():
        name = names.get(key, key)
        if key in no_counterpart:
            raise TypeError(f"{function.__name__}() got an unexpected keyword argument {key!r}: {no_counterpart[key]}")
        if name not in accepted:
            close = difflib.get_close_matches(name, accepted, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{function.__name__}() got an unexpected keyword argument {key!r}{hint}")
        if name in out or current[name] != defaults[name]:
            raise TypeError(f"{function.__name__}() got {name!r} twice (once as {key!r})")
        out[name] = value
    return out


def _progress_on(show_progress_bar: bool | None) -> bool:
    if show_progress_bar is None:
        from m2vcli.console import stderr_is_terminal

        return stderr_is_terminal()
    return bool(show_progress_bar)


@contextlib.contextmanager
def _bars(show: bool) -> Iterator[dict[str, Any]]:
    """The callbacks of a distillation or refinement: bars and phase lines on stderr when ``show``."""
    if not show:
        yield {}
        return
    from m2vcli.console import err_console, progress_bar

    console = err_console()
    with (
        progress_bar("Embedding tokens", unit="tokens") as tokens,
        progress_bar("Featurizing the corpus", unit="texts") as texts,
    ):
        yield {
            "tokens": tokens,
            "texts": texts,
            "phase": lambda name: console.print(f"{name}...", markup=False),
            "step": lambda record: console.print(
                f"epoch {record['epoch']:.0f}: train loss {record['train_loss']:.4f}, "
                f"validation loss {record['validation_loss']:.4f}",
                markup=False,
            ),
        }


@contextlib.contextmanager
def _corpus_path(corpus: str | Path | Iterable[str] | None) -> Iterator[str | None]:
    """A corpus as the readers take it: a path, glob or ``hf:`` id as given; texts (a list or any iterable
    of strings) written to a private JSON lines file for the run, so line breaks inside a text stay in it."""
    if corpus is None or isinstance(corpus, (str, Path)):
        yield None if corpus is None else str(corpus)
        return
    if isinstance(corpus, (bytes, bytearray)) or not isinstance(corpus, Iterable):
        raise ConfigError(f"corpus must be a path or an iterable of texts, not {type(corpus).__name__}", key="corpus")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="m2v-corpus-") as folder:
        path = Path(folder) / "corpus.jsonl"
        count = 0
        with path.open("w", encoding="utf-8") as handle:
            for i, text in enumerate(corpus):
                if not isinstance(text, str):
                    raise ConfigError(f"corpus text {i + 1} is {type(text).__name__}, not str", key="corpus")
                handle.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
                count += 1
        if not count:
            raise ConfigError("corpus is empty: give at least one text", key="corpus")
        yield str(path)


def _vocabulary(vocabulary: str | Path | Sequence[str] | None) -> tuple[str | None, Any]:
    """A vocabulary spec (``wordfreq:en:50000``, ``corpus:N``, a word file) as given, or a list of words as
    a word list (model2vec's form)."""
    if vocabulary is None or isinstance(vocabulary, (str, Path)):
        return (None if vocabulary is None else str(vocabulary)), None
    from m2vcli.distillation.wordlists import WordList

    words = list(vocabulary)
    bad = next((i for i, w in enumerate(words) if not isinstance(w, str)), None)
    if bad is not None:
        raise ConfigError(f"vocabulary word {bad + 1} is {type(words[bad]).__name__}, not str", key="vocabulary")
    words = [w.strip() for w in words if w.strip()]
    if not words:
        raise ConfigError("vocabulary is an empty list: give words, or None for the teacher's own", key="vocabulary")
    unique = list(dict.fromkeys(words))
    return f"list:{len(unique)}", WordList(source=f"a list of {len(unique)} words", words=unique)


def distill(
    model: str | None = None,
    *,
    vocabulary: str | Sequence[str] | None = None,
    pca_dims: int | float | None = 256,
    sif_coefficient: float | None = 1e-4,
    quantize: Quantize | str = "float16",
    weighting: Weighting | str = "frequency",
    pooling: Pooling | str = "blend",
    token_remove_pattern: str | None = r"\[unused\d+\]",
    normalize: bool = True,
    device: Device | str = "auto",
    dtype: Precision | str = "auto",
    batch_size: int = 1024,
    trust_remote_code: bool = False,
    corpus: str | Iterable[str] | None = None,
    text_field: str = "text",
    max_texts: int | None = None,
    refine: bool = True,
    save_path: str | None = None,
    force: bool = False,
    show_progress_bar: bool | None = None,
    **model2vec_names: Any,
) -> StaticEmbedder:
    """Distill a static model from a Sentence Transformer and return it.

    Args:
        model: the teacher: a Sentence Transformer folder or hub id (None: the packaged all-MiniLM-L6-v2).
            model2vec's ``model_name`` is accepted too.
        vocabulary: words to add to the teacher's tokens: a list of words, ``wordfreq:LANG:N``,
            ``corpus:N`` (the N most frequent words of ``corpus``) or a word file; None: the teacher's tokens.
        pca_dims: dimensions kept by PCA (an int), a share of the variance (a float below 1), or None: all.
        sif_coefficient: the SIF weighting's ``a`` (0 < a < 1); None: no weighting.
        quantize: storage type of the table: float32, float16, int8 (model2vec's ``quantize_to``).
        weighting: where token frequencies come from for SIF: frequency (by rank; added words by their known
            counts), zipf (all by rank) or corpus (counted in ``corpus``).
        pooling: how the teacher's outputs for one token become its vector: blend, tokens, mean, cls.
        token_remove_pattern: a regular expression of tokens left out (the teacher's ``[unusedN]``).
        normalize: whether the saved model L2-normalizes its vectors.
        device: where the teacher runs: auto, cpu, cuda, mps.
        dtype: the teacher's precision: auto, float32, bfloat16, float16.
        batch_size: tokens per teacher batch.
        trust_remote_code: allow a teacher's own code (off: a model that needs it is refused).
        corpus: unlabeled texts to refine the model on after distilling: a path (text, JSON lines, CSV,
            Parquet, a folder or glob), ``hf:ORG/NAME``, or a list (any iterable) of strings.
        text_field: the field or column of ``corpus`` holding the text.
        max_texts: use at most this many texts of ``corpus`` (a seeded sample).
        refine: False: only count ``corpus`` (for a ``corpus:N`` vocabulary, ``weighting="corpus"``).
        save_path: also save the model there (atomically).
        force: replace a ``save_path`` that is not a static model.
        show_progress_bar: progress bars on stderr (default: when stderr is a terminal).

    Returns:
        The ``StaticEmbedder``. ``m2vcli.refinement.distill_and_refine`` returns it with the vocabulary,
        timings and refinement details.
    """
    given = dict(locals())
    from m2vcli.distillation import DistillConfig
    from m2vcli.extras import require
    from m2vcli.refinement import distill_and_refine

    require("distill", "distilling a model")
    given.update(_renamed(distill, given.pop("model2vec_names"), given))
    show = _progress_on(given.pop("show_progress_bar"))
    spec, words = _vocabulary(given.pop("vocabulary"))
    with _corpus_path(given.pop("corpus")) as corpus_file, _bars(show) as bars:
        cfg = DistillConfig(**given, vocabulary=spec, corpus=corpus_file)
        result = distill_and_refine(
            cfg,
            words=words,
            on_progress=bars.get("tokens"),
            on_corpus_progress=bars.get("texts"),
            on_phase=bars.get("phase"),
            on_step=bars.get("step"),
        )
    return result.model


def refine(
    model: str | StaticEmbedder,
    corpus: str | Iterable[str],
    *,
    teacher: str | None = None,
    text_field: str = "text",
    max_texts: int | None = None,
    pooling: Pooling | str = "mean",
    loss: Loss | str = "cosine",
    epochs: int = 10,
    learning_rate: float = 1e-3,
    batch_size: int = 256,
    patience: int = 2,
    seed: int = 0,
    anchor: float = 0.1,
    cache_dir: str | None = None,
    cache: bool = True,
    device: Device | str = "auto",
    dtype: Precision | str = "auto",
    quantize: Quantize | str | None = None,
    save_path: str | None = None,
    force: bool = False,
    show_progress_bar: bool | None = None,
    **model2vec_names: Any,
) -> StaticEmbedder:
    """Refine a static model on unlabeled texts so that it reproduces its teacher's vector of each text,
    and return the refined model.

    Args:
        model: the static model: a folder, a hub id, or a ``StaticEmbedder`` in memory.
        corpus: the texts: a path (text, JSON lines, CSV, Parquet, a folder or glob), ``hf:ORG/NAME``, or a
            list (any iterable) of strings.
        teacher: the Sentence Transformer to reproduce (default: the teacher the model's config names).
        text_field: the field or column of ``corpus`` holding the text.
        max_texts: use at most this many texts (a seeded sample).
        pooling: the teacher's sentence pooling: mean, cls or blend.
        loss: cosine or mse between the model's and the teacher's vectors, or contrastive (in-batch
            InfoNCE: each text nearer its own teacher vector than the batch's others).
        epochs, learning_rate, batch_size, patience, seed: training (early stopping after ``patience``
            epochs without a better validation loss; the best epoch's table is kept).
        anchor: how strongly the table is held to its distilled values (0: not at all).
        cache_dir: where the teacher's vectors are cached (default: $M2V_CACHE or ~/.cache/m2v/features).
        cache: read and write that cache.
        device, dtype: where and in what precision the teacher runs.
        quantize: storage type of the refined table: float32, float16, int8 (default: the input model's).
        save_path: also save the model there (atomically).
        force: replace a ``save_path`` that is not a static model.
        show_progress_bar: progress bars on stderr (default: when stderr is a terminal).

    Returns:
        The refined ``StaticEmbedder``. ``m2vcli.refinement.run_refinement`` returns it with the training
        details.
    """
    given = dict(locals())
    from m2vcli.extras import require
    from m2vcli.refinement import RefineConfig, run_refinement

    require("distill", "refining a model")
    given.update(_renamed(refine, given.pop("model2vec_names"), given))
    show = _progress_on(given.pop("show_progress_bar"))
    import tempfile

    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="m2v-refine-")))
        if isinstance(given["model"], StaticEmbedder):
            given["model"].save_pretrained(folder / "input")
            given["model"] = str(folder / "input")
        elif not isinstance(given["model"], (str, Path)):
            raise ConfigError(f"model must be a path, a hub id or a StaticEmbedder, not {type(model).__name__}")
        given["model"] = str(given["model"])
        given["corpus"] = stack.enter_context(_corpus_path(given["corpus"]))
        if given["save_path"] is None:  # the command's path saves; here the model is returned
            given["save_path"] = str(folder / "output")
        bars = stack.enter_context(_bars(show))
        result = run_refinement(
            RefineConfig(**given), on_progress=bars.get("texts"), on_phase=bars.get("phase"), on_step=bars.get("step")
        )
    return result.model


def import_vectors(
    path: str,
    save_path: str | None = None,
    *,
    format: str = "auto",
    words: str | None = None,
    tokenizer: str | None = None,
    max_words: int | None = None,
    quantize: str = "float16",
    force: bool = False,
) -> StaticEmbedder:
    """A static model from a table made elsewhere, as ``m2v import`` reads it: GloVe, word2vec or fastText
    text, a ``.npy`` table with its ``words`` list, or a ``.safetensors`` token table with its ``tokenizer``
    (tokenizer.json). With ``save_path``, the folder is also written (atomically; ``force`` replaces a folder
    that is not a static model)."""
    from m2vcli.importing import ImportConfig, build_model, check_save_path

    cfg = ImportConfig(
        path=path,
        save_path=save_path,
        format=format,  # type: ignore[arg-type]
        words=words,
        tokenizer=tokenizer,
        max_words=max_words,
        quantize=quantize,  # type: ignore[arg-type]
        force=force,
    )
    if save_path:
        check_save_path(cfg)
    model, _ = build_model(cfg)
    if save_path:
        model.save_pretrained(save_path, force=force)
    return model
