"""``StaticEmbedder``: a static embedding model. Tokenize, look up, average.

Semantics, shared by every encoding method:

- unknown tokens are dropped (they carry no meaning and would pull every text towards one vector);
- a text with no known token (the empty text included) gives a zero vector;
- a text longer than ``max_length`` tokens is truncated to its first ``max_length`` tokens
  (``None`` means no limit);
- vectors are L2-normalized when the model's config says ``normalize: true``, unless overridden.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from m2vcli.callbacks import OnProgress
from m2vcli.errors import ModelFormatError
from m2vcli.model import persistence
from m2vcli.model.pooling import collect_batches, pooled_sums
from m2vcli.model.tokenization import TokenIds, load_tokenizer, unk_token_id

DEFAULT_MAX_LENGTH = 512
DEFAULT_BATCH_SIZE = 1024
PREFETCH_BATCHES = 2  # one batch ahead hides the pooling; a second absorbs uneven batches; more only costs memory


B = TypeVar("B")
_END: Any = object()


class _Unset(Enum):
    """The default of ``max_length`` arguments: "not given" (the model's own limit), unlike None (no limit)."""

    TOKEN = "unset"


class StaticEmbedder:
    """A static embedding model: a tokenizer and one vector per token.

    Usage: ``StaticEmbedder.from_pretrained("my_model").encode(["It's dangerous to go alone!"])`` gives a
    float32 array of shape ``(1, dim)``.
    """

    def __init__(
        self,
        embeddings: np.ndarray,
        tokenizer_json: str,
        *,
        config: dict[str, Any] | None = None,
        weights: np.ndarray | None = None,
        mapping: np.ndarray | None = None,
        normalize: bool | None = None,
        max_length: int | _Unset | None = _Unset.TOKEN,
        card: str | None = None,
    ) -> None:
        self.config: dict[str, Any] = dict(config or {})
        persistence.check_model_config(self.config, "the model's config")
        persistence.check_tensors(embeddings, weights, mapping, "the model")
        self.embeddings = embeddings
        self.tokenizer_json = tokenizer_json
        self.tokenizer = load_tokenizer(tokenizer_json, "tokenizer.json")
        spec = json.loads(tokenizer_json)
        with np.errstate(over="ignore"):  # a float64 weight too large for float32 is caught below
            self.weights = None if weights is None else np.asarray(weights, dtype=np.float32)
        self.mapping = None if mapping is None else np.asarray(mapping).astype(np.int64)
        self.card = card
        vocab = self.tokenizer.get_vocab_size(with_added_tokens=True)
        self._check_shapes(vocab)
        self.unk_id = unk_token_id(self.tokenizer, spec)
        self._ids = TokenIds(self.tokenizer, spec)
        scale = float(self.config.get("embedding_scale", 1.0))
        table = np.empty((embeddings.shape[0] + 1, embeddings.shape[1]), dtype=np.float32)
        with np.errstate(over="ignore"):  # an overflow is caught just below
            table[:-1] = embeddings
            if scale != 1.0:
                table[:-1] *= scale
        table[-1] = 0.0
        if not persistence.all_finite(table) or (self.weights is not None and not persistence.all_finite(self.weights)):
            raise ModelFormatError("the model's values overflow float32 (check its embedding_scale and weights)")
        self._table = table
        # The effective settings are attributes; save_pretrained writes them into config.json.
        self.normalize = bool(self.config.get("normalize", False)) if normalize is None else normalize
        self.max_length: int | None = (
            self.config.get("max_length", DEFAULT_MAX_LENGTH) if isinstance(max_length, _Unset) else max_length
        )

    def _check_shapes(self, vocab: int) -> None:
        rows = self.embeddings.shape[0]
        if self.mapping is None and rows < vocab:
            raise ModelFormatError(
                f"the tokenizer has {vocab} tokens but the embeddings only {rows} rows (and there is no mapping)"
            )
        if self.mapping is not None and len(self.mapping) < vocab:  # its values: persistence.check_tensors
            raise ModelFormatError(f"the mapping has {len(self.mapping)} entries for {vocab} tokens")
        if self.weights is not None and len(self.weights) < vocab:
            raise ModelFormatError(f"there are {len(self.weights)} token weights for {vocab} tokens")

    # ----- loading and saving -------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike[str],
        *,
        revision: str | None = None,
        token: str | None = None,
        normalize: bool | None = None,
        max_length: int | _Unset | None = _Unset.TOKEN,
        quantize_to: str | None = None,
        dimensionality: int | None = None,
    ) -> StaticEmbedder:
        """Load a model from a local folder, or from a hub id (the local cache first; see ``m2vcli.hub``).

        ``revision``: a hub branch, tag or commit; ``token``: a hub token for a private model (default: the
        one ``huggingface-cli login`` saved). ``quantize_to`` and ``dimensionality`` (model2vec's names)
        give the loaded model as ``quantize(quantize_to, dims=dimensionality)`` would.
        """
        folder = persistence.resolve_model_folder(path, revision=revision, token=token)
        raw = persistence.read_model_folder(folder)
        model = cls(
            raw.embeddings,
            raw.tokenizer_json,
            config=raw.config,
            weights=raw.weights,
            mapping=raw.mapping,
            normalize=normalize,
            max_length=max_length,
            card=raw.card,
        )
        if quantize_to is not None or dimensionality is not None:
            model = model.quantize(quantize_to, dims=dimensionality)
        return model

    def quantize(self, dtype: str | None = None, *, dims: int | None = None) -> StaticEmbedder:
        """A copy stored as ``dtype`` (float32, float16 or int8; None: as now) and cut to its first ``dims``
        dimensions (None: all). A distilled table's columns are PCA components by falling variance, so its
        first ``dims`` columns are what a distillation with ``pca_dims=dims`` keeps."""
        from m2vcli.model.operations import quantized_table

        table, config = quantized_table(self.float_table(), self.embeddings.dtype, self.config, dtype, dims)
        return StaticEmbedder(
            table,
            self.tokenizer_json,
            config=config,
            weights=self.weights,
            mapping=self.mapping,
            normalize=self.normalize,
            max_length=self.max_length,
            card=self.card,
        )

    def similarity(self, a: str | Sequence[str], b: str | Sequence[str]) -> float | np.ndarray:
        """Cosine similarity of texts: a float for two texts, else an ``(len(a), len(b))`` array (a text with
        no known token scores 0 with every text)."""
        scores = (
            self.encode([a] if isinstance(a, str) else list(a), normalize=True)
            @ self.encode([b] if isinstance(b, str) else list(b), normalize=True).T
        )
        return float(scores[0, 0]) if isinstance(a, str) and isinstance(b, str) else scores

    def save_pretrained(self, path: str | os.PathLike[str], *, force: bool = False) -> None:
        """Write the model folder atomically (see ``persistence.write_folder_atomically``)."""
        self.write_folder(Path(path), force=force)

    def write_folder(
        self,
        target: Path,
        *,
        force: bool = False,
        extra_config: dict[str, Any] | None = None,
        extra_files: Callable[[Path], None] | None = None,
    ) -> None:
        """``save_pretrained`` with ``extra_config`` merged into config.json and ``extra_files(folder)``
        writing more files into the folder before it is put in place (a classifier's head)."""
        persistence.write_model_folder(self, target, force=force, extra_config=extra_config, extra_files=extra_files)

    def push_to_hub(
        self,
        repo_id: str,
        *,
        private: bool = False,
        revision: str | None = None,
        token: str | None = None,
        scores: dict[str, dict[str, float]] | None = None,
    ) -> str:
        """Upload the model to the hub as ``repo_id`` with a card of its settings and ``scores`` (from
        ``m2vcli.evaluation.read_scores("results")``); returns the commit's URL (see ``model.sharing``)."""
        from m2vcli.model.sharing import push_model

        return push_model(self, repo_id, private=private, revision=revision, token=token, scores=scores)

    # ----- properties -----------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.get_vocab_size(with_added_tokens=True))

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"StaticEmbedder(vocab_size={self.vocab_size}, dim={self.dim}, normalize={self.normalize})"

    # ----- tokenizing and encoding ------------------------------------------------------------

    def _resolve_max_length(self, max_length: int | _Unset | None) -> int | None:
        limit = self.max_length if isinstance(max_length, _Unset) else max_length
        if limit is not None and limit < 0:
            raise ValueError(f"max_length must be None (no limit) or at least 0, got {limit}")
        return limit

    def _token_rows(self, texts: Sequence[str], max_length: int | None) -> tuple[np.ndarray, ...]:
        """Flat token ids, table rows (dropped tokens -> the zero row), lengths and kept-token counts."""
        ids, lengths = self._ids.encode(texts, max_length)
        rows = ids if self.mapping is None else self.mapping[ids]
        counts = lengths
        if self.unk_id is not None:
            dropped = ids == self.unk_id
            if dropped.any():
                rows = rows.copy() if rows is ids else rows
                rows[dropped] = self._table.shape[0] - 1
                segment = np.repeat(np.arange(len(lengths)), lengths)
                counts = lengths - np.bincount(segment[dropped], minlength=len(lengths))
        return ids, rows, lengths, counts

    def tokenize(self, texts: Sequence[str], *, max_length: int | _Unset | None = _Unset.TOKEN) -> list[list[int]]:
        """Token ids of each text, truncated to ``max_length``, unknown tokens dropped."""
        id_lists = self._ids.id_lists(texts, self._resolve_max_length(max_length))
        if self.unk_id is None:
            return id_lists
        unk = self.unk_id
        return [[i for i in ids if i != unk] for ids in id_lists]

    def table_rows(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's table rows (after the mapping, if any), unknown tokens left out, truncated to
        ``max_length``: what ``encode`` averages, for training the table."""
        _, rows, lengths, _ = self._token_rows(texts, self._resolve_max_length(_Unset.TOKEN))
        dropped = self._table.shape[0] - 1
        return [r[r != dropped] for r in np.split(rows, np.cumsum(lengths)[:-1])]

    def float_table(self) -> np.ndarray:
        """The embeddings as float32 with ``embedding_scale`` applied (a copy)."""
        return self._table[:-1].copy()

    def _pool(self, tokens: tuple[np.ndarray, ...], normalize: bool) -> np.ndarray:
        ids, rows, lengths, counts = tokens
        token_weights = None if self.weights is None else self.weights[ids]
        sums = pooled_sums(self._table, rows, lengths, token_weights)
        nonzero = counts > 0
        sums[nonzero] /= counts[nonzero, None].astype(np.float32)
        if normalize:
            norms = np.linalg.norm(sums, axis=1)
            keep = norms > 0
            sums[keep] /= norms[keep, None]
        return sums

    def longest_text(self, max_length: int | _Unset | None = _Unset.TOKEN) -> int | None:
        """The most characters of a text that encoding can look at under ``max_length`` (None: all of them).

        A text cut to this many characters encodes exactly as the whole text does, so a reader may cut a
        long line as it reads it instead of holding it whole.
        """
        limit = self._resolve_max_length(max_length)
        return None if limit is None else self._ids.longest_text(limit)

    def encode_batches(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        normalize: bool | None = None,
        max_length: int | _Unset | None = _Unset.TOKEN,
    ) -> Iterator[np.ndarray]:
        """Yield float32 ``(<=batch_size, dim)`` arrays for consecutive batches of ``texts``, in order."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        batches = (texts[start : start + batch_size] for start in range(0, len(texts), batch_size))
        for _, vectors in self.encode_stream(batches, normalize=normalize, max_length=max_length):
            yield vectors

    def encode_stream(
        self,
        batches: Iterable[B],
        *,
        texts: Callable[[B], Sequence[str]] | None = None,
        normalize: bool | None = None,
        max_length: int | _Unset | None = _Unset.TOKEN,
    ) -> Iterator[tuple[B, np.ndarray]]:
        """Yield ``(batch, vectors)`` for each batch of an iterable, in order, pulling batches only as needed.

        ``texts(batch)`` gives a batch's texts (default: the batch is a sequence of texts). Worker threads
        tokenize the next ``PREFETCH_BATCHES`` batches while the current one is pooled (the tokenizer releases
        the GIL while it works, and parallelises each batch itself), so at most that many batches beyond the
        current one are held.
        """
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        norm = self.normalize if normalize is None else normalize
        limit = self._resolve_max_length(max_length)
        texts_of: Callable[[B], Sequence[str]] = texts or (lambda batch: batch)  # type: ignore[assignment,return-value]
        source = iter(batches)
        with ThreadPoolExecutor(max_workers=PREFETCH_BATCHES, thread_name_prefix="m2v-tokenize") as pool:
            pending: deque[tuple[B, Any]] = deque()
            while True:
                while len(pending) <= PREFETCH_BATCHES:
                    batch = next(source, _END)
                    if batch is _END:
                        break
                    pending.append((batch, pool.submit(self._token_rows, texts_of(batch), limit)))
                if not pending:
                    return
                batch, tokens = pending.popleft()
                yield batch, self._pool(tokens.result(), norm)

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        normalize: bool | None = None,
        max_length: int | _Unset | None = _Unset.TOKEN,
        show_progress_bar: bool | None = None,
        on_progress: OnProgress | None = None,
        show_progress: bool | None = None,
    ) -> np.ndarray:
        """Encode texts to a float32 ``(n, dim)`` array; a single string gives a ``(dim,)`` vector.

        ``on_progress(done, total)`` hears after each batch how many texts are encoded. ``show_progress_bar``
        (``show_progress`` also): a progress bar on stderr; default: when stderr is a terminal and the texts
        fill more than one batch.
        """
        single = isinstance(texts, str)
        batch = [texts] if isinstance(texts, str) else list(texts)
        show = show_progress_bar if show_progress_bar is not None else show_progress
        if 1 <= len(batch) <= batch_size and not show and on_progress is None:
            # one batch: tokenized and pooled here, without the look-ahead threads that only pay on many
            norm = self.normalize if normalize is None else normalize
            vectors = self._pool(self._token_rows(batch, self._resolve_max_length(max_length)), norm)
            return vectors[0] if single else vectors
        if show is None:
            from m2vcli.console import stderr_is_terminal

            show = len(batch) > batch_size and stderr_is_terminal()
        out = np.empty((len(batch), self.dim), dtype=np.float32)
        batches = self.encode_batches(batch, batch_size=batch_size, normalize=normalize, max_length=max_length)
        listeners = [] if on_progress is None else [on_progress]
        if show:
            from m2vcli.console import progress_bar

            with progress_bar("Encoding", unit="texts") as bar:
                collect_batches(batches, out, [bar, *listeners])
        else:
            collect_batches(batches, out, listeners)
        return out[0] if single else out

    def encode_as_sequence(
        self, texts: str | Sequence[str], *, max_length: int | _Unset | None = _Unset.TOKEN
    ) -> np.ndarray | list[np.ndarray]:
        """Each text's token vectors ``(n_tokens, dim)`` before pooling (weights applied, unknowns dropped)."""
        single = isinstance(texts, str)
        batch = [texts] if isinstance(texts, str) else list(texts)
        out = []
        for ids in self.tokenize(batch, max_length=max_length):
            idx = np.asarray(ids, dtype=np.int64)
            rows = idx if self.mapping is None else self.mapping[idx]
            vectors = self._table[rows]
            if self.weights is not None:
                vectors = vectors * self.weights[idx, None]
            out.append(vectors)
        return out[0] if single else out
