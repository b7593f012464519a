"""One huge input line: wall time and peak memory of encoding it, ``m2v encode`` against model2vec 0.10.

The line is movie-review sentences joined by spaces up to ``--mb`` megabytes (default 200). Both sides
encode it with a 512-token limit, each in a fresh process under GNU time, alternating; the line is read
from a file by both. m2v cuts a long text in characters before tokenizing (see
``m2vcli.model.tokenization.TokenIds``); model2vec cuts it to 512 times its median token length.

Usage: python benchmarks/long_line.py MODEL_DIR [--mb 200] [--repeats 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from distill_speed import alternate, print_ratios


def make_line(path: Path, megabytes: int) -> None:
    from m2vcli.packaged_data import movie_review_sentences

    chunk = " ".join(movie_review_sentences(20_000, seed=0)).replace("\n", " ") + " "
    size = megabytes * 1_000_000
    with path.open("w", encoding="utf-8") as handle:
        written = 0
        while written < size:
            piece = chunk[: size - written]
            handle.write(piece)
            written += len(piece)
        handle.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    line = work / "line.txt"
    make_line(line, args.mb)
    ours = [sys.executable, "-m", "m2vcli", "encode", "-m", args.model, str(line), "-o", str(work / "ours.npy")]
    ref_code = (
        "import sys\nimport numpy as np\nfrom model2vec import StaticModel\n"
        "m = StaticModel.from_pretrained(sys.argv[1])\n"
        "text = open(sys.argv[2], encoding='utf-8').read().rstrip('\\n')\n"
        "np.save(sys.argv[3], m.encode([text], max_length=512))\n"
    )
    ref = [sys.executable, "-c", ref_code, args.model, str(line), str(work / "ref.npy")]
    med = alternate({"m2v": ours, "model2vec": ref}, args.repeats)
    print(f"{args.mb} MB line, median of {args.repeats}:")
    for name, (wall, mib) in med.items():
        print(f"  {name:10s} wall {wall:.2f} s, peak {mib:,.0f} MiB")
    print_ratios(med)


if __name__ == "__main__":
    main()
