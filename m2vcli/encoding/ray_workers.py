"""What runs on Ray's workers for ``m2v encode --engine ray``: the model shipped once through the object
store and loaded once per actor, ``ShardWriter`` (each batch encoded and written as a Parquet shard from the
worker) and ``encode_dataset`` (a vector column for a user's own ``ray.data.Dataset``). Importing this
module does not import ray."""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from m2vcli.encoding.vector_io import VectorDType, narrowed, vector_table
from m2vcli.errors import ConfigError
from m2vcli.extras import install_hint, require
from m2vcli.texts import filesystem, is_uri

RAY_BATCH_SIZE = 8192  # texts per read block, batch and output shard: large enough to hide Ray's per-task costs
MODEL_BYTES_LIMIT = 4 << 30  # a static model folder shipped through the object store


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or a one-line error saying how to install it."""
    require("ray", "--engine ray")
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ConfigError(f"Ray Data cannot be imported: {install_hint('ray')} (it pins ray[data]==2.60.0)") from exc
    return ray


# ----- the model on the workers ---------------------------------------------------------------------


def model_files(folder: Path) -> dict[str, bytes]:
    """The files of a model folder (see ``m2vcli.model.persistence.resolve_model_folder``), to ship."""
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            total += path.stat().st_size
            if total > MODEL_BYTES_LIMIT:
                raise ConfigError(f"model {folder} holds more than {MODEL_BYTES_LIMIT >> 30} GiB of files")
            files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def load_shipped(files: Any) -> Any:
    """Write shipped model files to a private temporary folder on this worker and load them."""
    from m2vcli.model import StaticEmbedder

    with tempfile.TemporaryDirectory(prefix="m2v-model-") as folder:
        for name, data in files.items():
            path = Path(folder, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return StaticEmbedder.from_pretrained(folder)


@dataclass(frozen=True)
class Options:
    normalize: bool | None
    max_length: int | None  # 0: no limit
    dtype: VectorDType
    text_column: str = "text"
    output_column: str = "vector"


class _Encoder:
    """Holds one model per actor: loaded once, when the actor starts."""

    def __init__(self, files: Any, options: Options) -> None:
        import ray

        shipped = ray.get(files[0]) if isinstance(files, list) else files  # [ref]: fetched here, once
        os.environ.setdefault("RAYON_NUM_THREADS", "1")  # the actor has one CPU: no tokenizer threads to spare
        self.model = load_shipped(shipped)
        self.options = options
        limit = options.max_length
        self.max_length = None if limit == 0 else (limit or self.model.max_length)

    def vectors(self, texts: list[str], first_row: int = 0) -> Any:
        encoded = self.model.encode(
            texts, batch_size=len(texts) or 1, normalize=self.options.normalize, max_length=self.max_length
        )
        return narrowed(encoded, self.options.dtype, first_row)


class ShardWriter(_Encoder):
    """Encodes a batch and writes it as one Parquet shard; returns one row saying what it wrote."""

    def __init__(self, files: Any, options: Options, folder: str) -> None:
        super().__init__(files, options)
        self.folder = folder

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        texts = batch.column("text").to_pylist()
        ids = batch.column("id").to_pylist() if "id" in batch.column_names else None
        rows = batch.column("row").to_pylist()
        files = batch.column("file").to_pylist()
        table = vector_table(self.vectors(texts, rows[0] if rows else 0), rows, ids)
        table = table.add_column(0, "file", pa.array(files, pa.int32()))
        name = f"part-{files[0]:05d}-{rows[0]:012d}.parquet" if rows else f"part-empty-{uuid.uuid4().hex}.parquet"
        final = f"{self.folder}/{name}"
        partial = f"{self.folder}/.{name}.{uuid.uuid4().hex[:8]}.partial"
        if is_uri(self.folder):
            fs, _ = filesystem(self.folder)
            inner = lambda p: filesystem(p)[1]  # noqa: E731
            pq.write_table(table, inner(partial), filesystem=fs)
            fs.move(inner(partial), inner(final))
        else:
            pq.write_table(table, partial)
            os.replace(partial, final)
        return pa.table({"shard": [name], "rows": [len(texts)]})


class VectorAdder(_Encoder):
    """Adds a vector column (a fixed-size list) to each batch."""

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        texts = batch.column(self.options.text_column).to_pylist()
        values = self.vectors(texts)
        flat = pa.array(values.reshape(-1))
        return batch.append_column(self.options.output_column, pa.FixedSizeListArray.from_arrays(flat, values.shape[1]))


def encode_dataset(
    dataset: Any,
    model: str,
    *,
    column: str = "text",
    output_column: str = "vector",
    batch_size: int = RAY_BATCH_SIZE,
    concurrency: int | None = None,
    normalize: bool | None = None,
    max_length: int | None = None,
    dtype: VectorDType | str = VectorDType.float32,
) -> Any:
    """``dataset`` (a ``ray.data.Dataset`` with a text column) with a vector column added, computed by
    actors that each load ``model`` once (a folder or hub id, shipped from here through the object store).

    Lazy, as Ray Data is: nothing runs until the dataset is consumed or written.
    """
    ray = import_ray()
    from m2vcli.model.persistence import resolve_model_folder

    files = ray.put(model_files(resolve_model_folder(model)))
    options = Options(normalize, max_length, VectorDType(dtype), column, output_column)
    return dataset.map_batches(
        VectorAdder,
        fn_constructor_kwargs={"files": [files], "options": options},
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=concurrency or cpus(ray)),
        num_cpus=1,
    )


def cpus(ray: Any) -> int:
    """The CPUs of the cluster Ray is connected to (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
