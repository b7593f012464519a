"""The result categories: a leaderboard's columns, and which category a task counts in. A leaf: task
modules and the registry both import it."""

from __future__ import annotations

from enum import Enum
from typing import Any


class Category(str, Enum):
    """A leaderboard column: MTEB's task types (abbreviated as in the seed's table), then PEARL, WordSim
    and WordClust (word-level clustering of concept categories)."""

    CLASS = "Class"
    CLUST = "Clust"
    PAIR_CLASS = "PairClass"
    RANK = "Rank"
    RET = "Ret"
    STS = "STS"
    SUM = "Sum"
    PEARL = "PEARL"
    WORDSIM = "WordSim"
    WORDCLUST = "WordClust"

    @property
    def is_mteb(self) -> bool:
        """True for the seven MTEB categories that make up Avg (MTEB)."""
        return self not in (Category.PEARL, Category.WORDSIM, Category.WORDCLUST)

    @classmethod
    def of_mteb_type(cls, task_type: str) -> Category | None:
        """The category of an MTEB task type, or None for a type outside the seed's table.

        >>> Category.of_mteb_type("PairClassification"), Category.of_mteb_type("BitextMining")
        (<Category.PAIR_CLASS: 'PairClass'>, None)
        """
        return _MTEB_TYPES.get(task_type)


_MTEB_TYPES = {
    "Classification": Category.CLASS,
    "Clustering": Category.CLUST,
    "PairClassification": Category.PAIR_CLASS,
    "Reranking": Category.RANK,
    "Retrieval": Category.RET,
    "STS": Category.STS,
    "Summarization": Category.SUM,
}


def category_of(task: Any) -> str:
    """The leaderboard category of a task: m2v's own tasks say it, MTEB's follow their type."""
    own = getattr(task, "m2v_category", None)
    if own is not None:
        return str(Category(own).value)
    known = Category.of_mteb_type(task.metadata.type)
    return known.value if known is not None else str(task.metadata.type)
