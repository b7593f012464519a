"""A fresh process for ``m2v bench``: load one model, encode one text, report, then encode the corpus
and report the peak memory. Usage: python -m m2vcli.benchmark.worker KIND PATH CORPUS_FILE BATCH_SIZE
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def peak_mib() -> float:
    """This process's peak resident memory. ``VmHWM`` is reset by exec; ``ru_maxrss`` is not, so it would
    report the parent's peak instead."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    from m2vcli.adapters import Encoder, load_folder

    kind, path, corpus, batch_size = Encoder(argv[0]), Path(argv[1]), Path(argv[2]), int(argv[3])
    texts = corpus.read_text(encoding="utf-8").split("\n")
    model = load_folder(path.name, path, kind, batch_size)
    model.encode(texts[:1])
    print("first-vector", flush=True)
    model.encode(texts)
    print(json.dumps({"peak_mib": peak_mib()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
