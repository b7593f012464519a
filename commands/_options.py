"""What the commands share: option declarations written once, defaults read from the config dataclasses,
and one rule for settings (flags beat the YAML file, which beats the defaults; a missing required value
is a usage error)."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from m2vcli.config import build_config
from m2vcli.distillation import Device, DistillConfig
from m2vcli.errors import MissingValueError
from m2vcli.files import check_not_read
from m2vcli.refinement import RefineConfig
from m2vcli.tables import TableFormat
from m2vcli.texts import InputFormat

from ._help import install as _install_help

_install_help()

T = TypeVar("T")
REQUIRED = "(required)"  # a value every run needs, given as a flag or in --config (so Typer cannot enforce it)


def default(cls: type[Any], name: str) -> str:
    """The default of a config field as help texts show it.

    >>> from m2vcli.distillation import DistillConfig
    >>> default(DistillConfig, "pca_dims"), default(DistillConfig, "pooling"), default(DistillConfig, "vocabulary")
    ('256', 'blend', 'none')
    """
    from rich.markup import escape

    value = {f.name: f for f in dataclasses.fields(cls)}[name].default
    if isinstance(value, Enum):
        value = value.value
    return "none" if value is None else escape(str(value))  # help texts are rich markup: [unused0] must show


SHARED_BY = (DistillConfig, RefineConfig)  # the settings classes of the options below that both commands take


def default_of(name: str) -> str:
    """The default of a setting that ``m2v distill`` and ``m2v refine`` share (the same in both: a test
    holds them equal)."""
    return default(SHARED_BY[0], name)


ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help=f"Model folder or Hugging Face hub id {REQUIRED}.", show_default=False),
]
TableFormatOption = Annotated[
    TableFormat | None,
    typer.Option(
        "--format", "-f", help="Output format: table, markdown, csv or json (default: table).", show_default=False
    ),
]
SavePathOption = Annotated[
    str | None, typer.Option("--save-path", "-o", help=f"Folder to write the model to {REQUIRED}.", show_default=False)
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace a save path that is not a static model.")]
DeviceOption = Annotated[
    Device | None,
    typer.Option(
        help=f"Where the teacher runs: auto, cpu, cuda or mps (default: {default_of('device')}).", show_default=False
    ),
]
CorpusOption = Annotated[
    str | None,
    typer.Option(
        "--corpus",
        help="Texts to refine on: text (one per line), .jsonl, .csv, .tsv or .parquet files, a folder, a glob, "
        "or a hub data set hf:ORG/NAME[:CONFIG:SPLIT].",
        show_default=False,
    ),
]
TextFieldOption = Annotated[
    str | None,
    typer.Option(
        help="Field or column with the text in JSONL, CSV, Parquet or a data set "
        f"(default: {default_of('text_field')}).",
        show_default=False,
    ),
]
MaxTextsOption = Annotated[
    int | None,
    typer.Option(min=1, help="Use at most N texts (a seeded sample).", show_default=False),
]
InputFormatOption = Annotated[
    InputFormat | None,
    typer.Option(
        "--input-format",
        help="Input format (default: from the input's extension; else jsonl with --field, else text).",
        show_default=False,
    ),
]
FieldOption = Annotated[
    str | None,
    typer.Option(
        "--field",
        "--column",
        help="The text's JSON field or CSV/TSV/Parquet column (default: text).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML file with any of this command's options (a flag given here beats the file).",
        show_default=False,
        dir_okay=False,
    ),
]


# Typer's own Click's error classes (Typer exports BadParameter, not its bases)
UsageError: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
ClickException: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _current_context() -> Any:
    """The command's Click context while it runs (for the usage line of an error), else None."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # another Typer layout: the error goes without its usage line
        return None
    return get_current_context(silent=True)


def missing_option(option: str, message: str) -> Exception:
    """The usage error (exit code 2) for a required option left out: ``Missing option -o / --output: ...``."""
    return UsageError(f"Missing option {option}: {message}", _current_context())


# The settings that name a file or folder a command writes or replaces: none may be (or hold) its --config.
OUTPUT_FIELDS = ("output", "save_path", "plot")


def settings(cls: type[T], config_file: Path | None, flags: dict[str, Any]) -> T:
    """The command's config: defaults < ``config_file`` < ``flags`` (None: not given). No output it names
    may be the config file itself (or hold it)."""
    try:
        cfg = build_config(cls, config_file, flags)
    except MissingValueError as exc:
        raise UsageError(str(exc), _current_context()) from exc  # "no model given: pass --model ..."
    if config_file is not None:
        for name in OUTPUT_FIELDS:
            value = getattr(cfg, name, None)
            if isinstance(value, str) and value and value != "-":
                check_not_read(value, [config_file], f"--{name.replace('_', '-')}")
    return cfg


PLACEHOLDERS = {"int": "N", "int range": "N", "float": "X", "float range": "X", "file": "FILE", "path": "PATH"}
NAMED_PLACEHOLDERS = {  # free-text options whose value has a shape of its own
    **dict.fromkeys(("field", "text_field", "label_field", "id_field"), "FIELD"),
    **dict.fromkeys(("model", "model_option", "teacher"), "MODEL"),
    **dict.fromkeys(("suite", "name", "output_format", "export_format"), "NAME"),
    **dict.fromkeys(("pearl_data", "results", "queries_file"), "PATH"),
    "pca_dims": "DIMS",
    "token_remove_pattern": "REGEX",
    "vocabulary": "WORDS",
    "tasks": "TASKS",
    "address": "ADDRESS",
    "revision": "REVISION",
    "token": "TOKEN",
}
PATH_NAMES = {"save_path", "output", "output_dir", "corpus", "data", "validation", "plot", "cache_dir", "task_file"}


def _without_flag_placeholders(params: list[Any], ctx: Any = None) -> list[Any]:
    """Help rows that read as words at 80 columns. On/off flags (``--force``, ``--help``) take no value, so
    they show no placeholder (Typer would show ``<bool>``). A number is ``N`` or ``X`` (its range is in
    the error a wrong value gets, not in the row), a path ``PATH`` or ``FILE``, a model ``MODEL``, other
    text ``TEXT``, a choice ``NAME`` (its choices end the help text), so the text column stays wide."""
    for param in params:
        if getattr(param, "_m2v_readable", False):
            continue
        param._m2v_readable = True
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        if getattr(param, "param_type_name", "") == "argument":
            param.display_type_rich = lambda ctx: None  # its name says what it is; no type column
            if param.metavar is None and param.name:
                param.metavar = param.name.upper()  # MODEL, RESULTS: placeholders in one case everywhere
            continue
        if param.metavar is not None or getattr(param, "param_type_name", "") != "option" or ctx is None:
            continue
        kind = (param.display_type(ctx) or "").strip("<>")
        param._get_number_range_help_str = lambda: None
        if "|" in kind:
            param.metavar = "NAME"
            choices = kind.split("|")
            if not all(re.search(rf"\b{re.escape(choice)}\b", param.help or "") for choice in choices):
                param.help = f"{param.help} One of: {', '.join(choices)}."
        elif kind in PLACEHOLDERS:
            param.metavar = PLACEHOLDERS[kind]
        elif param.name in NAMED_PLACEHOLDERS:
            param.metavar = NAMED_PLACEHOLDERS[param.name]
        elif param.name in PATH_NAMES:
            param.metavar = "PATH"
        else:
            param.metavar = "TEXT"
    return params


def _readable_help(help_text: str | None) -> str | None:
    """A command's help as it should read at any width: each paragraph of the description reflowed (Rich
    keeps the source's line breaks, which then break lines mid-sentence), and the examples, one per line,
    at the left margin (Typer dedents what follows the first paragraph, so they came out flush left in
    some commands and indented in others)."""
    if not help_text:
        return help_text
    head, marker, examples = help_text.partition("Examples:")
    paragraphs = inspect.cleandoc(head).split("\n\n")
    head = "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)
    if not marker:
        return head
    lines = [line.strip() for line in examples.splitlines() if line.strip()]
    return head.rstrip() + "\n\n" + marker + "\n" + "\n".join(lines)


class Command(TyperCommand):
    """An ``m2v`` command (see ``_without_flag_placeholders``); its examples start at the left margin."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = _readable_help(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_placeholders(super().get_params(ctx), ctx)


class Group(TyperGroup):
    """The ``m2v`` command group (see ``_without_flag_placeholders``). A usage error is reported in two
    plain lines (see ``show_usage_error``), on a terminal or off it, not in a box."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = _readable_help(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_placeholders(super().get_params(ctx))

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        import sys

        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare ``m2v``: the help is on stdout already
                sys.exit(2)
            show_usage_error(exc)
            sys.exit(getattr(exc, "exit_code", 2))
        except typer.Abort:
            sys.stderr.write("Aborted.\n")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)  # an Exit's code; a command returns None


def show_usage_error(exc: Any) -> None:
    """``Error: <what is wrong>`` and then the usage line with where the help is, on stderr.

    Click's "Invalid value for '--format' / '-f': Value error, 'csv' is not one of ..." loses the
    validator's "Value error, " and the quotes around the option names.
    """
    from m2vcli.console import err_console

    message = exc.format_message().replace(": Value error, ", ": ")
    if getattr(exc, "option_name", None) == "--device":  # not "(Possible options: --engine)"
        message = "No such option: --device: a static model runs on the CPU; no device is needed"
    message = re.sub(r"'(-[-\w]+)'", r"\1", message)
    console = err_console()
    console.print(f"Error: {message}", markup=False, soft_wrap=True)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        help_flag = ctx.help_option_names[0] if ctx.help_option_names else "--help"
        console.print(f"{ctx.get_usage()}  (see {ctx.command_path} {help_flag})", markup=False, soft_wrap=True)
