"""The ``m2v encode`` job: lines of text in, one vector per line out, streamed.

Memory is bounded by the input text: the lines are read first (so the row count is known for the output
header), then vectors are computed and written one batch at a time. A file output is written to a
temporary sibling and renamed into place, so a failed run never leaves a half-written file.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

from m2vcli.callbacks import OnProgress
from m2vcli.config import coerce_enum
from m2vcli.encoding.vector_io import OutputFormat, make_writer
from m2vcli.errors import ConfigError, InputError, MissingValueError, OutputError
from m2vcli.files import atomic_file, check_output_file, decode_utf8, read_bytes
from m2vcli.model import DEFAULT_BATCH_SIZE, StaticEmbedder

_NO_MODEL = "no model given: pass --model PATH (a model folder or hub id)"


class InputErrors(str, Enum):
    """What to do with input bytes that are not valid UTF-8."""

    STRICT = "strict"
    REPLACE = "replace"


@dataclasses.dataclass(frozen=True)
class EncodeConfig:
    """Settings of ``m2v encode``."""

    model: str | None = None
    input: str | None = None
    output: str | None = None
    format: OutputFormat | None = None
    normalize: bool | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    max_length: int | None = None
    errors: InputErrors = InputErrors.STRICT
    texts: tuple[str, ...] = ()  # texts given on the command line instead of an input

    def __post_init__(self) -> None:
        if isinstance(self.texts, str):
            object.__setattr__(self, "texts", (self.texts,))
        object.__setattr__(self, "texts", tuple(self.texts or ()))
        if self.texts and self.input not in (None, "-"):
            raise ConfigError("give texts (--text) or an input file, not both")
        coerce_enum(self, "format", OutputFormat)
        coerce_enum(self, "errors", InputErrors)
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a whole number of at least 1, got {self.batch_size!r}")
        if self.max_length is not None and (not isinstance(self.max_length, int) or self.max_length < 0):
            raise ConfigError(f"max_length must be 0 (no limit) or a positive whole number, got {self.max_length!r}")
        if not self.model:
            raise MissingValueError(_NO_MODEL, option="--model")


@dataclass(frozen=True)
class EncodeResult:
    rows: int
    dim: int
    format: OutputFormat
    output: str


def split_lines(data: bytes, errors: InputErrors = InputErrors.STRICT) -> list[str]:
    """Decode UTF-8 input and split it into lines (``\\n`` or ``\\r\\n``); a final newline ends the last line.

    Invalid UTF-8 is an error naming the line (see ``m2vcli.files.decode_utf8``), unless ``errors`` says
    to replace it.

    >>> split_lines(b"first\\r\\nsecond\\n\\nfourth")
    ['first', 'second', '', 'fourth']
    >>> split_lines(b"")
    []
    """
    text = decode_utf8(data, "input", errors=errors.value, hint="fix the input or pass --errors replace")
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def choose_format(fmt: OutputFormat | None, output: str | None) -> OutputFormat:
    """An explicit format wins; else the output file's extension (``-o vectors.txt`` without ``--format``
    is an error, never silently npy); else npy."""
    if fmt is not None:
        return fmt
    if output and output != "-" and not _is_special(output):
        found = OutputFormat.from_suffix(Path(output).suffix)
        if found is None:
            choices = ", ".join(f".{f.value}" for f in OutputFormat)
            raise ConfigError(f"cannot tell the format of {output} from its extension ({choices}); pass --format")
        return found
    return OutputFormat.npy


def _is_special(output: str) -> bool:
    """A FIFO or a device (``-o /dev/stdout``): it has no extension to go by."""
    import stat

    try:
        return not stat.S_ISREG(os.stat(output).st_mode) and not stat.S_ISDIR(os.stat(output).st_mode)
    except (OSError, ValueError):
        return False


def read_input(source: str | None, stdin: BinaryIO | None) -> bytes:
    """The bytes of the input file, or of ``stdin`` (standard input when None) for no file or ``-``."""
    if source is not None and source != "-":
        return read_bytes(Path(source), "input file")
    stream = stdin if stdin is not None else _std_buffer(sys.stdin)
    if stream is None:
        raise InputError("cannot read standard input: it is closed; give an input file")
    try:
        return stream.read()
    except OSError as exc:
        raise InputError(f"cannot read standard input: {exc.strerror or exc}") from exc


def _std_buffer(stream: Any) -> BinaryIO | None:
    """The binary buffer under ``sys.stdin`` or ``sys.stdout``; None when the stream is closed (Python sets it
    to None when the descriptor was closed at start, as ``m2v encode <&-`` does)."""
    return None if stream is None else getattr(stream, "buffer", stream)


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def encode_lines(
    config: EncodeConfig,
    *,
    load_model: Callable[[str], StaticEmbedder] = StaticEmbedder.from_pretrained,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stdout_is_terminal: bool = False,
    on_progress: OnProgress | None = None,
) -> EncodeResult:
    """Run ``m2v encode``: read lines, encode them in batches, write the vectors as they come."""
    to_stdout = config.output is None or config.output == "-"
    reading_stdin = not config.texts and (config.input is None or config.input == "-")
    stdin_fd = _fileno(stdin if stdin is not None else sys.stdin) if reading_stdin else None
    # before any work: an output that is the input (named, linked or redirected) would replace it
    inputs = [stdin_fd if reading_stdin else config.input] if not config.texts else []
    target = None if to_stdout else check_output_file(str(config.output), "output path", inputs=inputs)
    quick_look = bool(config.texts) and to_stdout and config.format is None  # --text: readable by default
    fmt = OutputFormat.jsonl if quick_look else choose_format(config.format, config.output)
    if to_stdout and fmt.is_binary and stdout_is_terminal:
        raise OutputError(
            f"refusing to write binary {fmt.value} to a terminal; redirect it (> vectors.{fmt.value}), "
            "pass -o FILE, or use --format jsonl"
        )
    stream: BinaryIO | None = None
    if to_stdout:
        stream = stdout if stdout is not None else _std_buffer(sys.stdout)
        if stream is None:
            raise OutputError("cannot write standard output: it is closed; pass -o FILE")
    if not config.model:  # EncodeConfig checks it too; this also tells mypy
        raise ConfigError(_NO_MODEL)
    model = load_model(config.model)
    lines = list(config.texts) if config.texts else split_lines(read_input(config.input, stdin), config.errors)
    max_length = None if config.max_length == 0 else (config.max_length or model.max_length)
    batches = model.encode_batches(
        lines, batch_size=config.batch_size, normalize=config.normalize, max_length=max_length
    )
    progress = on_progress or (lambda done, total: None)

    def write_all(out: BinaryIO) -> None:
        writer = make_writer(fmt, out, len(lines), model.dim)
        writer.header()
        progress(0, len(lines))
        for vectors in batches:
            writer.write(vectors)
            progress(writer.written, len(lines))
        writer.finish()

    if target is None:
        assert stream is not None
        try:
            write_all(stream)
            stream.flush()
        except OSError as exc:
            raise OutputError(f"cannot write standard output: {exc.strerror or exc}") from exc
    else:
        with atomic_file(target) as handle:
            write_all(handle)
    return EncodeResult(rows=len(lines), dim=model.dim, format=fmt, output=str(target or "-"))
