"""How faithfully static models reproduce their teacher's similarities, with no labels needed.

For random pairs of texts, the Spearman correlation (x 100) between the teacher's cosine and each
static model's cosine: 1,000 pairs of movie-review sentences and 300 pairs of BBC News articles (seeded).

Usage: python benchmarks/teacher_fidelity.py NAME=MODEL_DIR [NAME=MODEL_DIR ...] [--teacher DIR]
The teacher defaults to the packaged all-MiniLM-L6-v2. Each folder may be an m2v or a model2vec model.
"""

from __future__ import annotations

import sys

import numpy as np

from m2vcli import StaticEmbedder
from m2vcli.packaged_data import bbc_news, movie_review_sentences


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def pair_cosines(vectors: np.ndarray) -> np.ndarray:
    """Cosine of row i with row i + n/2: the first half paired with the second."""
    half = len(vectors) // 2
    normed = unit(vectors)
    return (normed[:half] * normed[half : 2 * half]).sum(1)


def text_sets() -> dict[str, list[str]]:
    articles, _, _ = bbc_news()
    chosen = np.random.default_rng(3).choice(len(articles), 600, replace=False)
    return {"sentences": movie_review_sentences(2000, seed=7), "bbc_articles": [articles[i] for i in chosen]}


def main() -> None:
    from scipy.stats import spearmanr
    from sentence_transformers import SentenceTransformer

    from m2vcli.teacher import packaged_teacher

    args = sys.argv[1:]
    teacher_path = str(packaged_teacher().path)
    if "--teacher" in args:
        at = args.index("--teacher")
        teacher_path = args[at + 1]
        del args[at : at + 2]
    models = dict(arg.split("=", 1) for arg in args)
    teacher = SentenceTransformer(teacher_path, device="cpu")
    sets = text_sets()
    print("| model | " + " | ".join(sets) + " |")
    print("|---|" + "---|" * len(sets))
    reference = {name: pair_cosines(teacher.encode(texts, batch_size=32)) for name, texts in sets.items()}
    for name, folder in models.items():
        model = StaticEmbedder.from_pretrained(folder)
        row = [
            100 * spearmanr(reference[set_name], pair_cosines(model.encode(texts))).statistic
            for set_name, texts in sets.items()
        ]
        print(f"| {name} | " + " | ".join(f"{value:.2f}" for value in row) + " |")


if __name__ == "__main__":
    main()
