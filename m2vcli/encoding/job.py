"""The ``m2v encode`` job: texts in, one vector per text out, streamed.

Memory does not grow with the input: texts are read a batch at a time (``m2vcli.encoding.sources``),
encoded and written before the next batches are read. npy and safetensors record the row count in their
header, written before the vectors, so the count is settled one of three ways:

1. the output can seek (a file, ``> file`` on standard output): a header of fixed size is written first and
   written again, in place, at the end;
2. else the input is a file: its texts are counted first (for plain text, a newline count);
3. else (a pipe into a pipe) the vectors are spooled to a temporary file, then header and vectors follow.

A file output is written to a temporary sibling and renamed into place, so a failed or interrupted run
never leaves a half-written file. Nothing here imports torch, transformers, mteb or scikit-learn.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from m2vcli.callbacks import OnProgress
from m2vcli.encoding.settings import NO_MODEL, EncodeConfig, EncodeResult, Engine, InputErrors
from m2vcli.encoding.vector_io import OutputFormat, VectorWriter, make_writer
from m2vcli.errors import ConfigError, InputError, OutputError
from m2vcli.extras import require
from m2vcli.files import atomic_file, check_not_read, check_output_file, local_path, stdout_path
from m2vcli.model import StaticEmbedder
from m2vcli.texts import (
    Chunk,
    InputFormat,
    ReadSettings,
    choose_input_format,
    count_rows,
    iter_lines,
    open_input,
    read_chunks,
)


def split_lines(data: bytes, errors: InputErrors = InputErrors.STRICT) -> list[str]:
    """Decode UTF-8 input and split it into lines (``\\n`` or ``\\r\\n``); a final newline ends the last line.

    Invalid UTF-8 is an error naming the line, unless ``errors`` says to replace it. The same reader as
    ``m2v encode`` uses on a stream.

    >>> split_lines(b"first\\r\\nsecond\\n\\nfourth")
    ['first', 'second', '', 'fourth']
    >>> split_lines(b"")
    []
    """
    import io

    return list(iter_lines(io.BytesIO(data), ReadSettings(errors=errors.value)))


def choose_format(fmt: OutputFormat | None, output: str | None) -> OutputFormat:
    """An explicit format wins; else the output file's extension (``-o vectors.txt`` without ``--format``
    is an error, never silently npy); else npy."""
    if fmt is None and output and output != "-" and not _is_special(output):
        fmt = OutputFormat.from_suffix(Path(output).suffix)
        if fmt is None:
            choices = ", ".join(f".{f.value}" for f in OutputFormat)
            raise ConfigError(f"cannot tell the format of {output} from its extension ({choices}); pass --format")
    if fmt is OutputFormat.parquet:
        require("parquet", "writing Parquet")
    return fmt or OutputFormat.npy


def _is_special(output: str) -> bool:
    """A FIFO or a device (``-o /dev/stdout``): it has no extension to go by."""
    try:
        mode = os.stat(output).st_mode
    except (OSError, ValueError):
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _std_buffer(stream: Any) -> BinaryIO | None:
    """The binary buffer under ``sys.stdin`` or ``sys.stdout``; None when the stream is closed (Python sets it
    to None when the descriptor was closed at start, as ``m2v encode <&-`` does)."""
    return None if stream is None else getattr(stream, "buffer", stream)


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def _regular_file(stream: Any) -> bool:
    fd = _fileno(stream)
    try:
        return fd is not None and stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False


def _regular_length(stream: Any) -> int | None:
    """The length of the regular file under ``stream`` (one opened for appending), else None."""
    fd = _fileno(stream)
    try:
        return os.fstat(fd).st_size if fd is not None and _regular_file(stream) else None
    except OSError:
        return None


def _cut_back(stream: Any, length: int) -> None:
    """Cut the regular file under ``stream`` back to ``length`` bytes, its buffer flushed first so that no
    late write lands after the cut."""
    with contextlib.suppress(OSError, ValueError):
        stream.flush()
    fd = _fileno(stream)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, length)


def can_rewrite(stream: Any) -> bool:
    """Whether a header written at the stream's current place can be written again there later: a regular
    file not opened for appending (``>>`` would put the second header at the end)."""
    fd = _fileno(stream)
    if fd is None:  # an in-memory stream
        return bool(getattr(stream, "seekable", lambda: False)())
    if not _regular_file(stream):
        return False
    try:
        appending = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND
        return bool(stream.seekable()) and not appending
    except (AttributeError, OSError, ValueError):
        return False


def input_format_of(config: EncodeConfig) -> InputFormat:
    """The input's format, checked against the other settings before any work."""
    if config.texts:
        if config.field or config.id_field or config.input_format not in (None, InputFormat.text):
            raise ConfigError("--text gives texts directly: --field, --id-field and --input-format do not apply")
        return InputFormat.text
    name = None if config.input in (None, "-") else config.input
    fmt = choose_input_format(config.input_format, name, bool(config.field or config.id_field))
    if not fmt.has_fields and (config.field or config.id_field):
        what = f"{name}" if name else "standard input"
        raise ConfigError(
            f"--field/--column and --id-field apply to jsonl, csv, tsv and parquet input; {what} is read as "
            "plain text (pass --input-format)"
        )
    if fmt is InputFormat.parquet and name is None:
        raise ConfigError("Parquet input must be a file, not standard input")
    return fmt


def _checked_reads(chunks: Iterator[Chunk], name: str) -> Iterator[Chunk]:
    """``chunks``, with a read failure (an I/O error mid-stream) turned into a one-line error."""
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc
        yield chunk


def encode_lines(
    config: EncodeConfig,
    *,
    load_model: Callable[[str], StaticEmbedder] = StaticEmbedder.from_pretrained,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stdout_is_terminal: bool = False,
    on_progress: OnProgress | None = None,
) -> EncodeResult:
    """Run ``m2v encode`` on this machine: read texts, encode them in batches, write vectors as they come."""
    if config.engine is not Engine.local:
        raise ConfigError("encode_lines runs the local engine; see m2vcli.encoding.ray_engine for Ray")
    if config.address or config.concurrency or config.force:
        raise ConfigError("--address, --concurrency and --force apply to --engine ray")
    to_stdout = config.output is None or config.output == "-"
    reading_stdin = not config.texts and (config.input is None or config.input == "-")
    stdin_fd = _fileno(stdin if stdin is not None else sys.stdin) if reading_stdin else None
    in_fmt = input_format_of(config)
    # before any work: an output that is the input (named, linked or redirected) would replace it
    inputs = [stdin_fd if reading_stdin else config.input] if not config.texts else []
    target = None if to_stdout else check_output_file(str(config.output), "output path", inputs=inputs)
    # nor the model in use: no output inside its folder, named or redirected (> model/model.safetensors)
    reads = [*inputs, local_path(config.model)]
    if target is not None:
        check_not_read(target, reads, "output path")
    elif (redirected := stdout_path(stdout if stdout is not None else _std_buffer(sys.stdout))) is not None:
        check_not_read(redirected, reads, "standard output")
    quick_look = bool(config.texts) and to_stdout and config.format is None  # --text: readable by default
    fmt = OutputFormat.jsonl if quick_look else choose_format(config.format, config.output)
    if config.id_field and not fmt.keeps_ids:
        raise ConfigError(f"ids (--id-field) are kept in jsonl or parquet output, not {fmt.value}; pass --format")
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
    source: BinaryIO | None = None
    if reading_stdin:
        source = stdin if stdin is not None else _std_buffer(sys.stdin)
        if source is None:
            raise InputError("cannot read standard input: it is closed; give an input file")
    if not config.model:  # EncodeConfig checks it too; this also tells mypy
        raise ConfigError(NO_MODEL)
    model = load_model(config.model)
    max_length = None if config.max_length == 0 else (config.max_length or model.max_length)
    name = "input" if reading_stdin or config.texts else f"input {config.input}"
    settings = config.read_settings(in_fmt, model.longest_text(max_length), name)
    source_name = "standard input" if reading_stdin else settings.name
    job = _Job(config, settings, model, max_length, fmt, on_progress or (lambda done, total: None), source_name)
    try:
        if source is None and not config.texts:
            assert config.input is not None
            source = open_input(config.input)
        if target is None:
            assert stream is not None
            try:
                rows = job.run(source, stream, input_is_file=not reading_stdin and not config.texts)
                stream.flush()
            except OSError as exc:
                raise OutputError(f"cannot write standard output: {exc.strerror or exc}") from exc
        else:
            with atomic_file(target) as handle:
                rows = job.run(source, handle, input_is_file=not reading_stdin and not config.texts)
    finally:
        if source is not None and not reading_stdin:
            source.close()
    return EncodeResult(rows=rows, dim=model.dim, format=fmt, output=str(target or "-"))


@dataclass
class _Job:
    config: EncodeConfig
    settings: ReadSettings
    model: StaticEmbedder
    max_length: int | None
    fmt: OutputFormat
    progress: OnProgress
    source_name: str  # how a read failure names the input

    def chunks(self, source: BinaryIO | None) -> Iterator[Chunk]:
        if source is None:  # texts given directly
            texts = list(self.config.texts)
            size = self.settings.rows
            for start in range(0, len(texts), size):
                cut = self.settings.max_chars
                part = [t[:cut] if cut else t for t in texts[start : start + size]]
                yield Chunk(part, list(range(start, start + len(part))))
            return
        yield from _checked_reads(read_chunks(source, self.settings), self.source_name)

    def count(self, source: BinaryIO | None, input_is_file: bool, rewritable: bool) -> int | None:
        """The number of texts, when it is cheap to know (or the header needs it); the input is left where
        it was."""
        if source is None:
            return len(self.config.texts)
        if not input_is_file or not source.seekable():
            return None
        cheap = self.settings.format in (InputFormat.text, InputFormat.parquet)
        if not cheap and not (self.fmt.needs_count and not rewritable):
            return None
        start = source.tell()
        try:
            return count_rows(source, self.settings)
        except OSError as exc:
            raise InputError(f"cannot read {self.settings.name}: {exc.strerror or exc}") from exc
        finally:
            source.seek(start)

    def run(self, source: BinaryIO | None, out: BinaryIO, *, input_is_file: bool) -> int:
        """Encode everything to ``out``. Nothing is written before the first batch is encoded (an input
        that fails early leaves ``out`` untouched); on a failure later, an output that can seek is cut back
        to where it began, and a regular file opened for appending (``>> vectors.jsonl``) to the length it
        had."""
        rewritable = can_rewrite(out)
        total = self.count(source, input_is_file, rewritable)
        writer = make_writer(self.fmt, out, self.model.dim, self.config.dtype)
        if not rewritable:
            length = _regular_length(out)
            try:
                return self._write(source, out, writer, total, rewritable)
            except BaseException:
                if length is not None:
                    _cut_back(out, length)
                raise
        start = out.tell()
        try:
            return self._write(source, out, writer, total, rewritable)
        except BaseException:
            out.seek(start)
            out.truncate()
            raise

    def _write(
        self, source: BinaryIO | None, out: BinaryIO, writer: VectorWriter, total: int | None, rewritable: bool
    ) -> int:
        if not self.fmt.needs_count:
            return self._stream(source, writer, total, lambda: None)
        if rewritable:
            start = out.tell()
            rows = self._stream(source, writer, total, lambda: out.write(writer.header(total or 0)))
            if rows != total:
                out.seek(start)
                out.write(writer.header(rows))
                out.seek(0, os.SEEK_END)
            return rows
        if total is not None:
            rows = self._stream(source, writer, total, lambda: out.write(writer.header(total)))
            if rows != total:
                raise InputError(
                    f"{self.settings.name} changed while it was read: counted {total:,} texts, then read {rows:,}"
                )
            return rows
        with tempfile.TemporaryFile(prefix="m2v-encode-") as spool:  # a pipe into a pipe
            writer.stream = spool
            rows = self._stream(source, writer, None, lambda: None)
            out.write(writer.header(rows))
            spool.seek(0)
            shutil.copyfileobj(spool, out, 1 << 20)
        return rows

    def _stream(
        self, source: BinaryIO | None, writer: VectorWriter, total: int | None, begin: Callable[[], Any]
    ) -> int:
        """Encode and write every chunk; ``begin()`` runs once, just before the first vectors are written."""
        self.progress(0, total or 0)  # 0: not known
        started = False
        for chunk, vectors in self.model.encode_stream(
            self.chunks(source),
            texts=lambda chunk: chunk.texts,
            normalize=self.config.normalize,
            max_length=self.max_length,
        ):
            if not started:
                begin()
                started = True
            writer.write(vectors, chunk.positions, chunk.ids)
            self.progress(writer.written, total or 0)
        if not started:
            begin()
        writer.finish()
        return writer.written
