"""A hostile-input campaign against the ``m2v`` executable: each probe runs m2v as a real process on input a
careless or hostile user could give it, and is clean when m2v ends with a known exit code (0, 1, 2, or
128 + a stop signal), prints no traceback, and destroys nothing that was there (the probe says what must
survive). Some probes run as root, some as the unprivileged user ``nobody``, some on a full tmpfs, some
send SIGTERM at random instants.

Usage (as root, from the repository root, in the test environment): python tests/campaign.py [-k WORD]
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


def m2v(args: list[str], stdin: bytes | None, user: str | None, timeout: float, cwd: Path) -> Run:
    cmd = [sys.executable, "-m", "m2vcli", *args]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    if stdin is None:  # a closed standard input
        proc = subprocess.run(
            ["bash", "-c", 'exec "$@" <&-', "m2v", *cmd], capture_output=True, timeout=timeout, env=env, cwd=cwd
        )
    else:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, env=env, cwd=cwd)
    return Run(proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"))


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
    from tests.conftest import _save_teacher, tiny_model, wordpiece_teacher_tokenizer

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
                    "--json",
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
    todo = [p for p in probes(assets, full) + stop_probes(assets, rng, args.stops) if args.k in p.name]
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
                    run = m2v(probe.args(work), probe.stdin, probe.user, probe.timeout, work)
                reason = verdict(probe, work, run)
            except subprocess.TimeoutExpired:
                reason = "timed out"
            clean += reason is None
            code = f" (exit {run.code})" if probe.name.startswith("stop:") and reason is None else ""
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
