"""The ``m2v`` executable: registers each command and turns expected errors into one-line messages.

Exit codes: 0 success; 1 an expected error (shown as one line, no traceback); 2 a usage error.
Set ``M2V_DEBUG=1`` to see the full traceback of an expected error.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from m2vcli.commands.bench import bench
from m2vcli.commands.distill import distill_command
from m2vcli.commands.encode import encode
from m2vcli.commands.evaluate import evaluate_command
from m2vcli.commands.leaderboard import leaderboard
from m2vcli.errors import M2VError

app = typer.Typer(
    name="m2v",
    help=(
        "Turn any Sentence Transformer into a tiny, fast static-embedding model, and use it.\n\n"
        "Examples:\n\n  m2v distill -o my_model\n\n  m2v encode --model my_model < sentences.txt > vectors.npy"
    ),
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
app.command("distill")(distill_command)
app.command("encode")(encode)
app.command("evaluate")(evaluate_command)
app.command("bench")(bench)
app.command("leaderboard")(leaderboard)


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
    """Turn any Sentence Transformer into a tiny, fast static-embedding model, and use it.

    Examples: m2v distill -o my_model; m2v encode --model my_model < sentences.txt > vectors.npy
    """


def _debug() -> bool:
    return os.environ.get("M2V_DEBUG", "").strip() not in {"", "0", "false", "no"}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    try:
        code = app(args=argv, prog_name="m2v", standalone_mode=False)  # a typer.Exit comes back as its code
    except M2VError as exc:
        if _debug():
            raise
        from m2vcli.console import err_console

        err_console().print(f"Error: {exc}", markup=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, without a second error on exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        sys.stderr.write("Aborted.\n")
        return 1
    except Exception as exc:  # click's usage errors surface here in non-standalone mode
        handled = _usage_error_code(exc)
        if handled is None:
            raise
        return handled
    return code if isinstance(code, int) else 0


def _usage_error_code(exc: Exception) -> int | None:
    show = getattr(exc, "show", None)
    exit_code = getattr(exc, "exit_code", None)
    if callable(show) and isinstance(exit_code, int):
        show()
        return exit_code
    return None


if __name__ == "__main__":
    sys.exit(main())
