"""``m2v bench``: an honest speed report, static models against their teacher.

- ``runner``: the timings, and the report;
- ``targets``: which models to time (the given ones, their teacher, the default pair);
- ``worker``: a fresh process per model for cold start and peak memory.
"""

from __future__ import annotations

from m2vcli.benchmark.runner import BenchReport, ModelReport, run_bench
from m2vcli.benchmark.settings import BenchConfig

__all__ = ["BenchConfig", "BenchReport", "ModelReport", "run_bench"]
