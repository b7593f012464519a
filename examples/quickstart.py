"""Distill the packaged teacher and use the static model from Python.

Usage: python examples/quickstart.py [WORK_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from m2vcli import StaticEmbedder, distill


def main(work: Path) -> None:
    distilled = distill(save_path=str(work / "my_model"), pca_dims=256)
    print(f"distilled {distilled.vocab_size:,} tokens to {distilled.dim} dims")

    model = StaticEmbedder.from_pretrained(work / "my_model")
    vectors = model.encode(["It's dangerous to go alone!", "It's a secret to everyone.", "I like pizza."])
    print("shape:", vectors.shape)
    print("similarity of the first sentence to the others:", (vectors[0] @ vectors[1:].T).round(3).tolist())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
