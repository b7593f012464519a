"""``m2v bench``: an honest speed report, static models against their teacher.

- ``runner``: the timings, and the report;
- ``targets``: which models to time (the given ones, their teacher, the default pair);
- ``worker``: a fresh process per model for cold start and peak memory.
"""

from __future__ import annotations

from m2vcli.benchmark.runner import BenchConfig, BenchReport, ModelReport, run_bench

__all__ = ["BenchConfig", "BenchReport", "ModelReport", "run_bench"]
