"""Lines of a binary stream, decoded as UTF-8 a block at a time, with bounded memory."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import Any, BinaryIO

from m2vcli.errors import InputError
from m2vcli.files import utf8_error
from m2vcli.texts.formats import MAX_RECORD_BYTES, READ_BYTES, ReadSettings

BOM = b"\xef\xbb\xbf"


class _RawReader(io.RawIOBase):
    """Any object with ``read(n)`` (a pyarrow stream, a socket file) as a raw stream for ``BufferedReader``."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def buffered(stream: Any) -> BinaryIO:
    """``stream`` itself when it can read lines fast, else wrapped so that it can."""
    if isinstance(stream, (io.BufferedReader, io.BytesIO)):
        return stream
    return io.BufferedReader(_RawReader(stream), buffer_size=READ_BYTES)


def decode_error(settings: ReadSettings, line: int, data: bytes, exc: UnicodeDecodeError) -> InputError:
    return utf8_error(settings.name, line, data[exc.start], "fix the input or pass --errors replace")


def binary_error(settings: ReadSettings, line: int) -> InputError:
    return InputError(f"{settings.name} line {line} holds a NUL byte: it is binary, not text")


def too_long(settings: ReadSettings, line: int, what: str = "line") -> InputError:
    return InputError(
        f"{settings.name} line {line}: a {what} longer than {MAX_RECORD_BYTES // 1024**2} MiB; "
        "m2v reads records up to that size"
    )


COMPRESSED = {  # how a compressed file starts, and the tool that gives its text
    b"\x1f\x8b": ("gzip", "zcat"),
    b"BZh": ("bzip2", "bzcat"),
    b"\xfd7zXZ\x00": ("xz", "xzcat"),
    b"\x28\xb5\x2f\xfd": ("zstd", "zstdcat"),
    b"PK\x03\x04": ("zip", "unzip -p"),
}


def check_not_compressed(block: bytes, name: str, example: str = "texts.txt") -> None:
    """A file whose first bytes ``block`` are a compressed format's is never text: an error with the way to
    read it (``tool FILE > example``)."""
    for magic, (kind, tool) in COMPRESSED.items():
        if block.startswith(magic):
            raise InputError(f"{name} is {kind}-compressed, not text; decompress it first: {tool} FILE > {example}")


def _check_compressed(block: bytes, settings: ReadSettings) -> None:
    """A compressed file is never text, whatever ``--errors`` says."""
    check_not_compressed(block, settings.name)


def _check_nul(data: bytes, settings: ReadSettings, first_line: int) -> None:
    at = data.find(b"\x00")
    if at >= 0:
        raise binary_error(settings, first_line + data.count(b"\n", 0, at))


def iter_lines(stream: BinaryIO, settings: ReadSettings, *, cut: bool = True) -> Iterator[str]:
    """The input's lines, decoded (``\\n`` or ``\\r\\n`` ends a line; a final newline ends the last one).

    The input is read in blocks of ``READ_BYTES``, each block's whole lines decoded at once. With ``cut``
    and ``settings.max_chars``, a line is cut to that many characters, and a line longer than four bytes per
    character allows is not kept whole: its first part is decoded, the rest only checked. Without ``cut``,
    a line over ``MAX_RECORD_BYTES`` is an error (a record is never held past that size).
    """
    max_chars = settings.max_chars if cut else None
    limit = max_chars * 4 + 4 if max_chars is not None else (None if cut else MAX_RECORD_BYTES)
    number = 0  # lines yielded so far
    pending: list[bytes] = []  # the start of a line that no block has ended yet
    pending_size = 0
    first = True
    while True:
        block = stream.read(READ_BYTES)
        if first:
            first = False
            _check_compressed(block, settings)
            if block.startswith(BOM):
                block = block[3:]
        if not block:
            break
        end = block.rfind(b"\n")
        if end < 0:
            _check_nul(block, settings, number + 1)
            pending.append(block)
            pending_size += len(block)
            if limit is not None and pending_size >= limit:  # a long line: keep its start, check the rest
                if max_chars is None:
                    raise too_long(settings, number + 1)
                number += 1
                yield _long_line(stream, b"".join(pending), number, settings)
                pending, pending_size = [], 0
            continue
        data = b"".join([*pending, block[:end]]) if pending else block[:end]
        pending, pending_size = [block[end + 1 :]], len(block) - end - 1
        _check_nul(data, settings, number + 1)
        try:
            text = data.decode("utf-8", settings.errors)
        except UnicodeDecodeError as exc:
            raise decode_error(settings, number + data.count(b"\n", 0, exc.start) + 1, data, exc) from exc
        lines = text.split("\n")
        for line in lines:
            if line.endswith("\r"):
                line = line[:-1]
            yield line if max_chars is None else line[:max_chars]
        number += len(lines)
    if pending_size:
        data = b"".join(pending)
        _check_nul(data, settings, number + 1)
        try:
            line = data.decode("utf-8", settings.errors)
        except UnicodeDecodeError as exc:
            raise decode_error(settings, number + 1, data, exc) from exc
        yield line if max_chars is None else line[:max_chars]


def _long_line(stream: BinaryIO, head: bytes, number: int, settings: ReadSettings) -> str:
    """A line longer than the read limit: ``head`` decoded and cut, the rest read in pieces and checked."""
    assert settings.max_chars is not None
    decoder = codecs.getincrementaldecoder("utf-8")(settings.errors)
    try:
        text = decoder.decode(head)[: settings.max_chars]
        while True:
            piece = stream.readline(READ_BYTES)
            if b"\x00" in piece:
                raise binary_error(settings, number)
            if not piece:
                decoder.decode(b"", final=True)
                return text
            if piece.endswith(b"\n"):
                decoder.decode(piece[:-1], final=True)
                return text
            decoder.decode(piece)
    except UnicodeDecodeError as exc:
        raise decode_error(settings, number, exc.object, exc) from exc
