"""Quality of static models on the offline data: WordSim353 and SimLex-999 (Spearman x 100), IMDB and
Rotten Tomatoes (logistic-regression accuracy x 100, seeded 80/20 split).

Usage: python benchmarks/distill_quality.py NAME=MODEL_DIR [NAME=MODEL_DIR ...]
Each folder may be an m2v or a model2vec model; both are read by m2v's loader, so the numbers compare
the vectors, not the encoders.
"""

from __future__ import annotations

import sys

from m2vcli import StaticEmbedder
from m2vcli.offline_data import reviews, split, word_pairs
from m2vcli.scoring import classification_accuracy, word_similarity


def scores(folder: str) -> dict[str, float]:
    model = StaticEmbedder.from_pretrained(folder)
    out = {name: 100 * word_similarity(model.encode, word_pairs(name)) for name in ("wordsim353", "simlex999")}
    for source in ("imdb", "rotten_tomatoes"):
        texts, labels = reviews(source)
        train, test = split(len(texts))
        out[source] = 100 * classification_accuracy(model.encode, texts, labels, train, test)
    return out


def main() -> None:
    models = dict(arg.split("=", 1) for arg in sys.argv[1:])
    rows = {name: scores(folder) for name, folder in models.items()}
    columns = ["wordsim353", "simlex999", "imdb", "rotten_tomatoes"]
    print("| model | " + " | ".join(columns) + " | mean |")
    print("|---|" + "---|" * (len(columns) + 1))
    for name, row in rows.items():
        values = [row[c] for c in columns]
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {sum(values) / len(values):.2f} |")


if __name__ == "__main__":
    main()
