"""``m2v encode --engine ray --address auto`` joins a Ray cluster started with ``ray start --head``.

Apart from test_encode_ray.py: ``ray stop`` ends every Ray process on the machine, so no other Ray session
of the tests may be alive when it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder

pytest.importorskip("ray", reason="the ray extra: pip install -e '.[ray]'")
pytestmark = pytest.mark.subprocess


def test_address_auto_joins_a_running_cluster_and_leaves_it_running(tiny_model_dir: Path, tmp_path: Path) -> None:
    ray_cli = str(Path(sys.executable).parent / "ray")
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    start = [ray_cli, "start", "--head", "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"]
    started = subprocess.run(start, capture_output=True, text=True, env=env, timeout=180)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        rng = np.random.default_rng(4)
        words = ["the", "cat", "sat", "on", "mat", "dog", "hello", "world"]
        lines = [" ".join(rng.choice(words, size=rng.integers(0, 9))) for _ in range(500)]
        src = tmp_path / "in.txt"
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out = tmp_path / "vectors"
        encode = [sys.executable, "-m", "m2vcli", "encode", "-m", str(tiny_model_dir), "--engine", "ray"]
        proc = subprocess.run(
            [*encode, str(src), "-o", str(out), "--address", "auto"],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stderr.strip() == f"Encoded 500 texts to 8-dim vectors in {out} (Parquet shards)."
        own = subprocess.run(  # no --address: a Ray of its own, although a cluster runs here and is named
            [*encode, str(src), "-o", str(tmp_path / "own")],
            capture_output=True,
            text=True,
            env=dict(env, RAY_ADDRESS="auto"),
            timeout=180,
        )
        assert own.returncode == 0, own.stderr[-2000:]
        again = subprocess.run(  # the jobs before left the cluster running: this one joins it too
            [*encode, str(src), "-o", str(tmp_path / "again"), "--address", "auto"],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )
        assert again.returncode == 0, again.stderr[-2000:]
        import pyarrow.parquet as pq

        table = pq.read_table(out)
        order = np.argsort(table.column("row").to_numpy())
        vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False))[order]
        np.testing.assert_array_equal(vectors, StaticEmbedder.from_pretrained(tiny_model_dir).encode(lines))
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, env=env, timeout=120)
