"""A hostile-input campaign against the ``m2v`` executable: each probe runs m2v as a real process on input a
careless or hostile user could give it, and is clean when m2v ends with a known exit code (0, 1, 2, or
128 + a stop signal), prints no traceback, and destroys nothing that was there (the probe says what must
survive). Some probes run as root, some as the unprivileged user ``nobody``, some on a full tmpfs, some
send SIGTERM at random instants.

Usage (as root, from the repository root, in the test environment): python tools/campaign.py [-k WORD]
It prints one line per probe and the counts. Not collected by pytest: it mounts a tmpfs and switches users.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLEAN_CODES = {0, 1, 2, 128 + signal.SIGINT, 128 + signal.SIGTERM, 128 + signal.SIGHUP}


@dataclass
class Run:
    code: int
    out: bytes
    err: str
    peak_mib: int = 0  # the m2v process's peak resident memory


@dataclass
class Probe:
    name: str
    args: Callable[[Path], list[str]]
    setup: Callable[[Path], None] = lambda work: None
    check: Callable[[Path, Run], str | None] = lambda work, run: None  # a reason when not clean
    stdin: bytes | None = b""
    user: str | None = None
    codes: set[int] = field(default_factory=lambda: set(CLEAN_CODES))
    timeout: float = 120
    env: dict[str, str] = field(default_factory=dict)  # "{w}" stands for the probe's folder
    stdout_to: str | None = None  # standard output appended to this file of the probe's folder (>>)


# runs a command and writes its peak resident memory (KiB) to argv[1]; exits as the command did
PEAK_WRAPPER = """
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
while True:
    try:
        _, status, usage = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
"""


def m2v(probe: Probe, work: Path) -> Run:
    """Run the probe's command as a real process; every process it starts carries M2V_CAMPAIGN_PROBE."""
    cmd = [sys.executable, "-m", "m2vcli", *probe.args(work)]
    if probe.user:
        cmd = ["runuser", "-u", probe.user, "--", "env", f"HOME={work}", *cmd]  # runuser sets the user's own
    peak = work.parent / f"{work.name}.peak"
    cmd = [sys.executable, "-c", PEAK_WRAPPER, str(peak), *cmd]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "M2V_CAMPAIGN_PROBE": str(work)}
    env.update({key: value.format(w=work) for key, value in probe.env.items()})
    if probe.stdin is None:  # a closed standard input
        cmd = ["bash", "-c", 'exec "$@" <&-', "m2v", *cmd]
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(open(work / probe.stdout_to, "ab")) if probe.stdout_to else subprocess.PIPE
        proc = subprocess.run(
            cmd,
            input=probe.stdin,
            stdout=sink,
            stderr=subprocess.PIPE,
            env=env,
            cwd=work,
            timeout=probe.timeout,
        )
    kib = int(peak.read_text()) if peak.exists() else 0
    return Run(proc.returncode, proc.stdout or b"", proc.stderr.decode(errors="replace"), kib // 1024)


def verdict(probe: Probe, work: Path, run: Run) -> str | None:
    if run.err.startswith("runuser:"):
        return "the probe could not run: " + run.err.strip()[:160]
    if probe.name.startswith("stop:") and run.code < 0:  # the signal came after main returned: the shell sees 128+N
        run.code = 128 - run.code
    if "Traceback" in run.err:
        return "traceback: " + run.err.strip().splitlines()[-1][:160]
    if run.code not in probe.codes:
        return f"exit code {run.code}: {run.err.strip()[-160:]}"
    errors = [line for line in run.err.splitlines() if line.startswith("Error:")]
    if run.code == 1 and not errors and len(run.err.strip().splitlines()) != 1:
        return f"error not on one line: {run.err.strip()[:160]!r}"
    if any(len(line) > 400 for line in run.err.splitlines()):  # one line, but without limit
        return "an error line of more than 400 characters"
    hidden = [p.name for p in work.rglob(".*") if p.name.endswith((".partial", ".old"))]
    if hidden:
        return f"left behind: {hidden}"
    try:
        return probe.check(work, run)
    except (OSError, ValueError, KeyError) as exc:  # what should be there is not
        return f"{type(exc).__name__}: {exc}"


# ----- fixtures ---------------------------------------------------------------------------------------


def make_assets(root: Path) -> dict[str, Path]:
    sys.path.insert(0, str(ROOT))
    from tests.helpers import _save_teacher, tiny_model, wordpiece_teacher_tokenizer

    model = root / "model"
    tiny_model().save_pretrained(model)
    teacher = root / "teacher"
    teacher.mkdir()
    _save_teacher(wordpiece_teacher_tokenizer(), teacher)
    for path in (root, model, teacher):
        os.chmod(path, 0o755)
    for path in [*model.rglob("*"), *teacher.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return {"model": model, "teacher": teacher}


def broken_model(work: Path, model: Path, edit: Callable[[Path], None]) -> Path:
    target = work / "bad_model"
    shutil.copytree(model, target)
    edit(target)
    return target


def set_config(key: str, value: object) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config[key] = value
        (folder / "config.json").write_text(json.dumps(config))

    return edit


def set_tensor(key: str, make: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        from safetensors.numpy import load_file, save_file

        tensors = load_file(str(folder / "model.safetensors"))
        tensors[key] = make(tensors["embeddings"])
        save_file(tensors, str(folder / "model.safetensors"))

    return edit


def unnormalized_modules_object(folder: Path) -> None:
    """config.json without ``normalize``, so the reader must turn to modules.json, which is not a list."""
    config = json.loads((folder / "config.json").read_text())
    config.pop("normalize", None)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "modules.json").write_text('{"a": 1}')


def write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")


def unchanged(path_name: str, content: bytes) -> Callable[[Path, Run], str | None]:
    def check(work: Path, run: Run) -> str | None:
        path = work / path_name
        if not path.exists() or path.read_bytes() != content:
            return f"{path_name} was changed or removed"
        return None

    return check


# ----- probes -------------------------------------------------------------------------------------------


def probes(assets: dict[str, Path], full: Path | None) -> list[Probe]:
    model, teacher = str(assets["model"]), str(assets["teacher"])
    text = b"hello world\nthe cat sat on the mat\n"
    out: list[Probe] = []

    def encode(name: str, extra: Callable[[Path], list[str]], **kwargs: object) -> None:
        out.append(Probe(f"encode: {name}", lambda w: ["encode", "-m", model, *extra(w)], **kwargs))  # type: ignore[arg-type]

    # writes
    def fifo(work: Path) -> None:
        os.mkfifo(work / "pipe")

        def drain() -> None:
            with open(work / "pipe", "rb") as handle:
                (work / "drained").write_bytes(handle.read())

        threading.Thread(target=drain, daemon=True).start()

    def fifo_check(work: Path, run: Run) -> str | None:
        time.sleep(0.2)
        if not stat.S_ISFIFO((work / "pipe").lstat().st_mode):
            return "the FIFO was replaced"
        return None if (work / "drained").exists() and (work / "drained").stat().st_size > 0 else "nothing read"

    encode(
        "-o a FIFO", lambda w: ["-o", str(w / "pipe"), "--format", "jsonl"], setup=fifo, check=fifo_check, stdin=text
    )
    out.append(
        Probe(
            "encode: -o /dev/null as root",
            lambda w: ["encode", "-m", model, "-o", "/dev/null"],
            stdin=text,
            check=lambda w, r: None if stat.S_ISCHR(os.lstat("/dev/null").st_mode) else "/dev/null replaced",
        )
    )

    def link(work: Path) -> None:
        write(work / "real.npy", b"old")
        (work / "link.npy").symlink_to(work / "real.npy")

    def link_check(work: Path, run: Run) -> str | None:
        if not (work / "link.npy").is_symlink():
            return "the link was replaced"
        return None if (work / "real.npy").read_bytes()[:6] == b"\x93NUMPY" else "the target was not written"

    encode("-o a symlink", lambda w: ["-o", str(w / "link.npy")], setup=link, check=link_check, stdin=text)

    def chain(work: Path) -> None:
        link(work)
        (work / "link2.npy").symlink_to(work / "link.npy")

    encode("-o a chain of symlinks", lambda w: ["-o", str(w / "link2.npy")], setup=chain, check=link_check, stdin=text)
    encode(
        "-o its own input",
        lambda w: [str(w / "in.txt"), "-o", str(w / "in.txt")],
        setup=lambda w: write(w / "in.txt", text),
        check=unchanged("in.txt", text),
        codes={1},
    )

    def hard(work: Path) -> None:
        write(work / "in.txt", text)
        os.link(work / "in.txt", work / "same.npy")

    encode(
        "-o a hard link of its input",
        lambda w: [str(w / "in.txt"), "-o", str(w / "same.npy")],
        setup=hard,
        check=unchanged("in.txt", text),
        codes={1},
    )
    encode(
        "-o a symlink to its input",
        lambda w: [str(w / "in.txt"), "-o", str(w / "to_in")],
        setup=lambda w: (write(w / "in.txt", text), (w / "to_in").symlink_to(w / "in.txt")),
        check=unchanged("in.txt", text),
        codes={1},
    )
    encode("-o a folder", lambda w: ["-o", str(w)], stdin=text, codes={1})
    encode("-o in a missing folder", lambda w: ["-o", str(w / "no" / "x.npy")], stdin=text, codes={1})
    encode("-o a 250-character name", lambda w: ["-o", str(w / ("v" * 246 + ".npy"))], stdin=text, codes={0})
    encode("-o a 300-character name", lambda w: ["-o", str(w / ("v" * 296 + ".npy"))], stdin=text, codes={1})
    encode("-o /dev/full", lambda w: ["-o", "/dev/full"], stdin=text, codes={1})
    encode("stdout is /dev/full", lambda w: ["--format", "jsonl"], stdin=text, codes={0, 1})

    def read_only(work: Path) -> None:
        (work / "ro").mkdir()
        write(work / "ro" / "v.npy", b"old")
        os.chmod(work / "ro", 0o555)
        os.chmod(work, 0o777)

    out.append(
        Probe(
            "encode as nobody: -o in a read-only folder",
            lambda w: ["encode", "-m", model, "-o", str(w / "ro" / "v.npy")],
            setup=read_only,
            stdin=text,
            user="nobody",
            check=unchanged("ro/v.npy", b"old"),
            codes={1},
        )
    )

    def unreadable(work: Path) -> None:
        write(work / "in.txt", text)
        os.chmod(work / "in.txt", 0o000)
        os.chmod(work, 0o777)

    out.append(
        Probe(
            "encode as nobody: an unreadable input",
            lambda w: ["encode", "-m", model, str(w / "in.txt"), "-o", str(w / "v.npy")],
            setup=unreadable,
            user="nobody",
            codes={1},
        )
    )
    if full is not None:

        def fill(work: Path) -> None:
            write(full / "v.npy", b"previous")
            big = "\n".join(f"the cat sat on the mat {i}" for i in range(20_000)) + "\n"
            write(work / "many.txt", big)
            with open(full / "filler", "wb") as handle, contextlib.suppress(OSError):
                handle.write(b"\0" * 10_000_000)

        def full_check(work: Path, run: Run) -> str | None:
            leftovers = [p.name for p in full.iterdir() if p.name not in ("v.npy", "filler")]
            if (full / "v.npy").read_bytes() != b"previous":
                return "the previous output was lost"
            return f"left on the full disk: {leftovers}" if leftovers else None

        encode(
            "-o on a full disk",
            lambda w: [str(w / "many.txt"), "-o", str(full / "v.npy")],
            setup=fill,
            check=full_check,
            codes={1},
        )
        out.append(
            Probe(
                "distill: -o on a full disk",
                lambda w: ["distill", "-m", teacher, "-o", str(full / "m"), "--pca-dims", "8"],
                setup=lambda w: None,
                check=lambda w, r: (
                    f"left on the full disk: {sorted(p.name for p in full.iterdir())}"
                    if any(p.name.startswith(".") for p in full.iterdir())
                    else None
                ),
                codes={0, 1},
            )
        )

    # reads and input
    encode("invalid UTF-8", lambda w: [], stdin=b"ok\n\xff\xfe\n", codes={1})
    encode("closed stdin", lambda w: [], stdin=None, codes={1})
    encode("input is a folder", lambda w: [str(w)], codes={1})
    encode("input missing", lambda w: [str(w / "none.txt")], codes={1})
    encode("NUL bytes in the input", lambda w: ["--format", "jsonl"], stdin=b"a\x00b\n", codes={0, 1})

    def huge_line(work: Path) -> None:
        write(work / "line.txt", "the cat sat on the mat " * 4_000_000 + "\n")  # 92 MB

    def quick(limit: float) -> Callable[[Path, Run], str | None]:
        started = time.perf_counter()

        def check(work: Path, run: Run) -> str | None:
            return None if time.perf_counter() - started < limit else f"slower than {limit} s"

        return check

    encode("a 92 MB line", lambda w: [str(w / "line.txt"), "-o", str(w / "v.npy")], setup=huge_line, codes={0})
    for key, value in [
        ("batch_size", "10"),
        ("normalize", "yes"),
        ("max_length", -1),
        ("max_length", 1e400),
        ("model", [1, 2]),
        ("format", "xml"),
        ("errors", True),
        ("batch_size", True),
        ("output", {"a": 1}),
    ]:
        encode(
            f"--config {key}: {value!r}",
            lambda w, key=key, value=value: (  # type: ignore[misc]
                write(w / "c.yaml", json.dumps({key: value}) if value != 1e400 else f"{key}: 1e400\n"),
                ["--config", str(w / "c.yaml")],
            )[1],
            stdin=text,
            codes={1, 2},
        )
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(8)
    )
    encode(
        "--config a YAML alias bomb",
        lambda w: (write(w / "c.yaml", bomb), ["--config", str(w / "c.yaml")])[1],
        stdin=text,
        codes={1},
        timeout=60,
    )
    encode("--config a folder", lambda w: ["--config", str(w)], stdin=text, codes={1, 2})
    encode(
        "--config binary",
        lambda w: (write(w / "c.yaml", b"\x00\xff" * 100), ["--config", str(w / "c.yaml")])[1],
        stdin=text,
        codes={1},
    )

    # model folders
    for label, edit in [
        ("config normalize 'false'", set_config("normalize", "false")),
        ("config max_length 'x'", set_config("max_length", "x")),
        ("config max_length -5", set_config("max_length", -5)),
        ("config hidden_dim 3.5", set_config("hidden_dim", 3.5)),
        ("config embedding_scale NaN", lambda f: (f / "config.json").write_text('{"embedding_scale": NaN}')),
        ("config.json a list", lambda f: (f / "config.json").write_text("[1, 2]")),
        ("config.json not UTF-8", lambda f: (f / "config.json").write_bytes(b"\xff\xfe{")),
        ("embeddings with NaN", set_tensor("embeddings", lambda e: np.full_like(e, np.nan))),
        ("embeddings with Inf", set_tensor("embeddings", lambda e: np.full_like(e, np.inf))),
        ("embeddings 3-D", set_tensor("embeddings", lambda e: e[None])),
        ("embeddings int64", set_tensor("embeddings", lambda e: e.astype(np.int64))),
        ("weights with NaN", set_tensor("weights", lambda e: np.full(e.shape[0], np.nan, dtype=np.float32))),
        ("mapping out of range", set_tensor("mapping", lambda e: np.full(e.shape[0], 10**6, dtype=np.int64))),
        ("tokenizer.json garbage", lambda f: (f / "tokenizer.json").write_text("{not json")),
        ("modules.json an object (and no normalize key)", unnormalized_modules_object),
        ("model.safetensors empty", lambda f: (f / "model.safetensors").write_bytes(b"")),
        ("model.safetensors a huge header length", lambda f: (f / "model.safetensors").write_bytes(b"\xff" * 8)),
    ]:
        out.append(
            Probe(
                f"encode: model {label}",
                lambda w, edit=edit: ["encode", "-m", str(broken_model(w, Path(model), edit))],
                stdin=text,
                codes={1},
            )
        )
        out.append(
            Probe(
                f"bench: model {label} is a failed row",
                lambda w, edit=edit: [
                    "bench",
                    "-m",
                    str(broken_model(w, Path(model), edit)),
                    "-m",
                    model,
                    "--quick",
                    "--output",
                    str(w / "b.json"),
                ],
                check=lambda w, r: (
                    None
                    if (w / "b.json").exists() and len(json.loads((w / "b.json").read_text())["models"]) >= 2
                    else "no report with both rows"
                ),
                codes={0},
            )
        )

    # distill
    def model_with_extras(work: Path) -> None:
        shutil.copytree(model, work / "m")
        write(work / "m" / "notes.txt", "mine")
        (work / "m" / "sub").mkdir()
        write(work / "m" / "sub" / "data.bin", b"keep")

    out.append(
        Probe(
            "distill: over a model folder with files of the user's",
            lambda w: ["distill", "-m", teacher, "-o", str(w / "m"), "--pca-dims", "8"],
            setup=model_with_extras,
            check=lambda w, r: (
                None
                if (w / "m" / "notes.txt").read_text() == "mine" and (w / "m" / "sub" / "data.bin").exists()
                else "the user's files were deleted"
            ),
            codes={0},
        )
    )
    out.append(
        Probe(
            "distill: over a folder that is not a model, without --force",
            lambda w: ["distill", "-m", teacher, "-o", str(w / "mine"), "--pca-dims", "8"],
            setup=lambda w: write(w / "mine" / "thesis.tex", "years"),
            check=unchanged("mine/thesis.tex", b"years"),
            codes={1},
        )
    )
    for value in ('"false"', '"no"', "0", "[]"):
        out.append(
            Probe(
                f"distill: --config force: {value}",
                lambda w, value=value: (
                    write(w / "mine" / "thesis.tex", "years"),
                    write(w / "c.yaml", f"force: {value}\n"),
                    ["distill", "-m", teacher, "-o", str(w / "mine"), "--config", str(w / "c.yaml")],
                )[2],
                check=unchanged("mine/thesis.tex", b"years"),
                codes={1, 2},
            )
        )
    for line in ("word\tnan", "word\tinf", "word\t-1", "word\t1e400", "word\tabc"):
        out.append(
            Probe(
                f"distill: word file {line!r}",
                lambda w, line=line: (
                    write(w / "words.txt", f"cat\t5\n{line}\n"),
                    ["distill", "-m", teacher, "-o", str(w / "o"), "--vocabulary-path", str(w / "words.txt")],
                )[1],
                codes={1},
            )
        )

    # evaluate
    def task_file(entry: dict[str, object], rows: str = "text,label\na cat,x\na dog,y\nthe mat,x\nthe sat,y\n"):
        def setup(work: Path) -> None:
            write(work / "data.csv", rows)
            write(work / "tasks.yaml", json.dumps({"tasks": [entry]}))

        return setup

    base = {"name": "T", "type": "classification", "path": "data.csv", "columns": {"text": "text", "label": "label"}}
    for label, entry in [
        ("name ../../escape", {**base, "name": "../../escape"}),
        ("name /abs/path", {**base, "name": "/tmp/m2v-escape"}),
        ("name ..", {**base, "name": ".."}),
        ("name with a NUL", {**base, "name": "a\x00b"}),
        ("test_share 'half'", {**base, "test_share": "half"}),
        ("test_share 1.5", {**base, "test_share": 1.5}),
        ("seed 1.5", {**base, "seed": 1.5}),
        ("columns a list", {**base, "columns": ["text", "label"]}),
        ("path a number", {**base, "path": 5}),
        ("path missing", {**base, "path": "none.csv"}),
    ]:
        out.append(
            Probe(
                f"evaluate: task file {label}",
                lambda w: ["evaluate", "-m", model, "--task-file", str(w / "tasks.yaml"), "-o", str(w / "r")],
                setup=task_file(entry),
                check=lambda w, r: (
                    "wrote outside the output folder"
                    if Path("/tmp/m2v-escape.json").exists()
                    or any(p.name == "escape.json" for p in w.parent.rglob("*"))
                    else None
                ),
                codes={0, 1},
            )
        )
    sim = {
        "name": "S",
        "type": "text-similarity",
        "path": "data.csv",
        "columns": {"text1": "a", "text2": "b", "score": "s"},
    }
    out.append(
        Probe(
            "evaluate: NaN score in a task file",
            lambda w: ["evaluate", "-m", model, "--task-file", str(w / "tasks.yaml"), "-o", str(w / "r")],
            setup=task_file(sim, "a,b,s\ncat,dog,1\nthe,mat,nan\nsat,on,2\n"),
            codes={1},
        )
    )
    out.append(
        Probe(
            "evaluate: -o is a file",
            lambda w: ["evaluate", "-m", model, "--tasks", "WordSim353", "-o", str(w / "f")],
            setup=lambda w: write(w / "f", "mine"),
            check=unchanged("f", b"mine"),
            codes={1},
        )
    )

    # leaderboard
    def results(work: Path) -> None:
        for model_name, score in (('=HYPERLINK("x")', 0.5), ("a|b\nc", 0.6), ("[bold]x[/bold]", float("nan"))):
            block = {"model": model_name, "category": "Class", "main_score": score}
            write(work / "r" / f"{abs(hash(model_name))}" / "T.json", json.dumps({"m2v": block}))

    for fmt in ("json", "csv", "markdown", "table"):

        def valid(work: Path, run: Run, fmt: str = fmt) -> str | None:
            text_out = run.out.decode()
            if fmt == "json":
                try:
                    json.loads(text_out, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
                except ValueError as exc:
                    return f"invalid JSON: {exc}"
            if fmt == "csv" and "\n=HYPERLINK" in text_out:
                return "formula injection in CSV"
            if fmt == "markdown":
                bars = [line.replace("\\|", "").count("|") for line in text_out.splitlines()]
                if len(set(bars)) != 1:
                    return "markdown table broken by a model name"
            return None

        out.append(
            Probe(
                f"leaderboard: hostile names and a NaN score, {fmt}",
                lambda w, fmt=fmt: ["leaderboard", str(w / "r"), "--format", fmt],
                setup=results,
                check=valid,
                codes={0},
            )
        )
    out.append(
        Probe(
            "leaderboard: --plot over a results file",
            lambda w: ["leaderboard", str(w / "r"), "--plot", str(next((w / "r").rglob("T.json")))],
            setup=results,
            codes={0, 1},
        )
    )
    return out


# ----- round 3: refine, the feature cache, structured input, Ray, info, results ---------------------------


def tree(path: Path) -> bytes:
    """Every file under ``path`` (or ``path`` itself), names and bytes, for "left as it was" checks."""
    items = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return b"".join(str(p.relative_to(path.parent)).encode() + b"\0" + p.read_bytes() for p in items)


def kept(*names: str) -> tuple[Callable[[Path], None], Callable[[Path, Run], str | None]]:
    """A setup step that records ``names`` (files or folders under the probe's folder) and a check that
    they are byte for byte as recorded."""
    before: dict[str, bytes] = {}

    def record(work: Path) -> None:
        before.update({name: tree(work / name) for name in names})

    def check(work: Path, run: Run) -> str | None:
        changed = [name for name in names if not (work / name).exists() or tree(work / name) != before[name]]
        return f"changed or removed: {changed}" if changed else None

    return record, check


def then(*steps: Callable[[Path], object]) -> Callable[[Path], None]:
    def run_all(work: Path) -> None:
        for step in steps:
            step(work)

    return run_all


def both(*checks: Callable[[Path, Run], str | None]) -> Callable[[Path, Run], str | None]:
    def check(work: Path, run: Run) -> str | None:
        return next((reason for c in checks if (reason := c(work, run)) is not None), None)

    return check


def within(mib: int) -> Callable[[Path, Run], str | None]:
    return lambda w, r: None if r.peak_mib <= mib else f"peak memory {r.peak_mib:,} MiB, over {mib:,}"


def printable(work: Path, run: Run) -> str | None:
    bad = [c for c in run.out.decode(errors="replace") if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0]
    return f"control characters on stdout: {sorted(set(bad))!r}" if bad else None


def no_ray_left(work: Path, run: Run) -> str | None:
    time.sleep(1.0)
    left = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and f"M2V_CAMPAIGN_PROBE={work}".encode() in (entry / "environ").read_bytes():
                left.append((entry / "cmdline").read_bytes().replace(b"\0", b" ")[:60].decode(errors="replace"))
    return f"processes left behind: {left}" if left else None


def round3_probes(assets: dict[str, Path]) -> list[Probe]:
    model, teacher = str(assets["model"]), str(assets["teacher"])
    text = b"hello world\nthe cat sat on the mat\n"
    words = ["the", "cat", "sat", "on", "mat", "dog", "a", "hello", "world", "movie", "film", "great"]
    rng = random.Random(3)
    corpus = "\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) for _ in range(600)) + "\n"
    out: list[Probe] = []

    def copy_model(work: Path, name: str = "m") -> None:
        shutil.copytree(model, work / name)

    def student(work: Path) -> None:  # a model distilled from the teacher, so refine knows its teacher
        subprocess.run(
            [sys.executable, "-m", "m2vcli", "distill", "-m", teacher, "-o", str(work / "s"), "--pca-dims", "8"],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def refine_args(corpus_name: str = "c.txt", to: str = "r") -> Callable[[Path], list[str]]:
        return lambda w: ["refine", str(w / "s"), "--corpus", str(w / corpus_name), "-o", str(w / to)]

    # 1. an input is never replaced or deleted
    record, check = kept("enc.yaml")
    out.append(
        Probe(
            "encode: -o its own --config",
            lambda w: ["encode", "-c", str(w / "enc.yaml"), "-o", str(w / "enc.yaml")],
            setup=then(lambda w: write(w / "enc.yaml", f"model: {model}\nformat: npy\n"), record),
            stdin=text,
            check=check,
            codes={1},
        )
    )
    for inside in ("model.safetensors", "tokenizer.json", "new.npy"):
        record, check = kept("m")
        out.append(
            Probe(
                f"encode: -o {inside} inside the model in use",
                lambda w, inside=inside: ["encode", "-m", str(w / "m"), "-o", str(w / "m" / inside)],
                setup=then(copy_model, record),
                stdin=text,
                check=check,
                codes={1},
            )
        )
    record, check = kept("m")
    out.append(
        Probe(
            "encode: stdout appended to the model in use",
            lambda w: ["encode", "-m", str(w / "m"), "--format", "jsonl"],
            setup=then(copy_model, record),
            stdin=text,
            stdout_to="m/model.safetensors",
            check=check,
            codes={1},
        )
    )
    record, check = kept("c.txt", "s")
    out.append(
        Probe(
            "refine: -o its corpus",
            refine_args(to="c.txt"),
            setup=then(student, lambda w: write(w / "c.txt", corpus), record),
            check=check,
            codes={1},
        )
    )
    record, check = kept("t")
    out.append(
        Probe(
            "distill: -o its teacher, --force",
            lambda w: ["distill", "-m", str(w / "t"), "-o", str(w / "t"), "--force", "--pca-dims", "8"],
            setup=then(lambda w: shutil.copytree(teacher, w / "t"), record),
            check=check,
            codes={1},
        )
    )
    for label, target in (("its input folder", "docs"), ("a file:// folder holding its input", "file://{w}")):
        record, check = kept("docs")
        out.append(
            Probe(
                f"encode --engine ray: --force -o {label}",
                lambda w, target=target: (
                    ["encode", "--engine", "ray", "-m", model, str(w / "docs"), "--force", "-o", target.format(w=w)]
                    if "{" in target
                    else ["encode", "--engine", "ray", "-m", model, str(w / "docs"), "--force", "-o", str(w / target)]
                ),
                setup=then(lambda w: write(w / "docs" / "a.txt", text), record),
                check=both(check, no_ray_left),
                codes={1},
                timeout=180,
            )
        )

    # 2. cache files are private data
    for planted in ("symlink", "fifo", "corrupt"):

        def plant(work: Path, planted: str = planted) -> None:
            student(work)
            write(work / "c.txt", corpus)
            write(work / "victim.txt", "mine")
            env = {**os.environ, "PYTHONPATH": str(ROOT), "M2V_CACHE": str(work / "cache")}
            first = [sys.executable, "-m", "m2vcli", *refine_args(to="r0")(work)]
            subprocess.run(first, check=True, capture_output=True, env=env)
            (shard,) = [p for p in (work / "cache").rglob("*.npy")]
            shard.unlink()
            if planted == "symlink":
                shard.symlink_to(work / "victim.txt")
            elif planted == "fifo":
                os.mkfifo(shard)
            else:
                np.save(shard, np.zeros((600, 32), dtype=np.float32))

        out.append(
            Probe(
                f"refine: a {planted} planted in the feature cache",
                refine_args(),
                setup=plant,
                env={"M2V_CACHE": "{w}/cache"},
                check=lambda w, r: None if (w / "victim.txt").read_text() == "mine" else "a user file was written",
                codes={0},
                timeout=120,
            )
        )

    # 3. results and cached data are validated
    for label, texts in (
        ("one text repeated", "the cat sat on the mat\n" * 600),
        ("every token unknown", "".join(f"qqq {'z' * (i + 1)}\n" for i in range(600))),
        ("a field with two values", "hello world\nthe dog\n" * 300),
    ):
        record, check = kept("s")
        out.append(
            Probe(
                f"refine: a corpus with no signal ({label}), -o the model itself",
                lambda w: ["refine", str(w / "s"), "--corpus", str(w / "c.txt"), "-o", str(w / "s")],
                setup=then(student, lambda w, texts=texts: write(w / "c.txt", texts), record),
                check=check,
                codes={1},
            )
        )

    # 4. memory bounded by the chunk
    def huge_record(kind: str) -> Callable[[Path], None]:
        def setup(work: Path) -> None:
            body = "the cat sat on the mat " * 3_000_000  # 69 MB, over the 64 MiB record limit
            if kind == "jsonl":
                write(work / "in.jsonl", json.dumps({"text": body}) + "\n")
            else:
                write(work / "in.csv", "text\n" + body + "\n")

        return setup

    for kind in ("jsonl", "csv"):
        out.append(
            Probe(
                f"encode: a 69 MB {kind} record",
                lambda w, kind=kind: [
                    "encode",
                    "-m",
                    model,
                    str(w / f"in.{kind}"),
                    "--field",
                    "text",
                    "-o",
                    str(w / "v.npy"),
                ],
                setup=huge_record(kind),
                check=within(1200),
                codes={1},
            )
        )
    out.append(
        Probe(
            "refine: --corpus /dev/zero",
            lambda w: ["refine", model, "--corpus", "/dev/zero", "-o", str(w / "r")],
            codes={1},
        )
    )
    out.append(
        Probe(
            "refine: one 20 MB text",
            refine_args(),
            setup=then(student, lambda w: write(w / "c.txt", corpus + "the cat sat on the mat " * 900_000 + "\n")),
            check=within(1500),
            codes={0},
            timeout=300,
        )
    )

    # 5. one line for every failure, before the expensive work
    nested = "[" * 100_000 + "]" * 100_000
    out.append(
        Probe(
            "refine: a deeply nested JSON line",
            refine_args("c.jsonl"),
            setup=then(student, lambda w: write(w / "c.jsonl", json.dumps({"text": "a"}) + "\n" + nested + "\n")),
            codes={1},
        )
    )
    out.append(
        Probe(
            "refine: an over-long CSV header",
            refine_args("c.csv"),
            setup=then(student, lambda w: write(w / "c.csv", "x" * 70_000_000 + "\nhello\n")),
            codes={1},
        )
    )
    out.append(
        Probe("refine: --seed 2**40", lambda w: [*refine_args()(w), "--seed", str(2**40)], setup=student, codes={1})
    )
    out.append(
        Probe(
            "distill --corpus with 50 texts, before distilling",
            lambda w: ["distill", "-m", teacher, "--corpus", str(w / "c.txt"), "-o", str(w / "o"), "--pca-dims", "8"],
            setup=lambda w: write(w / "c.txt", "\n".join(corpus.splitlines()[:50]) + "\n"),
            check=lambda w, r: None if "Embedding" not in r.err else "the vocabulary was embedded first",
            codes={1},
        )
    )
    out.append(
        Probe(
            "refine: an unwritable cache folder",
            refine_args(),
            setup=then(student, lambda w: write(w / "c.txt", corpus), lambda w: write(w / "cachefile", "x")),
            env={"M2V_CACHE": "{w}/cachefile/sub"},
            check=lambda w, r: None if "Featurizing" not in r.err else "failed after featurizing",
            codes={1},
        )
    )
    for label, name in (("300 characters", "n" * 300), ("200 two-byte characters", "é" * 200)):
        out.append(
            Probe(
                f"evaluate: --name of {label}",
                lambda w, name=name: [
                    "evaluate",
                    "-m",
                    model,
                    "--tasks",
                    "WordSim353",
                    "-o",
                    str(w / "r"),
                    "--name",
                    name,
                ],
                codes={1},
            )
        )

    # 6. no half-written output, on any destination
    def appended(work: Path) -> None:
        write(work / "v.jsonl", "[1.0]\n")
        write(work / "in.jsonl", "".join(json.dumps({"text": f"the cat {i}"}) + "\n" for i in range(20_000)))
        with open(work / "in.jsonl", "a") as handle:
            handle.write('{"text": null}\n')

    out.append(
        Probe(
            "encode: >> a file, failing halfway",
            lambda w: ["encode", "-m", model, str(w / "in.jsonl"), "--field", "text", "--format", "jsonl"],
            setup=appended,
            stdout_to="v.jsonl",
            check=unchanged("v.jsonl", b"[1.0]\n"),
            codes={1},
        )
    )

    # 7. no lossy change, no misleading message
    def wide(work: Path) -> None:
        from safetensors.numpy import load_file, save_file

        copy_model(work)
        tensors = load_file(str(work / "m" / "model.safetensors"))
        tensors["embeddings"] = tensors["embeddings"] * 1e6
        save_file(tensors, str(work / "m" / "model.safetensors"))

    for fmt in ("npy", "jsonl", "parquet", "safetensors"):
        out.append(
            Probe(
                f"encode: --dtype float16 beyond its range, {fmt}",
                lambda w, fmt=fmt: ["encode", "-m", str(w / "m"), "-o", str(w / f"v.{fmt}"), "--dtype", "float16"],
                setup=wide,
                stdin=text,
                check=lambda w, r, fmt=fmt: None if not (w / f"v.{fmt}").exists() else "an output was written",
                codes={1},
            )
        )

    def escapes(work: Path) -> None:
        block = {"model": "m\x1b]0;owned\x07\x1b[2J", "category": "Class\x1b[31m", "main_score": 0.5}
        write(work / "r" / "m" / "T\x1b[1m.json", json.dumps({"m2v": block, "task_name": "T\x1b[5m"}))

    for fmt in ("markdown", "csv", "table"):
        out.append(
            Probe(
                f"leaderboard: terminal escapes in a results file, {fmt}",
                lambda w, fmt=fmt: ["leaderboard", str(w / "r"), "--format", fmt],
                setup=escapes,
                check=printable,
                codes={0},
            )
        )

    def other_name(work: Path) -> None:
        block = {"model": "org/model", "category": "Class", "main_score": 0.5}
        write(work / "r" / "org__model" / "WordSim353.json", json.dumps({"m2v": block}))

    out.append(
        Probe(
            "evaluate: a --name whose folder holds another name's results",
            lambda w: [
                "evaluate",
                "-m",
                model,
                "--tasks",
                "WordSim353",
                "-o",
                str(w / "r"),
                "--name",
                "org__model",
                "--overwrite",
            ],
            setup=other_name,
            check=unchanged(
                "r/org__model/WordSim353.json",
                json.dumps({"m2v": {"model": "org/model", "category": "Class", "main_score": 0.5}}).encode(),
            ),
            codes={1},
        )
    )
    for label, make in (
        ("a folder", lambda p: p.mkdir()),
        ("a FIFO", lambda p: os.mkfifo(p)),
        ("a symlink loop", lambda p: p.symlink_to(p)),
    ):

        def bad_config(work: Path, make: Callable[[Path], object] = make) -> None:
            copy_model(work)
            (work / "m" / "config.json").unlink()
            make(work / "m" / "config.json")

        for command in ("encode", "info"):
            out.append(
                Probe(
                    f"{command}: config.json is {label}",
                    lambda w, command=command: (
                        [command, "-m", str(w / "m")] if command == "encode" else [command, str(w / "m")]
                    ),
                    setup=bad_config,
                    stdin=text,
                    codes={1},
                    timeout=30,
                )
            )
    out.append(
        Probe(
            "encode --engine ray: a file:/// input URI",
            lambda w: ["encode", "--engine", "ray", "-m", model, f"file://{w}/docs", "-o", str(w / "out")],
            setup=lambda w: write(w / "docs" / "a.txt", text),
            check=both(lambda w, r: None if (w / "out" / "_m2v.json").is_file() else "no manifest", no_ray_left),
            codes={0},
            timeout=180,
        )
    )

    # 8. clean up what you start
    out.append(
        Probe(
            "encode --engine ray: a job that fails leaves no process",
            lambda w: [
                "encode",
                "--engine",
                "ray",
                "-m",
                str(w / "m"),
                str(w / "in.txt"),
                "-o",
                str(w / "o"),
                "--dtype",
                "float16",
            ],
            setup=then(wide, lambda w: write(w / "in.txt", text)),
            check=no_ray_left,
            codes={1},
            timeout=180,
        )
    )
    return out


def encode_stop(
    model: str, many: bytes
) -> tuple[Callable[..., list[str]], Callable[..., None], Callable[..., str | None]]:
    def args(w: Path) -> list[str]:
        return ["encode", "-m", model, str(w / "many.txt"), "-o", str(w / "v.npy")]

    def setup(w: Path) -> None:
        write(w / "many.txt", many)
        write(w / "v.npy", b"previous")

    def check(w: Path, r: Run) -> str | None:
        start = (w / "v.npy").read_bytes()[:6]
        return None if start in (b"previo", b"\x93NUMPY") else "v.npy is neither the old output nor a new one"

    return args, setup, check


def distill_stop(
    model: str, teacher: str
) -> tuple[Callable[..., list[str]], Callable[..., None], Callable[..., str | None]]:
    def args(w: Path) -> list[str]:
        return ["distill", "-m", teacher, "-o", str(w / "m"), "--pca-dims", "8"]

    def setup(w: Path) -> None:
        shutil.copytree(model, w / "m")

    def check(w: Path, r: Run) -> str | None:
        return None if (w / "m" / "model.safetensors").is_file() else "no model under its name"

    return args, setup, check


def stop_probes(assets: dict[str, Path], rng: random.Random, count: int) -> list[Probe]:
    """SIGTERM or SIGHUP at a random instant while encode or distill writes over a previous output."""
    model, teacher = str(assets["model"]), str(assets["teacher"])
    many = "\n".join(f"the cat sat on the mat number {i}" for i in range(200_000)).encode() + b"\n"
    out = []
    for i in range(count):
        sig = rng.choice([signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
        delay = rng.uniform(0.5, 4.0)
        if i % 2:
            args, setup, check = encode_stop(model, many)
        else:
            args, setup, check = distill_stop(model, teacher)
        out.append(
            Probe(
                f"stop: {signal.Signals(sig).name} after {delay:.2f} s ({'encode' if i % 2 else 'distill'})",
                args,
                setup,
                check,
            )
        )
        out[-1].stdin = b""
        out[-1].timeout = delay  # used as the delay by run_stop
        out[-1].codes = {0, 128 + sig}
    return out


def run_stop(probe: Probe, work: Path) -> Run:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    sig = signal.Signals[probe.name.split()[1]]
    proc = subprocess.Popen(
        [sys.executable, "-m", "m2vcli", *probe.args(work)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=work,
    )
    time.sleep(probe.timeout)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return Run(proc.returncode, out, err.decode(errors="replace"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="run only probes whose name holds this")
    parser.add_argument("--stops", type=int, default=12, help="signal probes at random instants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--user", help="run every probe that does not need root as this user (e.g. nobody)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="m2v-campaign-"))
    os.chmod(root, 0o755)
    assets = make_assets(root / "assets")
    full: Path | None = root / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(full)]).returncode != 0:
        full = None
    rng = random.Random(args.seed)
    every = probes(assets, full) + round3_probes(assets) + stop_probes(assets, rng, args.stops)
    todo = [p for p in every if args.k in p.name]
    if args.user:
        needs_root = ("as root", "full disk", "stop:", "/dev/full")
        todo = [p for p in todo if not any(word in p.name for word in needs_root)]
        for probe in todo:
            probe.user = probe.user or args.user
    clean = 0
    try:
        for number, probe in enumerate(todo):
            work = root / f"p{number}"
            work.mkdir()
            os.chmod(work, 0o777 if args.user else 0o755)
            if full is not None:
                for entry in full.iterdir():
                    entry.unlink() if entry.is_file() else shutil.rmtree(entry)
            try:
                probe.setup(work)
                if probe.user:  # what the probe set up belongs to the user it runs as, as a user's files do
                    subprocess.run(["chown", "-R", probe.user, str(work)], check=True)
                if probe.name.startswith("stop:"):
                    run = run_stop(probe, work)
                elif probe.name.startswith("encode: stdout is /dev/full"):
                    with open("/dev/full", "wb") as sink:
                        proc = subprocess.run(
                            [sys.executable, "-m", "m2vcli", *probe.args(work)],
                            input=b"hello\n",
                            stdout=sink,
                            stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                        )
                    run = Run(proc.returncode, b"", proc.stderr.decode(errors="replace"))
                else:
                    run = m2v(probe, work)
                reason = verdict(probe, work, run)
            except subprocess.TimeoutExpired:
                reason = "timed out"
            clean += reason is None
            code = f" (exit {run.code})" if probe.name.startswith("stop:") and reason is None else ""
            code += f" [peak {run.peak_mib:,} MiB]" if reason != "timed out" and run.peak_mib else ""
            print(
                f"{'clean' if reason is None else 'NOT CLEAN'}  {probe.name}{code}"
                + (f"  -- {reason}" if reason else "")
            )
    finally:
        if full is not None:
            subprocess.run(["umount", str(full)])
        shutil.rmtree(root, ignore_errors=True)
    print(f"{len(todo)} probes: {clean} clean, {len(todo) - clean} not clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
