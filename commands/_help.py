"""Option panels that fit 80 columns: Typer draws five columns (long name, short name, negative flag,
placeholder, text), which leaves the text about 31 characters at 80 columns; here an option's names and
placeholder share one cell (``-o, --save-path PATH``), so the text gets about 46.

``install`` replaces Typer's panel drawing (a private function of ``typer.rich_utils``, looked up by name:
a Typer without it keeps its own layout).
"""

from __future__ import annotations

from typing import Any

LABEL_WIDTH = 24  # the widest label column: about 50 of 80 columns left for the text


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
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        if not params:
            return
        labels = [option_label(param, ctx) for param in params]
        width = min(max(len(label) for label in labels), LABEL_WIDTH)

        def rows() -> Table:
            table = Table(show_header=False, box=None, expand=True, pad_edge=False, padding=(0, 1))
            table.add_column(no_wrap=True, style="bold cyan", width=width)
            table.add_column(ratio=1)
            return table

        parts: list[Any] = [rows()]
        for param, label in zip(params, labels, strict=True):
            help_text = rich_utils._get_parameter_help(param=param, ctx=ctx, markup_mode=markup_mode)
            if len(label) > width:  # a long name gets a line of its own rather than narrowing every text
                parts += [Text(label, style="bold cyan", no_wrap=True), rows()]
                parts[-1].add_row("", help_text)
                parts.append(rows())
            else:
                parts[-1].add_row(Text(label), help_text)
        parts = [part for part in parts if not isinstance(part, Table) or part.row_count]
        console.print(Panel(Group(*parts), border_style="dim", title=name, title_align="left"))

    rich_utils._print_options_panel = print_options_panel
