"""Option panels that fit 80 columns: Typer draws five columns (long name, short name, negative flag,
placeholder, text), which leaves the text about 31 characters at 80 columns; here an option's names and
placeholder share one cell (``-o, --save-path PATH``), so the text gets about 46.

``install`` replaces Typer's panel drawing (a private function of ``typer.rich_utils``, looked up by name:
a Typer without it keeps its own layout).
"""

from __future__ import annotations

from typing import Any


def option_label(param: Any, ctx: Any) -> str:
    """``-o, --save-path PATH``, ``    --normalize / --no-normalize``, or an argument's name."""
    if getattr(param, "param_type_name", "") == "argument":
        name = str(param.metavar or param.name or "").upper()
        return name + ("..." if param.nargs != 1 else "")
    shorts = [o for o in param.opts if not o.startswith("--")]
    longs = [o for o in param.opts if o.startswith("--")]
    negatives = [o for o in param.secondary_opts if o.startswith("--")]
    names = ", ".join([*shorts, *longs])
    label = names if shorts else "    " + names
    if negatives:
        label += " / " + ", ".join(negatives)
    metavar = param.metavar if param.metavar is not None else (param.make_metavar(ctx) or "")
    return f"{label} {metavar}".rstrip() if metavar and not getattr(param, "is_flag", False) else label


def install() -> None:
    from typer import rich_utils

    if not hasattr(rich_utils, "_print_options_panel") or not hasattr(rich_utils, "_get_parameter_help"):
        return

    def print_options_panel(*, name: str, params: list[Any], ctx: Any, markup_mode: Any, console: Any) -> None:
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        if not params:
            return
        table = Table(show_header=False, box=None, expand=True, pad_edge=False, padding=(0, 1))
        table.add_column(no_wrap=True, style="bold cyan")
        table.add_column(ratio=1)
        for param in params:
            help_text = rich_utils._get_parameter_help(param=param, ctx=ctx, markup_mode=markup_mode)
            table.add_row(Text(option_label(param, ctx)), help_text)
        console.print(Panel(table, border_style="dim", title=name, title_align="left"))

    rich_utils._print_options_panel = print_options_panel
