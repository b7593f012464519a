"""Calling m2v from Python leaves the host process as it found it: no environment variable, logger
level, warning filter or umask is changed by library code (the ``m2v`` executable sets its own)."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import pytest

from m2vcli.process import current_umask, environment_defaults, logger_levels


def test_distilling_from_python_leaves_the_environment_and_filters_as_they_were(
    tiny_teacher_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli.distillation import run_distillation
    from m2vcli.process import KERNEL_CACHE_LIMITS

    for name in KERNEL_CACHE_LIMITS:  # as in a Python program that never ran the m2v executable
        monkeypatch.delenv(name, raising=False)
    before, filters = dict(os.environ), list(warnings.filters)
    levels = {name: logging.getLogger(name).level for name in ("transformers", "torch", "ray")}
    run_distillation(model=str(tiny_teacher_dir), pca_dims=4, save_path=str(tmp_path / "m"))
    assert dict(os.environ) == before
    assert list(warnings.filters) == filters
    assert {name: logging.getLogger(name).level for name in levels} == levels


def test_importing_ray_for_a_users_pipeline_sets_nothing() -> None:
    pytest.importorskip("ray")
    from m2vcli.encoding.ray_workers import import_ray

    before = dict(os.environ)
    import_ray()
    assert dict(os.environ) == before


def test_the_umask_is_read_without_being_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("reading the umask without setting it needs /proc")
    from m2vcli.files import atomic_file

    old = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", lambda mask: pytest.fail("the umask was set"))
        assert current_umask() == 0o027
        with atomic_file(tmp_path / "out.txt") as handle:
            handle.write(b"x")
        assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o640
    finally:
        monkeypatch.undo()
        os.umask(old)


def test_scoped_settings_are_put_back_even_on_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M2V_KEPT", "mine")
    logger = logging.getLogger("m2v.test.scoped")
    logger.setLevel(logging.INFO)
    with pytest.raises(RuntimeError), environment_defaults({"M2V_KEPT": "x", "M2V_ADDED": "y"}):
        assert os.environ["M2V_KEPT"] == "mine" and os.environ["M2V_ADDED"] == "y"
        with logger_levels(["m2v.test.scoped"], logging.CRITICAL):
            assert logger.level == logging.CRITICAL
            raise RuntimeError
    assert os.environ["M2V_KEPT"] == "mine" and "M2V_ADDED" not in os.environ
    assert logger.level == logging.INFO


def test_processes_left_under_this_one_are_found_and_ended() -> None:
    import subprocess
    import time

    from m2vcli.process import descendants, end_processes, process_start

    before = descendants()
    shell = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"])
    deadline = time.monotonic() + 10
    new: dict[int, str] = {}
    while time.monotonic() < deadline and len(new) < 3:
        new = {pid: start for pid, start in descendants().items() if pid not in before}
        time.sleep(0.02)
    assert shell.pid in new and len(new) == 3  # the shell and its two children
    keeper = subprocess.Popen(["sleep", "60"])  # started later, not in the list: left alone
    try:
        assert end_processes(new, grace=2.0) == 3
        shell.wait(timeout=5)
        assert all(process_start(pid) is None for pid in new if pid != shell.pid)
        assert keeper.poll() is None
    finally:
        keeper.kill()
        keeper.wait()
