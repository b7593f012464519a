#!/usr/bin/env bash
# Distill the packaged teacher into a static model, then encode a few sentences with it.
# Usage: bash examples/quickstart.sh [WORK_DIR]
set -euo pipefail
work="${1:-$(mktemp -d)}"
mkdir -p "$work"

m2v distill --save-path "$work/my_model"

printf '%s\n' "It's dangerous to go alone!" "It's a secret to everyone." "" > "$work/sentences.txt"
m2v encode --model "$work/my_model" < "$work/sentences.txt" > "$work/vectors.npy"
m2v encode --model "$work/my_model" "$work/sentences.txt" -o "$work/vectors.jsonl"

python - "$work/vectors.npy" <<'PY'
import sys
import numpy as np
vectors = np.load(sys.argv[1])
print(f"{vectors.shape[0]} vectors of {vectors.shape[1]} dims; cosine(1, 2) = {vectors[0] @ vectors[1]:.3f}")
PY
