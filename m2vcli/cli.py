"""The ``m2v`` executable: registers each command and decides every exit code.

Exit codes: 0 success; 1 an expected error (one line, no traceback); 2 a usage error (Typer prints it);
128 + the signal's number when stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP, after the command has
cleaned up (temporary files are removed as on any error). A reader that goes away (``m2v encode | head``)
ends the process quietly, as it ends ``cat``. Set ``M2V_DEBUG=1`` to see the full traceback of an
expected error, with the library error that caused it.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Annotated, Any

import typer

from m2vcli.commands._options import Command, Group
from m2vcli.commands.bench import bench_command
from m2vcli.commands.distill import distill_command
from m2vcli.commands.encode import encode
from m2vcli.commands.evaluate import evaluate_command
from m2vcli.commands.export import export_command
from m2vcli.commands.importing import import_command
from m2vcli.commands.index import index_command
from m2vcli.commands.info import info_command
from m2vcli.commands.leaderboard import leaderboard_command
from m2vcli.commands.predict import predict_command
from m2vcli.commands.push import push_command
from m2vcli.commands.refine import refine_command
from m2vcli.commands.search import search_command
from m2vcli.commands.train import train_command
from m2vcli.console import quiet_libraries
from m2vcli.errors import M2VError, debug_enabled

app = typer.Typer(
    name="m2v",
    help=(
        "Turn any Sentence Transformer into a tiny, fast static-embedding model, and use it.\n\n"
        "Examples:\n\n  m2v distill -o my_model\n\n  m2v encode --model my_model < sentences.txt > vectors.npy"
    ),
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion (bash, zsh, fish, PowerShell)
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    cls=Group,
)
app.command("distill", cls=Command)(distill_command)
app.command("refine", cls=Command)(refine_command)
app.command("encode", cls=Command)(encode)
app.command("evaluate", cls=Command)(evaluate_command)
app.command("bench", cls=Command)(bench_command)
app.command("leaderboard", cls=Command)(leaderboard_command)
app.command("info", cls=Command)(info_command)
app.command("import", cls=Command)(import_command)
app.command("index", cls=Command)(index_command)
app.command("search", cls=Command)(search_command)
app.command("push", cls=Command)(push_command)
app.command("train", cls=Command)(train_command)
app.command("predict", cls=Command)(predict_command)
app.command("export", cls=Command)(export_command)

STOP_SIGNALS = {signal.SIGINT: "Interrupted.", signal.SIGTERM: "Terminated.", signal.SIGHUP: "Hung up."}


class Stopped(BaseException):
    """A stop signal arrived. A ``BaseException`` like ``KeyboardInterrupt``: cleanup code runs, and
    ``except Exception`` handlers (and Typer's own handling of Ctrl-C) let it through to ``main``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _version(value: bool) -> None:
    if value:
        from m2vcli.version import __version__

        typer.echo(f"m2v {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    pass


def _raise_stopped(signum: int, frame: Any) -> None:
    raise Stopped(signum)


@contextmanager
def _process_signals() -> Iterator[None]:
    """Stop signals raise ``Stopped``; a closed output pipe ends the process (SIGPIPE's default action).

    Only the main thread may set handlers; the previous ones are put back on the way out, so calling
    ``main`` from Python leaves the process as it was.
    """
    wanted: dict[int, Any] = {sig: _raise_stopped for sig in STOP_SIGNALS}
    if hasattr(signal, "SIGPIPE"):
        wanted[signal.SIGPIPE] = signal.SIG_DFL
    previous: dict[int, Any] = {}
    try:
        for sig, handler in wanted.items():
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def as_flags(exc: M2VError) -> str:
    """An error's message as a command-line user reads it: a setting it starts with (``pca_dims must
    be ...``, checked once the teacher's size is known) named as the flag (``--pca-dims must be ...``)."""
    message, key = str(exc), getattr(exc, "key", None)
    if key and message.startswith(f"{key} "):
        return "--" + key.replace("_", "-") + message[len(key) :]
    return message


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    quiet_libraries()
    with _process_signals():
        try:
            app(args=argv, prog_name="m2v", standalone_mode=True)
        except SystemExit as exc:  # Typer ends every run with one, carrying the exit code
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except M2VError as exc:
            if debug_enabled():
                raise
            from m2vcli.console import err_console

            err_console().print(f"Error: {as_flags(exc)}", markup=False, soft_wrap=True)
            return 1
        except Stopped as exc:
            if debug_enabled():
                raise
            sys.stderr.write(f"{STOP_SIGNALS[signal.Signals(exc.signum)]}\n")
            return 128 + exc.signum
    return 0


def run() -> None:
    """The ``m2v`` executable: run ``main`` and exit with its code. After a Ray job the process ends
    without the interpreter's teardown: Ray's native threads, still there after ``ray.shutdown`` when a
    job stopped early, can abort the process (SIGABRT) or hang it while Python finalizes, which would
    replace the exit code the command chose. Everything is flushed first."""
    code = main()
    if "ray._raylet" in sys.modules:
        import logging

        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
