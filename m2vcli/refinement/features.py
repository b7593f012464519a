"""Featurizing: the teacher's vector for every corpus text, cached on disk in shards.

A text's vector is the teacher's output at the text's positions averaged as ``Pooling`` says (``tokens``:
the text's own positions, special tokens left out). Texts are batched by length with a token budget, so
a batch pads only to its own longest text. Shards of ``SHARD_TEXTS`` texts are written as they are done
(atomically) under a name that hashes their texts, so an interrupted run resumes where it stopped and a
corpus that shares its first shards with another reuses them. The cache folder is keyed by the teacher's
weights and every setting that changes a vector: a cache made by another teacher or other settings is
never read.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from m2vcli.callbacks import OnProgress
from m2vcli.errors import InputError, OutputError
from m2vcli.files import umask_mode
from m2vcli.refinement.storage import Ragged
from m2vcli.teacher import LoadedTeacher, Pooling, embed

SHARD_TEXTS = 4096
BATCH_TOKENS = 8192  # padded tokens per teacher batch
LENGTH_STEP = 8  # inputs are padded to a multiple of this many positions
FORMAT_VERSION = 2  # 2: a shard is an npy file followed by the sha256 of its bytes
DIGEST_BYTES = 32
TokenLists = Sequence[Sequence[int]] | Sequence[np.ndarray] | Ragged


def default_cache_root() -> Path:
    """``$M2V_CACHE`` or ``$XDG_CACHE_HOME/m2v/features`` (``~/.cache/m2v/features``)."""
    root = os.environ.get("M2V_CACHE")
    if root:
        return Path(root).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "m2v" / "features"


def teacher_fingerprint(teacher: LoadedTeacher) -> str:
    """A hash of the teacher's weights and tokenizer: two teachers with one name never share a cache."""
    import torch

    digest = hashlib.sha256(teacher.tokenizer_json.encode())
    with torch.no_grad():
        for key, tensor in sorted(teacher.encoder.state_dict().items()):
            digest.update(key.encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:24]


@dataclass(frozen=True)
class FeatureKey:
    """Everything but the texts that decides a text's vector: names the cache folder."""

    teacher: str  # teacher_fingerprint
    pooling: str
    precision: str
    max_tokens: int

    @property
    def folder_name(self) -> str:
        text = json.dumps({**self.__dict__, "format": FORMAT_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def shard_name(token_ids: TokenLists) -> str:
    """A shard's file name: a hash of its texts' token ids, so a corpus that begins like another (a
    ``head -n`` prefix, a resumed run) reuses the shards they share, and a changed text is recomputed.

    >>> shard_name([[1, 2], [3]]) != shard_name([[1], [2, 3]])
    True
    """
    digest = hashlib.sha256()
    for ids in token_ids:
        array = np.asarray(ids, dtype=np.int64)
        digest.update(len(array).to_bytes(8, "little"))
        digest.update(array.tobytes())
    return f"{digest.hexdigest()[:40]}.npy"


class BadEntry(Exception):
    """A cache entry that is not a regular file m2v wrote (a symlink, a FIFO, a folder)."""


def _read_private(path: Path) -> bytes | None:
    """The bytes of the cache file ``path``, or None when it is absent. The file is opened without following
    a symlink and without blocking on a FIFO, and must be a regular file (else ``BadEntry``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symlink; ENXIO and others: a FIFO or a device
        raise BadEntry(exc.strerror or str(exc)) from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadEntry("not a regular file")
        return handle.read()


def _read_shard(path: Path, texts: int, dim: int) -> np.ndarray | None:
    """A cached shard when it is whole: a float32 ``(texts, dim)`` array whose bytes match the digest
    written after them. None when it is absent; ``BadEntry`` when it is anything else."""
    data = _read_private(path)
    if data is None:
        return None
    body, digest = data[:-DIGEST_BYTES], data[-DIGEST_BYTES:]
    if len(data) <= DIGEST_BYTES or hashlib.sha256(body).digest() != digest:
        raise BadEntry("its content does not match its checksum")
    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise BadEntry("not a shard m2v wrote") from exc
    if array.dtype != np.float32 or array.shape != (texts, dim):
        raise BadEntry(f"it holds {array.dtype} {array.shape}, not float32 ({texts}, {dim})")
    return array


def _write_shard(path: Path, vectors: np.ndarray) -> None:
    """Write a shard privately: built in a temporary file in the cache folder, then renamed over ``path``
    (a rename never follows a link or opens a FIFO), with the umask's mode; its checksum follows the data."""
    body = io.BytesIO()
    np.save(body, vectors)
    data = body.getvalue()
    try:
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write the feature cache in {path.parent}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data + hashlib.sha256(data).digest())
        os.chmod(tmp, umask_mode(0o666))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write the feature cache shard {path}: {exc.strerror or exc}") from exc
        raise


def _drop(path: Path, why: str) -> str:
    """Remove a bad cache entry; the line that names it."""
    try:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
    except OSError as exc:
        raise OutputError(f"the feature cache entry {path} is bad ({why}) and cannot be removed: {exc}") from exc
    return f"{path}: {why}; dropped and computed again"


@dataclass
class Features:
    """The teacher's vectors for a corpus, shard by shard: files in a folder (read back one shard at a
    time, so the whole matrix is never in memory), or arrays when featurizing had no folder."""

    dim: int
    parts: list[Path | np.ndarray] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    cached: int = 0  # texts whose vectors were read from the folder, not computed
    dropped: list[str] = field(default_factory=list)  # bad cache entries found, removed and recomputed

    def __len__(self) -> int:
        return sum(self.counts)

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first text, its shard's vectors) for each shard, in order."""
        start = 0
        for part, count in zip(self.parts, self.counts, strict=True):
            try:
                vectors = part if isinstance(part, np.ndarray) else _read_shard(part, count, self.dim)
            except BadEntry as exc:
                raise InputError(
                    f"the feature cache shard {part} changed while it was in use ({exc}); run again"
                ) from exc
            if vectors is None:
                raise InputError(f"the feature cache shard {part} was removed while it was in use; run again")
            yield start, vectors
            start += count

    def array(self) -> np.ndarray:
        """All vectors in one float32 ``(texts, dim)`` array (for small corpora)."""
        out = np.empty((len(self), self.dim), dtype=np.float32)
        for start, vectors in self.chunks():
            out[start : start + len(vectors)] = vectors
        return out


def cache_folder(folder: Path) -> Path:
    """Make (or check) a cache folder m2v owns: a real folder, not a symlink to elsewhere, that can be
    written; a one-line ``OutputError`` otherwise, before any teacher pass."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise OutputError(f"the feature cache folder {folder} is not a folder m2v made; remove it")
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot make the feature cache folder {folder}: {exc.strerror or exc} "
            "(set M2V_CACHE to a folder you can write)"
        ) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write the feature cache folder {folder}: permission denied")
    return folder


def featurize(
    teacher: LoadedTeacher,
    token_ids: TokenLists,
    pooling: Pooling,
    folder: Path | None,
    on_progress: OnProgress | None = None,
) -> Features:
    """The teacher's vector for each text (``token_ids``: each text's ids without special tokens, at most
    ``teacher.max_tokens``), float32, ``teacher.dim`` wide. With a ``folder``, each shard of ``SHARD_TEXTS``
    texts is read from it when there, else computed and written to it at once; the result then names the
    shard files, and memory holds one shard at a time. Without one, the vectors are kept in memory.
    ``on_progress(texts done, texts)`` is called after every teacher batch, so a bar moves from the first."""
    progress = on_progress or (lambda done, total: None)
    n = len(token_ids)
    if folder is not None:
        cache_folder(folder)
    result = Features(dim=teacher.dim)
    for start in range(0, n, SHARD_TEXTS):
        items = token_ids[start : start + SHARD_TEXTS]
        path = folder / shard_name(items) if folder is not None else None
        found = None
        if path is not None:
            try:
                found = _read_shard(path, len(items), teacher.dim)
            except BadEntry as exc:
                result.dropped.append(_drop(path, str(exc)))
        if found is not None:
            result.cached += len(items)
        else:

            def batch_done(done: int, total: int, first: int = start) -> None:  # every batch, not every shard
                progress(first + done, n)

            vectors = embed(
                teacher, items, pooling, token_budget=BATCH_TOKENS, step=LENGTH_STEP, on_progress=batch_done
            )
            if path is not None:
                _write_shard(path, vectors)
        result.parts.append(path if path is not None else vectors)
        result.counts.append(len(items))
        progress(min(n, start + SHARD_TEXTS), n)
    return result
