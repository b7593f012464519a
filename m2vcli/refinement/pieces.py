"""Texts cut into pieces that fit the teacher, each piece with its token ids, in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator

from m2vcli.refinement.storage import Ragged, RaggedBuilder
from m2vcli.teacher import LoadedTeacher

TOKEN_CHARS = 16  # a text longer than this many characters per token of the teacher's limit is cut first
BATCH_CHARS = 8 << 20  # characters tokenized at once


def split_long(texts: list[str], teacher: LoadedTeacher) -> tuple[list[str], Ragged]:
    """Texts cut into pieces that fit the teacher (``teacher.max_tokens``), with each piece's token ids.

    A long text becomes consecutive pieces of whole tokens, cut where the teacher's own tokens end. A text
    of more than ``TOKEN_CHARS`` characters per allowed token is first cut at spaces into windows of that
    many characters, each tokenized on its own, so memory follows the window, not the text (a 20 MB text
    is never tokenized whole, with its offsets).
    """
    limit = teacher.max_tokens
    pieces: list[str] = []
    ids = RaggedBuilder()
    for batch in _batches(_windows(texts, max(TOKEN_CHARS * limit, 1024))):
        chunk_ids: list[list[int]] = []
        for text, encoding in zip(batch, teacher.tokenizer.encode_batch(batch, add_special_tokens=False), strict=True):
            tokens = encoding.ids
            if len(tokens) <= limit:
                pieces.append(text)
                chunk_ids.append(tokens)
                continue
            offsets = encoding.offsets
            for cut in range(0, len(tokens), limit):
                end = min(len(tokens), cut + limit)
                pieces.append(text[offsets[cut][0] : offsets[end - 1][1]])
                chunk_ids.append(tokens[cut:end])
        ids.extend(chunk_ids)
    return pieces, ids.build()


def _windows(texts: list[str], width: int) -> Iterator[str]:
    """Every text, a long one as consecutive windows of at most ``width`` characters, cut after the last
    space or line break in a window's second half when there is one.

    >>> list(_windows(["short", "aaaa bbbb cccc"], 8))
    ['short', 'aaaa ', 'bbbb ', 'cccc']
    """
    for text in texts:
        if len(text) <= width:
            yield text
            continue
        start = 0
        while start < len(text):
            end = min(len(text), start + width)
            if end < len(text):
                space = max(text.rfind(" ", start + width // 2, end), text.rfind("\n", start + width // 2, end))
                end = space + 1 if space >= 0 else end
            yield text[start:end]
            start = end


def _batches(units: Iterator[str], rows: int = 4096) -> Iterator[list[str]]:
    """``units`` in lists of at most ``rows`` texts and about ``BATCH_CHARS`` characters."""
    batch: list[str] = []
    chars = 0
    for unit in units:
        if batch and (len(batch) == rows or chars + len(unit) > BATCH_CHARS):
            yield batch
            batch, chars = [], 0
        batch.append(unit)
        chars += len(unit)
    if batch:
        yield batch
