"""``m2v encode --engine ray`` and ``encode_dataset``, run for real on a local Ray (2 CPUs).

One Ray session serves the in-process tests (``encode_with_ray`` joins a running Ray and leaves it
running); the fault tests start their own processes: a worker that dies once, and Ctrl-C mid-job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from m2vcli import StaticEmbedder
from m2vcli.encoding import EncodeConfig, Engine
from m2vcli.errors import ConfigError, InputError, OutputError
from m2vcli.extras import install_hint

ray = pytest.importorskip("ray", reason="the ray extra: pip install -e '.[ray]'")
pytestmark = pytest.mark.subprocess  # Ray starts processes of its own

WORDS = ["the", "cat", "sat", "on", "mat", "dog", "a", "hello", "world", "snow"]


def texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(0, 9))) for _ in range(n)]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def run(model: Path, source: str, output: Path, **settings: object) -> object:
    from m2vcli.encoding.ray_engine import encode_with_ray

    config = EncodeConfig(model=str(model), input=source, output=str(output), engine=Engine.ray, **settings)  # type: ignore[arg-type]
    return encode_with_ray(config)


def read_output(folder: Path) -> tuple[pa.Table, np.ndarray]:
    """The shards, sorted by input file and position."""
    table = pq.read_table(folder)
    order = np.lexsort((table.column("row").to_numpy(), table.column("file").to_numpy()))
    table = table.take(pa.array(order))
    return table, np.stack(table.column("vector").to_numpy(zero_copy_only=False))


def test_text_and_parquet_inputs_give_the_local_vectors_with_positions(
    local_ray: None, tiny_model_dir: Path, tmp_path: Path
) -> None:
    lines = texts(3000)
    src = tmp_path / "in.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    want = StaticEmbedder.from_pretrained(tiny_model_dir).encode(lines)
    out = tmp_path / "vectors"
    result = run(tiny_model_dir, str(src), out, batch_size=500)
    assert result.rows == 3000  # type: ignore[attr-defined]
    table, vectors = read_output(out)
    assert table.column_names == ["file", "row", "vector"]
    assert table.column("row").to_pylist() == list(range(3000))  # every line once: no shard twice
    np.testing.assert_array_equal(vectors, want)
    manifest = json.loads((out / "_m2v.json").read_text())
    assert manifest["rows"] == 3000 and manifest["inputs"] == [str(src)] and manifest["dim"] == 8
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left

    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(3):  # three files, two row groups each
        chunk = lines[i * 1000 : (i + 1) * 1000]
        pq.write_table(
            pa.table({"body": chunk, "key": [f"k{i}-{j}" for j in range(1000)]}),
            parts / f"p{i}.parquet",
            row_group_size=500,
        )
    out2 = tmp_path / "from_parquet"
    run(tiny_model_dir, str(parts / "*.parquet"), out2, field="body", id_field="key", dtype="float16")
    table, vectors = read_output(out2)
    assert table.column_names == ["file", "row", "id", "vector"]
    assert table.column("id").to_pylist() == [f"k{i}-{j}" for i in range(3) for j in range(1000)]
    assert vectors.dtype == np.float16
    np.testing.assert_array_equal(vectors, want.astype(np.float16))


def test_jsonl_folder_input_and_the_python_api(local_ray: None, tiny_model_dir: Path, tmp_path: Path) -> None:
    import ray.data

    from m2vcli import encode_dataset

    lines = texts(400, seed=1)
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(2):
        rows = [json.dumps({"text": t, "n": j}) for j, t in enumerate(lines[i * 200 : (i + 1) * 200])]
        (folder / f"part{i}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    want = StaticEmbedder.from_pretrained(tiny_model_dir).encode(lines)
    out = tmp_path / "vectors"
    run(tiny_model_dir, str(folder), out, field="text", id_field="n")
    table, vectors = read_output(out)
    assert table.column("file").to_pylist() == [0] * 200 + [1] * 200
    assert table.column("id").to_pylist() == list(range(200)) * 2
    np.testing.assert_array_equal(vectors, want)

    dataset = ray.data.from_items([{"text": t, "n": i} for i, t in enumerate(lines)])
    rows = encode_dataset(dataset, str(tiny_model_dir), batch_size=64).take_all()
    got = np.stack([r["vector"] for r in sorted(rows, key=lambda r: r["n"])])
    np.testing.assert_array_equal(got, want)


def test_bad_input_and_output_are_one_line_errors(local_ray: None, tiny_model_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "fine"}\n{"body": "no text"}\n', encoding="utf-8")
    out = tmp_path / "vectors"
    with pytest.raises(InputError, match=r"^input .*in.jsonl line 2 has no field 'text' \(it has: body\)$"):
        run(tiny_model_dir, str(src), out)  # raised in a worker, told here as it is
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    out.mkdir()
    (out / "keep").write_text("x")
    src.write_text('{"text": "fine"}\n', encoding="utf-8")
    with pytest.raises(OutputError, match="exists; pass --force to replace it"):
        run(tiny_model_dir, str(src), out)
    run(tiny_model_dir, str(src), out, force=True)
    assert not (out / "keep").exists() and pq.read_table(out).num_rows == 1
    with pytest.raises(InputError, match=r"input pattern .* matches no file"):
        run(tiny_model_dir, str(tmp_path / "*.nothing"), tmp_path / "v2")
    with pytest.raises(ConfigError, match="give an input file, folder, glob or URI"):
        run(tiny_model_dir, "-", tmp_path / "v3")
    with pytest.raises(ConfigError, match="writes Parquet shards, not npy"):
        run(tiny_model_dir, str(src), tmp_path / "v4", format="npy")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    run(tiny_model_dir, str(empty), tmp_path / "v5")
    assert json.loads((tmp_path / "v5" / "_m2v.json").read_text())["rows"] == 0


def test_uri_input_and_output_are_written_in_place_with_the_manifest_last(
    local_ray: None, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """The object-store path (s3://, gs://) through pyarrow's filesystem, run here with file:// URIs."""
    lines = texts(1200, seed=5)
    (tmp_path / "in").mkdir()
    for i in range(2):
        (tmp_path / "in" / f"part{i}.txt").write_text(
            "\n".join(lines[i * 600 : (i + 1) * 600]) + "\n", encoding="utf-8"
        )
    out = tmp_path / "vectors"
    result = run(tiny_model_dir, f"file://{tmp_path}/in/*.txt", f"file://{out}", batch_size=250)  # type: ignore[arg-type]
    assert result.rows == 1200  # type: ignore[attr-defined]
    manifest = json.loads((out / "_m2v.json").read_text())
    assert manifest["inputs"] == [f"file://{tmp_path}/in/part{i}.txt" for i in range(2)] and manifest["rows"] == 1200
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no partial shard left
    table, vectors = read_output(out)
    assert table.column("file").to_pylist() == [0] * 600 + [1] * 600
    np.testing.assert_array_equal(vectors, StaticEmbedder.from_pretrained(tiny_model_dir).encode(lines))
    with pytest.raises(OutputError, match="exists; pass --force to replace it"):
        run(tiny_model_dir, f"file://{tmp_path}/in/part0.txt", f"file://{out}")  # type: ignore[arg-type]
    run(tiny_model_dir, f"file://{tmp_path}/in/part0.txt", f"file://{out}", force=True)  # type: ignore[arg-type]
    assert json.loads((out / "_m2v.json").read_text())["rows"] == 600 and pq.read_table(out).num_rows == 600
    with pytest.raises(InputError, match="does not exist"):
        run(tiny_model_dir, f"file://{tmp_path}/nothing.txt", tmp_path / "v2")


def test_without_ray_or_a_reachable_cluster_the_error_says_what_to_do(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2vcli.encoding import ray_engine
    from tests.helpers import run_m2v

    src = tmp_path / "in.txt"
    src.write_text("hello\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as without the extra
    proc = run_m2v("encode", "-m", str(tiny_model_dir), "--engine", "ray", str(src), "-o", str(tmp_path / "v"))
    assert proc.returncode == 1
    assert (
        proc.stderr.decode()
        == f"Error: --engine ray needs m2v's ray extra (ray not installed): {install_hint('ray')}\n"
    )
    monkeypatch.undo()
    with pytest.raises(ConfigError, match=r"^cannot reach the Ray cluster at ray://127.0.0.1:1: Connection refused$"):
        ray_engine.probe_address("ray://127.0.0.1:1")
    assert not (tmp_path / "v").exists()


FAULT_HOOK = '''
import os
from pathlib import Path

def crash_once():
    """In every worker: the first shard written anywhere kills its worker process right after writing."""
    from m2vcli.encoding import ray_engine
    original = ray_engine.ShardWriter.__call__
    marker = Path(os.environ["M2V_TEST_MARKER"])

    def call(self, batch):
        out = original(self, batch)
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return out
        os.close(fd)
        os._exit(1)  # the worker dies after its shard is written, before Ray hears of it

    ray_engine.ShardWriter.__call__ = call
'''

FAULT_DRIVER = """
import os, sys
import ray
from m2vcli.encoding import EncodeConfig, Engine
from m2vcli.encoding.ray_engine import encode_with_ray
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
         runtime_env={"worker_process_setup_hook": "m2v_fault_hook.crash_once",
                      "env_vars": {k: os.environ[k] for k in ("PYTHONPATH", "M2V_TEST_MARKER")}})
model, src, out = sys.argv[1:]
print(encode_with_ray(EncodeConfig(model=model, input=src, output=out, engine=Engine.ray, batch_size=250)).rows)
"""


def test_a_worker_that_dies_is_retried_and_the_output_is_whole(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "m2v_fault_hook.py").write_text(FAULT_HOOK)
    lines = texts(2000, seed=2)
    src = tmp_path / "in.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "vectors"
    marker = tmp_path / "crashed"
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}:{root}", M2V_TEST_MARKER=str(marker), RAY_USAGE_STATS_ENABLED="0")
    proc = subprocess.run(
        [sys.executable, "-c", FAULT_DRIVER, str(tiny_model_dir), str(src), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert marker.exists()  # a worker did die
    assert proc.stdout.split()[-1] == "2000"
    table, vectors = read_output(out)
    assert table.column("row").to_pylist() == list(range(2000))  # the retried shard was written once
    np.testing.assert_array_equal(vectors, StaticEmbedder.from_pretrained(tiny_model_dir).encode(lines))


def leftovers(tag: str) -> list[int]:
    """Processes still running that were started by the run whose environment holds ``tag``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and tag.encode() in (entry / "environ").read_bytes()
                and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize(
    ("stop", "when"), [(signal.SIGINT, "mid-job"), (signal.SIGTERM, "mid-job"), (signal.SIGTERM, "starting")]
)
def test_a_stop_signal_leaves_no_output_and_no_process(
    stop: signal.Signals, when: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts(400_000, seed=3)) + "\n", encoding="utf-8")
    out = tmp_path / "vectors"
    tag = f"M2V_TEST_RUN={tmp_path.name}-{when}-{int(stop)}"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", M2V_TEST_RUN=tag.split("=", 1)[1])
    cmd = [sys.executable, "-m", "m2vcli", "encode", "-m", str(tiny_model_dir), "--engine", "ray", str(src)]
    proc = subprocess.Popen([*cmd, "-o", str(out), "--batch-size", "2000"], stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    shards: list[Path] = []
    if when == "starting":  # while ray.init runs: its processes are up, the job is not
        while time.monotonic() < deadline and len(leftovers(tag)) < 3 and proc.poll() is None:
            time.sleep(0.05)
    while when == "mid-job" and time.monotonic() < deadline and not shards and proc.poll() is None:
        time.sleep(0.2)
        shards = [s for p in tmp_path.glob(".vectors.*") for s in p.glob("part-*.parquet")]
    assert proc.poll() is None and (shards or when == "starting"), "the job did not get there in time"
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + stop, err.decode()
    assert err.decode().strip().splitlines()[-1] in ("Interrupted.", "Terminated."), err.decode()
    assert not out.exists()
    assert not list(tmp_path.glob(".vectors.*"))  # the half-built folder is gone
    assert leftovers(tag) == []  # Ray's agents too: nothing this run started outlives it


def test_an_error_in_a_worker_is_told_in_one_line(local_ray: None, tmp_path: Path) -> None:
    from m2vcli.errors import OutputError
    from m2vcli.model import StaticEmbedder
    from tests.helpers import tiny_model, tiny_tokenizer

    model = tiny_model()
    table = model.embeddings.copy()
    table[model.tokenizer.token_to_id("dog")] = 1e6  # beyond float16 once averaged
    StaticEmbedder(table, tiny_tokenizer().to_str(), config={"normalize": False}).save_pretrained(tmp_path / "m")
    (tmp_path / "in.txt").write_text("hello\nthe dog\n")
    with pytest.raises(OutputError) as caught:
        run(tmp_path / "m", str(tmp_path / "in.txt"), tmp_path / "out", dtype="float16")
    message = str(caught.value)
    assert message.startswith("vector 2 holds 500001") and "\n" not in message and "\x1b" not in message
    assert not (tmp_path / "out").exists()
