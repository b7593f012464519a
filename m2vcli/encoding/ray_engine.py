"""``m2v encode --engine ray``: the same job as ``m2v encode``, spread over a Ray cluster.

Ray Data reads the inputs through ``ray_inputs.text_source`` (one read task per text file or Parquet row group),
with the same readers as the local job, so every text carries its input file and position. ``map_batches``
runs ``ShardWriter`` actors: each loads the model once, encodes its batches and writes each one as a Parquet
shard straight from the worker, so no vector passes through the driver. A shard's name comes from its input
file and first row, so a retried batch (a worker that died) rewrites the same shard, never a second copy.

The output folder appears only when the job has finished: a local folder is built under a hidden temporary
name beside it and renamed into place (on a cluster it must be a path every node sees, such as a shared
volume); a URI (``s3://...``) is written in place and holds ``_m2v.json`` only once complete.

``encode_dataset`` is the same encoding for a ``ray.data.Dataset`` of the user's own pipeline.
Importing this module does not import ray; each function does, with a one-line error naming the extra.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import sys
import warnings
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from m2vcli import errors
from m2vcli.callbacks import OnProgress
from m2vcli.encoding.ray_inputs import plan_units, text_source
from m2vcli.encoding.ray_workers import RAY_BATCH_SIZE, Options, ShardWriter, cpus, import_ray, model_files
from m2vcli.encoding.settings import EncodeConfig, EncodeResult, Engine
from m2vcli.encoding.vector_io import OutputFormat
from m2vcli.errors import ConfigError, M2VError, OutputError, first_line
from m2vcli.files import atomic_folder, check_not_read, local_path
from m2vcli.process import descendants, end_processes, environment_defaults, logger_levels
from m2vcli.tables import plain
from m2vcli.texts import choose_input_format, filesystem, is_uri, list_inputs

MANIFEST = "_m2v.json"
ACTORS_PER_READER = 8  # a reader turns Parquet or text into batches far faster than one actor encodes them


# ----- the command ----------------------------------------------------------------------------------


def check_ray_config(config: EncodeConfig) -> None:
    """What ``--engine ray`` cannot do, refused before any work."""
    if config.texts or config.input in (None, "-"):
        raise ConfigError("--engine ray reads files: give an input file, folder, glob or URI (not standard input)")
    if not config.output or config.output == "-":
        raise ConfigError("--engine ray writes a folder of Parquet shards: pass -o FOLDER")
    if config.format not in (None, OutputFormat.parquet):
        raise ConfigError(f"--engine ray writes Parquet shards, not {config.format.value}; leave out --format")


def _check_output(output: str, force: bool) -> None:
    if is_uri(output):
        import pyarrow.fs as pafs

        fs, inner = filesystem(output)
        try:
            info = fs.get_file_info(inner)
        except OSError as exc:
            raise OutputError(f"cannot check output {output}: {first_line(exc)}") from exc
        if info.type != pafs.FileType.NotFound and not force:
            raise OutputError(f"output {output} exists; pass --force to replace it")
        return
    path = Path(output)
    if os.path.lexists(path):
        if not path.is_dir():
            raise OutputError(f"output {output} exists and is not a folder")
        if not force:
            raise OutputError(f"output folder {output} exists; pass --force to replace it")
    parent = Path(os.path.realpath(path)).parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {output}: permission denied")


# Read when Ray starts (its processes inherit them): no usage report; errors reach the user as exceptions
RAY_ENVIRONMENT = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_BACKEND_LOG_LEVEL": "fatal"}


def _connect(ray: Any, address: str | None, before: Mapping[int, str]) -> bool:
    """Join the cluster at ``address``, or start Ray here; True when this call started it. ``before``: the
    processes under this one before (``descendants``), which a failed start leaves alone."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"logging_level": "ERROR", "log_to_driver": False}
    if address is None:  # a Ray of its own, even where a cluster runs on this machine or RAY_ADDRESS is set
        kwargs.update(num_cpus=os.cpu_count() or 1, include_dashboard=False)
    else:
        probe_address(address)
    try:
        with _quiet_stderr(), environment_defaults(RAY_ENVIRONMENT), _signal_handlers_kept():
            ray.init(address=address or "local", **kwargs)
    except Exception as exc:  # ConnectionError, ValueError, RuntimeError: Ray is not specific
        _shutdown(ray, before)
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise ConfigError(f"cannot reach {where}: {first_line(exc)}") from exc
    except SystemExit as exc:  # Ray's own SIGTERM handler ran while ray.init had it in place
        _shutdown(ray, before)
        if exc.code == signal.SIGTERM:
            os.kill(os.getpid(), signal.SIGTERM)  # again, to m2v's handler (put back): a clean stop
        raise
    except BaseException:  # a stop signal while Ray was starting: nothing it started stays behind
        _shutdown(ray, before)
        raise
    return True


def _shutdown(ray: Any, before: Mapping[int, str]) -> None:
    """Stop the Ray started here, or whatever a ``ray.init`` that did not return had started, and then
    every Ray process it left under this one (its dashboard and runtime-env agents outlive ``ray.shutdown``
    by a minute when the job stopped early); processes that were there ``before`` are left alone."""
    ours = {pid: start for pid, start in descendants().items() if pid not in before and _is_ray(pid)}
    with contextlib.suppress(Exception):
        ray.shutdown()
    end_processes(ours)


def _is_ray(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"ray" in handle.read()
    except OSError:
        return False


@contextlib.contextmanager
def _signal_handlers_kept() -> Any:
    """The process's stop-signal handlers as they were before: ``ray.init`` puts in its own (SIGTERM exits
    with code 15 and a C++ stack dump), which would skip m2v's clean stop and its exit code."""
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            if handler is not None:
                with contextlib.suppress(ValueError, OSError):  # not the main thread: nothing was changed
                    signal.signal(sig, handler)


def probe_address(address: str, timeout: float = 5.0) -> None:
    """A cluster address that names a host and port must accept a connection within ``timeout`` seconds
    (Ray itself retries an unreachable one for minutes). ``auto`` and other forms are left to Ray.

    >>> probe_address("auto")
    """
    import socket

    found = re.fullmatch(r"(?:ray://)?\[?([^\]/]+?)\]?:(\d+)/?", address)
    if found is None:
        return
    host, port = found.group(1), int(found.group(2))
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {reason}") from exc


@contextlib.contextmanager
def _quiet_stderr() -> Any:
    """Standard error silenced at the descriptor, for Ray's start-up lines written from C++ (a failure still
    reaches the user, as the exception)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_RAISED = re.compile(r"^m2vcli\.errors\.(\w+): (.+)$", re.MULTILINE)
_LAST_ERROR = re.compile(r"^((?:\w+\.)*\w*(?:Error|Exception)): (.+)$", re.MULTILINE)
_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _unwrap(exc: BaseException) -> BaseException:
    """The m2v error behind a Ray task failure, when there is one, as m2v raised it: the exception itself
    when Ray kept it, else rebuilt from the worker's traceback, which Ray puts in the message (its
    ``UserCodeException`` keeps only the text, and the class it derives from an m2v error, to re-raise it in
    the driver, reads as that whole traceback)."""
    cause: BaseException | None = exc
    for _ in range(10):
        if cause is None:
            break
        kind = _m2v_kind(type(cause))
        if kind is type(cause):
            return cause
        raised = _RAISED.findall(_ESCAPE.sub("", str(cause)))
        found = getattr(errors, raised[-1][0], None) if raised else None
        if isinstance(found, type) and issubclass(found, M2VError):
            return found(raised[-1][1])
        inner = getattr(cause, "cause", None)  # a RayTaskError: the worker's own exception
        if isinstance(inner, BaseException) and inner is not cause:
            cause = inner
        elif kind is not None:  # an m2v error whose message Ray replaced and whose text names none
            return kind(_worker_reason(cause))
        else:
            cause = cause.__cause__
    return exc


def _m2v_kind(cls: type) -> type[M2VError] | None:
    """The m2v error class ``cls`` is or derives from (Ray derives one of its own to re-raise it), or None."""
    for base in cls.__mro__:
        if issubclass(base, M2VError) and base.__module__ == errors.__name__:
            return base
    return None


def _worker_reason(exc: BaseException) -> str:
    """One printable line for a failure that is not m2v's: the last ``...Error: reason`` line of the
    worker's traceback when there is one, without the terminal colours Ray adds."""
    text = _ESCAPE.sub("", str(exc))
    found = _LAST_ERROR.findall(text)
    reason = f"{found[-1][0]}: {found[-1][1]}" if found else (text.strip().splitlines() or [type(exc).__name__])[0]
    return plain(reason)[:200]


def encode_with_ray(config: EncodeConfig, *, on_progress: OnProgress | None = None) -> EncodeResult:
    """Run ``m2v encode --engine ray``: returns the rows written, the dims and the output folder."""
    if config.engine is not Engine.ray:
        config = replace(config, engine=Engine.ray)
    check_ray_config(config)
    assert config.input is not None and config.output is not None and config.model is not None
    ray = import_ray()
    _check_output(config.output, config.force)
    paths = list_inputs(config.input, any_file=config.input_format is not None)
    # an output folder replaced with --force (or a file:// one cleared) must hold nothing this job reads
    output_here = local_path(config.output) or (None if is_uri(config.output) else config.output)
    if output_here is not None:
        reads = [local_path(p) for p in paths] + [local_path(config.input), local_path(config.model)]
        check_not_read(output_here, reads, "output")
    formats = {choose_input_format(config.input_format, p, bool(config.field or config.id_field)) for p in paths}
    if len(formats) > 1:
        kinds = ", ".join(sorted(f.value for f in formats))
        raise ConfigError(f"the inputs mix formats ({kinds}); pass --input-format or narrow the glob")
    fmt = formats.pop()
    if not fmt.has_fields and (config.field or config.id_field):
        raise ConfigError("--field/--column and --id-field apply to jsonl, csv, tsv and parquet input")
    from m2vcli.model import StaticEmbedder
    from m2vcli.model.persistence import resolve_model_folder

    model_folder = resolve_model_folder(config.model)  # a folder, the hub cache or the hub: resolved once
    model = StaticEmbedder.from_pretrained(model_folder)  # checks the model before any worker loads it
    files = model_files(model_folder)
    limit = None if config.max_length == 0 else (config.max_length or model.max_length)
    rows_per_batch = config.batch_size or RAY_BATCH_SIZE
    settings = config.read_settings(fmt, model.longest_text(limit), "input", rows=rows_per_batch)
    units = plan_units(paths, settings)
    options = Options(config.normalize, config.max_length, config.dtype)
    progress = on_progress or (lambda done, total: None)
    before = descendants()
    started = _connect(ray, config.address, before)
    written = [0]
    shards = [0]

    def run(folder: str) -> None:
        from ray.data import DataContext

        context = DataContext.get_current()
        context.enable_progress_bars = False  # m2v shows its own
        context.print_on_execution_start = False
        # reading is light: it takes no CPU of its own, so it never waits behind the encoding actors, and one
        # reader keeps ACTORS_PER_READER actors busy (each reader is a process: more would only cost start-ups)
        actors = config.concurrency or cpus(ray)
        readers = max(1, -(-actors // ACTORS_PER_READER))
        dataset = ray.data.read_datasource(text_source(units, settings), num_cpus=0, concurrency=readers)
        out = dataset.map_batches(
            ShardWriter,
            fn_constructor_kwargs={"files": [ray.put(files)], "options": options, "folder": folder},
            batch_size=rows_per_batch,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=1,
        )
        known = [u.rows for u in units]
        total = sum(r for r in known if r is not None) if None not in known else 0  # 0: not known
        progress(0, total)
        for batch in out.iter_batches(batch_size=None, batch_format="pyarrow"):
            written[0] += sum(batch.column("rows").to_pylist())
            shards[0] += batch.num_rows
            progress(written[0], total)
        manifest = {
            "model": config.model,
            "dim": model.dim,
            "dtype": config.dtype.value,
            "rows": written[0],
            "shards": shards[0],
            "inputs": paths,
            "columns": ["file", "row", *(["id"] if config.id_field else []), "vector"],
        }
        text = json.dumps(manifest, indent=2) + "\n"
        if is_uri(folder):
            fs, inner = filesystem(folder)
            with fs.open_output_stream(f"{inner}/{MANIFEST}") as stream:
                stream.write(text.encode())
        else:
            Path(folder, MANIFEST).write_text(text, encoding="utf-8")

    # a failure reaches the user as the exception, in one line: Ray's loggers and warnings are quiet for
    # the job, and as they were after it
    quiet = contextlib.ExitStack()
    quiet.enter_context(logger_levels(("ray", "ray.data"), logging.CRITICAL))
    quiet.enter_context(warnings.catch_warnings())
    warnings.filterwarnings("ignore", module=r"ray\.")
    try:
        if is_uri(config.output):
            _run_in_place(config.output, run, config.force)
        else:
            stoppable = lambda tmp: _stop_on_interrupt(ray, started, before, run, str(tmp.resolve()))  # noqa: E731
            atomic_folder(Path(config.output), stoppable)
    except Exception as exc:
        found = _unwrap(exc)
        if found is exc and isinstance(exc, M2VError):
            raise
        if isinstance(found, M2VError):  # raised in a worker: told as it was, without Ray's wrapping
            raise type(found)(plain(first_line(found))) from None  # Ray appends its retry advice
        raise OutputError(f"the Ray job failed: {_worker_reason(found)}") from exc
    finally:
        if started:
            _shutdown(ray, before)
        quiet.close()
    return EncodeResult(rows=written[0], dim=model.dim, format=OutputFormat.parquet, output=config.output)


def _stop_on_interrupt(ray: Any, started: bool, before: Mapping[int, str], run: Any, folder: str) -> None:
    """Run the job; when it stops early (Ctrl-C, SIGTERM or SIGHUP, which m2v raises as ``Stopped``, or an
    error), stop a Ray started here first, so no worker writes into a folder being removed."""
    try:
        run(folder)
    except BaseException:
        if started:
            _shutdown(ray, before)
        raise


def _run_in_place(output: str, run: Any, force: bool) -> None:
    """A URI output: shards are written in place, and the manifest, written last, marks it complete."""
    from pyarrow.fs import FileType

    fs, inner = filesystem(output)
    if force and fs.get_file_info(inner).type is not FileType.NotFound:
        try:  # shards of the old output left beside the new ones would read as one output
            fs.delete_dir(inner)
        except OSError as exc:
            raise OutputError(f"cannot replace output {output} (--force): {first_line(exc)}") from exc
    fs.create_dir(inner, recursive=True)
    run(output.rstrip("/"))
