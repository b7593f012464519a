"""Options shared by several commands, written once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model folder or Hugging Face hub id.", show_default=False),
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
