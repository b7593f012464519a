"""All the texts of a source (a file, a folder, a glob), gathered for commands that need them at once:
a refinement corpus, bench's texts. Read through the same readers as ``m2v encode``, a chunk at a time;
texts are stripped and blank ones dropped, and the total kept is bounded."""

from __future__ import annotations

from dataclasses import dataclass, replace

from m2vcli.errors import InputError
from m2vcli.texts.formats import InputFormat, ReadSettings, choose_input_format
from m2vcli.texts.listing import list_inputs, open_input
from m2vcli.texts.records import read_chunks

MAX_TEXT_CHARS = 1024**3  # the texts a command holds at once, in characters


@dataclass(frozen=True)
class Gathered:
    texts: list[str]
    files: int


def looks_like_json_lines(path: str) -> bool:
    """Whether a file has a JSON-lines extension, or no known extension and a first non-blank line that
    opens a JSON object (``127.0.0.1 localhost`` is text). A file that cannot be peeked at (a FIFO, one
    that cannot be read: its reader says why) counts as JSON lines, as before."""
    import os
    import stat

    if InputFormat.from_suffix(path) is not None:
        return True
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return True
        with open(path, "rb") as peek:
            head = peek.read(4096)
    except OSError:
        return True
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def gather_texts(
    source: str,
    settings: ReadSettings,
    *,
    field_given: bool = True,
    what: str = "corpus",
    limit_chars: int = MAX_TEXT_CHARS,
    first: int | None = None,
) -> Gathered:
    """The non-blank texts (stripped) of every file ``source`` names, in order; each file's extension
    decides its format (see ``choose_input_format``), and a file with none is JSON lines when a field is
    given and its first line is a JSON object, else plain text. With ``first``, reading stops once that
    many are kept."""
    paths = list_inputs(source, what=what)
    texts: list[str] = []
    held = 0
    for path in paths:
        fmt = choose_input_format(None, path, field_given and looks_like_json_lines(path))
        named = replace(settings, format=fmt, name=f"{what} file {path}")
        stream = open_input(path, f"{what} file")
        try:
            for chunk in read_chunks(stream, named):
                for text in chunk.texts:
                    text = text.strip()
                    if text:
                        texts.append(text)
                        held += len(text)
                if first is not None and len(texts) >= first:
                    return Gathered(texts[:first], len(paths))
                if held > limit_chars:
                    raise InputError(
                        f"{what} {source} holds more than {limit_chars:,} characters of text; "
                        "that is more than m2v holds at once: use a part of it"
                    )
        except OSError as exc:
            raise InputError(f"cannot read {what} file {path}: {exc.strerror or exc}") from exc
        finally:
            stream.close()
    return Gathered(texts, len(paths))
