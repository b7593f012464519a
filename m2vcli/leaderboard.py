"""``from m2vcli.leaderboard import ...`` keeps working: the leaderboard lives in ``m2vcli.evaluation``."""

from __future__ import annotations

from m2vcli.evaluation.leaderboard import (
    TableFormat,
    find_result_files,
    make_leaderboard,
    parse_mteb_results,
    summarize_results,
)

__all__ = ["TableFormat", "find_result_files", "make_leaderboard", "parse_mteb_results", "summarize_results"]
