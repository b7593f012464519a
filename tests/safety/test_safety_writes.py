"""Writes never destroy what is not ours, every stop is clean, every environment failure is one line.

Covers every write path (encode's -o and standard output, evaluate's result files, bench --json,
leaderboard --plot, model folders): outputs that are FIFOs, devices, sockets, directories or symlinks; an
output that is an input; long names; replacing a model folder; stop signals; a full disk, a path under a
file, a missing folder, a closed standard input or output; names from data that try to leave their folder.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from m2vcli import StaticEmbedder
from m2vcli.benchmark.runner import run_bench
from m2vcli.benchmark.settings import BenchConfig
from m2vcli.cli import main
from m2vcli.encoding import EncodeConfig, encode_lines
from m2vcli.errors import InputError, OutputError
from m2vcli.evaluation.runner import result_path, run_tasks
from m2vcli.files import atomic_file, atomic_folder, check_output_file
from m2vcli.model.persistence import check_model_target, write_folder_atomically
from m2vcli.swap import exchange_paths
from tests.helpers import tiny_model

LONG = "x" * 250  # a legal name (255 bytes at most)
TOO_LONG = "x" * 300


def hidden(folder: Path) -> list[str]:
    """Temporary leftovers: every hidden entry of ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def one_line(err: str) -> str:
    assert err.startswith("Error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def lines_file(tmp_path: Path) -> Path:
    path = tmp_path / "in.txt"
    path.write_text("hello world\nthe cat sat\n", encoding="utf-8")
    return path


@pytest.fixture
def no_model_load(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``encode_lines`` loads through this list: a refusal "before any work" leaves it empty."""
    loaded: list[str] = []

    def load(name: str) -> StaticEmbedder:
        loaded.append(name)
        return tiny_model()

    assert encode_lines.__kwdefaults__ is not None
    monkeypatch.setitem(encode_lines.__kwdefaults__, "load_model", load)
    return loaded


class FifoReader:
    """Drains a FIFO in a thread; opened non-blocking first, so a writer never waits for a reader and nothing
    can hang past ``timeout``."""

    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.data = bytearray()
        self.writer_done = threading.Event()
        self.deadline = time.monotonic() + timeout
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while time.monotonic() < self.deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            chunk = os.read(self.fd, 65536) if ready else b""
            self.data += chunk
            if not chunk and self.writer_done.is_set():
                break

    def finish(self) -> bytes:
        self.writer_done.set()
        self.thread.join(timeout=5)
        os.close(self.fd)
        assert not self.thread.is_alive()
        return bytes(self.data)


@pytest.fixture
def deadline() -> Iterator[None]:
    """A FIFO test that blocks fails within 10 s instead of hanging: SIGALRM interrupts the blocked call
    with a TimeoutError."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError("the FIFO test blocked for 10 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(10)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ----- 1. outputs that exist and are not regular files ------------------------------------------------


def test_a_fifo_output_is_streamed_to_a_reader_and_stays_a_fifo(
    tmp_path: Path, no_model_load: list[str], deadline: None
) -> None:
    fifo = tmp_path / "vectors.fifo"
    os.mkfifo(fifo)
    texts = tmp_path / "many.txt"
    texts.write_text("the cat sat on the mat\n" * 4000, encoding="utf-8")  # 128 KB of vectors: more than a pipe holds
    reader = FifoReader(fifo)
    assert main(["encode", "-m", "tiny", str(texts), "-o", str(fifo), "--format", "npy"]) == 0
    data = reader.finish()
    assert np.load(io.BytesIO(data)).shape == (4000, 8)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert hidden(tmp_path) == []


def test_atomic_file_writes_through_a_symlink_to_a_fifo(tmp_path: Path, deadline: None) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "link").symlink_to("pipe")
    reader = FifoReader(fifo)
    with atomic_file(tmp_path / "link") as handle:
        handle.write(b"through the link")
    assert reader.finish() == b"through the link"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and (tmp_path / "link").is_symlink()


def test_dev_null_stays_a_character_device(lines_file: Path, no_model_load: list[str]) -> None:
    before = os.lstat("/dev/null")
    if not stat.S_ISCHR(before.st_mode):
        pytest.skip("this machine's /dev/null is not a character device")
    assert check_output_file("/dev/null") == Path("/dev/null")
    with atomic_file(Path("/dev/null")) as handle:
        handle.write(b"gone")
    encode_lines(EncodeConfig(model="tiny", input=str(lines_file), output="/dev/null"))
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_a_character_device_of_our_own_is_written_not_replaced(tmp_path: Path) -> None:
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # another /dev/null
    except (PermissionError, OSError):
        pytest.skip("cannot make a device node here (needs root outside a restricted container)")
    before = os.lstat(device)
    with atomic_file(device) as handle:
        handle.write(b"discarded")
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    assert hidden(tmp_path) == []


def test_sockets_block_devices_and_directories_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a socket's path must be short
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("sock")
        for call in (lambda: check_output_file("sock"), lambda: atomic_file(Path("sock")).__enter__()):
            with pytest.raises(OutputError, match=r"^output sock is a socket, not a file; give a file name$"):
                call()
        assert stat.S_ISSOCK(os.lstat("sock").st_mode)
    (tmp_path / "folder").mkdir()
    for call in (lambda: check_output_file("folder"), lambda: atomic_file(Path("folder")).__enter__()):
        with pytest.raises(OutputError, match=r"^output folder is a directory; give a file name$"):
            call()
    try:
        os.mknod("block", stat.S_IFBLK | 0o600, os.makedev(240, 77))  # a device number nothing uses
    except (PermissionError, OSError):
        return  # not root: no block device to test with
    with pytest.raises(OutputError, match="is a block device, not a file"):
        check_output_file("block")
    with pytest.raises(OutputError, match="is a block device, not a file"), atomic_file(Path("block")):
        pass
    assert stat.S_ISBLK(os.lstat("block").st_mode)
    assert hidden(tmp_path) == []


def test_a_symlink_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "out.bin").write_bytes(b"old")
    here = tmp_path / "here"
    here.mkdir()
    (here / "link1").symlink_to("../elsewhere/out.bin")
    (here / "link2").symlink_to("link1")  # a chain
    seen: list[list[str]] = []
    with atomic_file(here / "link2") as handle:
        handle.write(b"new")
        seen.append(hidden(elsewhere))
    assert len(seen[0]) == 1 and seen[0][0].startswith(".out.bin.")  # built beside the link's final target
    assert (elsewhere / "out.bin").read_bytes() == b"new"
    assert (here / "link1").is_symlink() and (here / "link2").is_symlink()
    assert os.readlink(here / "link2") == "link1"
    assert hidden(elsewhere) == [] and hidden(here) == []


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("target.json")
    check_output_file(tmp_path / "link")
    with atomic_file(tmp_path / "link") as handle:
        handle.write(b"{}")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "target.json").read_bytes() == b"{}"
    (tmp_path / "broken").symlink_to("missing/target.json")
    with pytest.raises(OutputError, match=r"^cannot write .*broken: folder .*missing does not exist$"):
        check_output_file(tmp_path / "broken")


def test_a_symlink_loop_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OutputError, match="Too many levels of symbolic links") as caught:
        check_output_file(tmp_path / "a")
    assert isinstance(caught.value.__cause__, OSError)


# ----- 2. an output that is an input ------------------------------------------------------------------


def test_output_that_is_the_input_is_refused_before_any_work(
    lines_file: Path, no_model_load: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = lines_file.read_bytes()
    (lines_file.parent / "hard.txt").hardlink_to(lines_file)
    (lines_file.parent / "sym.txt").symlink_to("in.txt")
    (lines_file.parent / "chain.txt").symlink_to("sym.txt")
    for source, output in [
        ("in.txt", "in.txt"),
        ("in.txt", "sym.txt"),
        ("hard.txt", "in.txt"),
        ("sym.txt", "hard.txt"),
        ("in.txt", "chain.txt"),
    ]:
        src, out = lines_file.parent / source, lines_file.parent / output
        assert main(["encode", "-m", "tiny", str(src), "-o", str(out)]) == 1
        err = one_line(capsys.readouterr().err)
        assert err == f"Error: output path {out} is the same file as input {src}; choose another output\n"
    assert no_model_load == []
    assert lines_file.read_bytes() == before and (lines_file.parent / "sym.txt").is_symlink()


def test_output_that_is_standard_input_is_refused(lines_file: Path, no_model_load: list[str]) -> None:
    with open(lines_file, "rb") as stdin, pytest.raises(OutputError, match="is the same file as standard input"):
        encode_lines(EncodeConfig(model="tiny", output=str(lines_file)), stdin=stdin)  # m2v encode -o in.txt < in.txt
    assert no_model_load == []
    with open(lines_file, "rb") as stdin:
        other = lines_file.parent / "out.npy"
        encode_lines(EncodeConfig(model="tiny", output=str(other)), stdin=stdin)
    assert np.load(other).shape == (2, 8)


def test_a_device_that_is_input_and_output_is_fine(tmp_path: Path) -> None:
    if not stat.S_ISCHR(os.lstat("/dev/null").st_mode):
        pytest.skip("this machine's /dev/null is not a character device")
    assert check_output_file("/dev/null", inputs=["/dev/null"]) == Path("/dev/null")


def test_bench_json_that_is_the_corpus_is_refused(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a sentence\n")
    with pytest.raises(
        OutputError, match=r"^--output .* is the same file as input .*corpus.txt; choose another output$"
    ):
        run_bench(BenchConfig(output=str(corpus), corpus=str(corpus)), [], ["a sentence"])
    assert corpus.read_text() == "a sentence\n"


# ----- 3. long names ----------------------------------------------------------------------------------


def test_a_legal_long_name_is_written_and_leaves_nothing(
    tmp_path: Path, lines_file: Path, no_model_load: list[str]
) -> None:
    out = tmp_path / f"{LONG}.npy"
    encode_lines(EncodeConfig(model="tiny", input=str(lines_file), output=str(out)))
    encode_lines(EncodeConfig(model="tiny", input=str(lines_file), output=str(out)))  # and replaced
    assert np.load(out).shape == (2, 8) and hidden(tmp_path) == []
    folder = tmp_path / LONG
    tiny_model().save_pretrained(folder)
    tiny_model(dim=4).save_pretrained(folder)  # the old folder's temporary name is short too
    assert StaticEmbedder.from_pretrained(folder).dim == 4 and hidden(tmp_path) == []


def test_a_name_longer_than_the_file_system_allows_is_one_line(
    tmp_path: Path, lines_file: Path, no_model_load: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"{TOO_LONG}.npy"
    assert main(["encode", "-m", "tiny", str(lines_file), "-o", str(out)]) == 1
    assert one_line(capsys.readouterr().err).endswith(": File name too long\n")
    assert no_model_load == []
    with pytest.raises(OutputError, match="File name too long"), atomic_file(out):
        pass
    with pytest.raises(OutputError, match="File name too long"):
        check_model_target(tmp_path / TOO_LONG, force=False)  # before distilling, not after
    with pytest.raises(OutputError, match="File name too long"):
        tiny_model().save_pretrained(tmp_path / TOO_LONG)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


# ----- 4. replacing a model folder --------------------------------------------------------------------


def test_files_that_are_not_part_of_a_model_are_kept(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "notes.txt").write_text("my notes")
    (tiny_model_dir / "onnx").mkdir()
    (tiny_model_dir / "onnx" / "model.onnx").write_bytes(b"onnx")
    (tiny_model_dir / "latest").symlink_to("notes.txt")
    tiny_model(dim=4).save_pretrained(tiny_model_dir)
    assert StaticEmbedder.from_pretrained(tiny_model_dir).dim == 4
    assert (tiny_model_dir / "notes.txt").read_text() == "my notes"
    assert (tiny_model_dir / "onnx" / "model.onnx").read_bytes() == b"onnx"
    assert os.readlink(tiny_model_dir / "latest") == "notes.txt"
    assert [p.name for p in tiny_model_dir.parent.iterdir()] == [tiny_model_dir.name]


def test_the_old_model_folder_is_intact_until_the_swap(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "notes.txt").write_text("my notes")
    before = {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()}

    def fill(folder: Path) -> None:
        (folder / "config.json").write_text("{}")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_folder_atomically(tiny_model_dir, fill)
    assert {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()} == before
    assert [p.name for p in tiny_model_dir.parent.iterdir()] == [tiny_model_dir.name]


def test_the_folders_are_exchanged_in_one_step(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import m2vcli.files

    results: list[bool] = []

    def spy(first: Path, second: Path) -> bool:
        results.append(exchange_paths(first, second))
        return results[-1]

    monkeypatch.setattr(m2vcli.files, "exchange_paths", spy)
    old_inode = tiny_model_dir.stat().st_ino
    new_inode: list[int] = []

    def fill(folder: Path) -> None:
        new_inode.append(folder.stat().st_ino)
        (folder / "model.txt").write_text("new")

    probe = tiny_model_dir.parent / "probe"
    (probe / "a").mkdir(parents=True)
    (probe / "b").mkdir()
    if not exchange_paths(probe / "a", probe / "b"):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here; the two-rename fallback is tested below")
    shutil.rmtree(probe)
    write_folder_atomically(tiny_model_dir, fill, force=True)
    assert results == [True]
    assert tiny_model_dir.stat().st_ino == new_inode[0] != old_inode
    assert (tiny_model_dir / "model.txt").read_text() == "new"
    assert [p.name for p in tiny_model_dir.parent.iterdir()] == [tiny_model_dir.name]


def test_exchange_paths_swaps_two_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "from_a").touch()
    (tmp_path / "b").mkdir()
    if not exchange_paths(tmp_path / "a", tmp_path / "b"):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["from_a"]
    assert list((tmp_path / "a").iterdir()) == []
    with pytest.raises(FileNotFoundError):
        exchange_paths(tmp_path / "a", tmp_path / "missing")


def test_without_an_exchange_the_two_renames_still_work(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("m2vcli.files.exchange_paths", lambda first, second: False)
    (tiny_model_dir / "notes.txt").write_text("kept")
    tiny_model(dim=4).save_pretrained(tiny_model_dir)
    assert StaticEmbedder.from_pretrained(tiny_model_dir).dim == 4
    assert (tiny_model_dir / "notes.txt").read_text() == "kept"
    assert [p.name for p in tiny_model_dir.parent.iterdir()] == [tiny_model_dir.name]


def _fail_exchange(first: Path, second: Path) -> bool:
    raise OSError(errno.EIO, "Input/output error")


def _fail_second_rename(monkeypatch: pytest.MonkeyPatch) -> None:
    """No exchange, and the rename of the new folder into place fails (after the old one moved aside)."""
    real_rename = Path.rename
    monkeypatch.setattr("m2vcli.files.exchange_paths", lambda first, second: False)

    def rename(self: Path, target: Any) -> Path:
        if self.name.endswith(".partial"):
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)


@pytest.mark.parametrize("failure", ["exchange", "second rename"])
def test_a_failure_after_fill_leaves_the_old_folder(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    before = {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()}
    if failure == "exchange":
        monkeypatch.setattr("m2vcli.files.exchange_paths", _fail_exchange)
    else:
        _fail_second_rename(monkeypatch)
    with pytest.raises(
        OutputError, match=f"^cannot write {re.escape(str(tiny_model_dir))}: Input/output error$"
    ) as caught:
        tiny_model(dim=4).save_pretrained(tiny_model_dir)
    assert isinstance(caught.value.__cause__, OSError)
    assert {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()} == before
    assert [p.name for p in tiny_model_dir.parent.iterdir()] == [tiny_model_dir.name]


def test_a_symlinked_model_folder_is_replaced_where_it_points(tiny_model_dir: Path) -> None:
    link = tiny_model_dir.parent / "current"
    link.symlink_to(tiny_model_dir.name)
    tiny_model(dim=4).save_pretrained(link)
    assert link.is_symlink() and StaticEmbedder.from_pretrained(tiny_model_dir).dim == 4
    assert hidden(tiny_model_dir.parent) == []


def test_a_model_target_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="Not a directory"):
        check_model_target(tmp_path / "afile" / "model", force=False)
    with pytest.raises(OutputError, match=r"afile is not a folder$"):
        atomic_folder(tmp_path / "afile" / "model", lambda folder: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


# ----- 5. stop signals --------------------------------------------------------------------------------


@pytest.fixture
def own_handlers() -> Iterator[None]:
    """Handlers of our own on the stop signals: a signal that escaped m2v's would fail the test."""

    def ours(signum: int, frame: Any) -> None:
        raise AssertionError(f"signal {signum} reached the caller's handler, not m2v's")

    watched = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE]
    originals = {sig: signal.getsignal(sig) for sig in watched}
    for sig in watched[:3]:
        signal.signal(sig, ours)
    try:
        yield
    finally:
        for sig, handler in originals.items():
            signal.signal(sig, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_inside_a_model_fill_leaves_the_old_folder_and_nothing_hidden(
    signum: int,
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    own_handlers: None,
) -> None:
    import m2vcli.model.persistence as persistence

    (tiny_model_dir / "notes.txt").write_text("kept")
    before = {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()}
    real_write = persistence.write_model_files
    partial_while_running: list[str] = []

    def stopped_inside_fill(folder: Path, **kwargs: Any) -> None:
        real_write(folder, **kwargs)
        partial_while_running.extend(hidden(tiny_model_dir.parent))
        os.kill(os.getpid(), signum)
        time.sleep(2)
        raise AssertionError("the signal did not stop the save")

    def distill(cfg: Any, **kwargs: Any) -> None:
        tiny_model(dim=4).save_pretrained(cfg.save_path, force=cfg.force)
        raise AssertionError("the save did not stop")

    monkeypatch.setattr(persistence, "write_model_files", stopped_inside_fill)
    monkeypatch.setattr("m2vcli.commands.distill.distill_and_refine", distill)
    assert main(["distill", "-o", str(tiny_model_dir)]) == 128 + signum
    assert capsys.readouterr().err.endswith(("Terminated.\n", "Interrupted.\n"))
    assert len(partial_while_running) == 1 and partial_while_running[0].endswith(".partial")
    assert {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()} == before
    assert [p.name for p in tiny_model_dir.parent.iterdir()] == [tiny_model_dir.name]


# ----- 6. environment failures are one line -----------------------------------------------------------


class FullDisk(io.RawIOBase):
    """A file whose first write of more than a few bytes fails as a full disk does."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if len(data) > 16:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(self.inner.write(data))

    def close(self) -> None:
        self.inner.close()
        super().close()


def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    real_fdopen = os.fdopen

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        return FullDisk(real_fdopen(fd, *args, **kwargs))

    monkeypatch.setattr(os, "fdopen", fdopen)


def test_a_full_disk_keeps_the_previous_output(
    tmp_path: Path,
    lines_file: Path,
    no_model_load: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "vectors.npy"
    out.write_bytes(b"previous")
    full_disk(monkeypatch)
    assert main(["encode", "-m", "tiny", str(lines_file), "-o", str(out)]) == 1
    assert one_line(capsys.readouterr().err) == f"Error: cannot write {out}: No space left on device\n"
    assert out.read_bytes() == b"previous" and hidden(tmp_path) == []
    with pytest.raises(OutputError, match="No space left on device") as caught, atomic_file(out) as handle:
        handle.write(b"x" * 100)
    assert isinstance(caught.value.__cause__, OSError) and caught.value.__cause__.errno == errno.ENOSPC
    assert out.read_bytes() == b"previous" and hidden(tmp_path) == []


def test_a_full_disk_while_filling_a_model_folder(tiny_model_dir: Path) -> None:
    before = {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()}

    def fill(folder: Path) -> None:
        (folder / "model.safetensors").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match=f"^cannot write {re.escape(str(tiny_model_dir))}: No space left on device$"):
        write_folder_atomically(tiny_model_dir, fill)
    assert {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()} == before
    assert [p.name for p in tiny_model_dir.parent.iterdir()] == [tiny_model_dir.name]


def test_a_path_under_a_file_is_one_line(tmp_path: Path, lines_file: Path, no_model_load: list[str]) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    out = blocker / "out.npy"
    with pytest.raises(
        OutputError, match=f"^cannot write output path {re.escape(str(out))}: Not a directory$"
    ) as caught:
        encode_lines(EncodeConfig(model="tiny", input=str(lines_file), output=str(out)))
    assert isinstance(caught.value.__cause__, NotADirectoryError) and no_model_load == []
    with pytest.raises(OutputError, match="Not a directory"), atomic_file(out):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "in.txt"]


def test_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "out.json"
    message = f"^{re.escape(f'cannot write {out}: folder {out.parent} does not exist')}$"
    with pytest.raises(OutputError, match=message):
        check_output_file(out)
    with pytest.raises(OutputError, match=message) as caught, atomic_file(out):
        pass
    assert isinstance(caught.value.__cause__, FileNotFoundError)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_written(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes to any folder; the path-under-a-file tests cover the root case")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            check_output_file(locked / "out.npy")
        with pytest.raises(OutputError, match="Permission denied"), atomic_file(locked / "out.npy"):
            pass
        with pytest.raises(OutputError, match="Permission denied"):
            tiny_model().save_pretrained(locked / "model")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


class BadDescriptor(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, data: Any) -> int:
        raise OSError(errno.EBADF, "Bad file descriptor")


def test_a_closed_standard_output_is_one_line(
    lines_file: Path, no_model_load: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(BadDescriptor())))
    assert main(["encode", "-m", "tiny", str(lines_file)]) == 1
    assert one_line(capsys.readouterr().err) == "Error: cannot write standard output: Bad file descriptor\n"
    monkeypatch.setattr(sys, "stdout", None)  # what Python sets when fd 1 was closed at start (m2v encode >&-)
    with pytest.raises(OutputError, match=r"^cannot write standard output: it is closed; pass -o FILE$"):
        encode_lines(EncodeConfig(model="tiny", input=str(lines_file)))
    assert no_model_load == ["tiny"]  # the second refusal came before any work


def test_a_closed_standard_input_is_one_line(
    no_model_load: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", None)  # what Python sets for m2v encode <&-
    assert main(["encode", "-m", "tiny"]) == 1
    assert one_line(capsys.readouterr().err) == "Error: cannot read standard input: it is closed; give an input file\n"

    class Unreadable(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            raise OSError(errno.EISDIR, "Is a directory")

    with pytest.raises(InputError, match=r"^cannot read standard input: Is a directory$"):
        encode_lines(EncodeConfig(model="tiny"), stdin=io.BufferedReader(Unreadable()), stdout=io.BytesIO())


@pytest.mark.subprocess
def test_a_real_process_with_standard_input_closed(tiny_model_dir: Path) -> None:
    proc = subprocess.run(
        ["bash", "-c", 'exec <&-; exec "$0" -m m2vcli encode -m "$1"', sys.executable, str(tiny_model_dir)],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.decode() == "Error: cannot read standard input: it is closed; give an input file\n"


def test_an_evaluate_output_under_a_file_is_one_line(tmp_path: Path, fake_mteb: Callable[..., Any]) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match=r"^cannot write .*: cannot make folder .*afile.*: Not a directory$"):
        run_tasks(tiny_model(), [fake_mteb("T")], name="tiny", output_dir=tmp_path / "afile" / "results")


# ----- 7. names from data stay inside their folder ----------------------------------------------------

BAD_NAMES = ["../../x", "a/b", "..", ".", "", "/etc/passwd", "a\x00b", "..\\..\\x", "x/../../y", "\n"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_result_path_is_one_component_inside_the_output_folder(tmp_path: Path, name: str) -> None:
    root = tmp_path / "results"
    for model, task in [("tiny", name), (name, "Task")]:
        path = result_path(root, model, task)
        assert path.parent.parent == root and path.suffix == ".json"
        assert "\x00" not in str(path) and path.parent.name not in ("", ".", "..")
        assert os.path.commonpath([root, os.path.abspath(path)]) == str(root)
    assert result_path(root, "org/model", "T") == root / "org__model" / "T.json"  # as before


@pytest.fixture
def fake_mteb(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """MTEB's adapter stood in for (importing mteb takes seconds): each task scores 0.5."""
    adapter = types.ModuleType("m2vcli.evaluation.mteb_adapter")

    class Result:
        def get_score(self) -> float:
            return 0.5

        def to_dict(self) -> dict[str, Any]:
            return {"scores": {}}

    adapter.evaluate_task = lambda encoder, task: Result()  # type: ignore[attr-defined]
    adapter.static_encoder = lambda *args, **kwargs: object()  # type: ignore[attr-defined]
    adapter.SentenceTransformerEncoderWrapper = object  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "m2vcli.evaluation.mteb_adapter", adapter)

    def task(name: str) -> Any:
        metadata = types.SimpleNamespace(name=name, type="STS")
        return types.SimpleNamespace(metadata=metadata, m2v_category="STS", load_data=lambda: None)

    return task


def test_evaluate_never_writes_outside_its_folder(tmp_path: Path, fake_mteb: Callable[..., Any]) -> None:
    root = tmp_path / "deep" / "results"
    tasks = [fake_mteb(name) for name in BAD_NAMES if name != ""]
    report = run_tasks(tiny_model(), tasks, name="..", output_dir=root)
    assert [o.status.value for o in report.outcomes] == ["done"] * len(tasks)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) == len(tasks) and all(w.startswith("deep/results/_../") for w in written)
    assert [p.name for p in (tmp_path / "deep").iterdir()] == ["results"]


def test_plot_over_a_result_file_is_refused(tmp_path: Path) -> None:
    from tests.helpers import run_m2v

    result = tmp_path / "r" / "m" / "T.json"
    result.parent.mkdir(parents=True)
    content = json.dumps({"m2v": {"model": "m", "category": "Class", "main_score": 0.5}}).encode()
    result.write_bytes(content)
    ran = run_m2v("leaderboard", str(tmp_path / "r"), "--plot", str(result))
    assert ran.returncode == 1 and "is the same file as" in ran.stderr.decode()
    assert result.read_bytes() == content


def test_a_model_folder_we_could_not_remove_is_not_replaced(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli.errors import OutputError
    from m2vcli.model.persistence import check_model_target

    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: False if Path(path) == tiny_model_dir else real_access(path, mode)
    )
    with pytest.raises(OutputError, match=r"cannot replace .*: permission denied"):
        check_model_target(tiny_model_dir, force=False)
