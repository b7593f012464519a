"""The Typer commands of ``m2v``: one module per command, each a thin layer over ``m2vcli``."""
