"""Clusters: duplicate pairs joined transitively (union-find). Pure.

If A duplicates B and B duplicates C, the three are one cluster, even when A and C alone score
low (an old email on one record, a new phone on another). A cluster's score is the lowest score
among the pairs that link it (its weakest link: how sure the whole cluster is); its reasons are
those of its pairs. Clusters come sorted by score, highest first, then by their first id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Cluster", "ScoredPair", "cluster_pairs"]


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """Two customer ids, their score and its reasons."""

    a: str
    b: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cluster:
    """Customers that are one person: ids sorted, the weakest link's score, every reason."""

    customer_ids: tuple[str, ...]
    score: float
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """``{"customer_ids": [...], "score": S, "reasons": [...]}`` (one JSON Lines line)."""
        return {
            "customer_ids": list(self.customer_ids),
            "score": self.score,
            "reasons": list(self.reasons),
        }


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        while parent != item:  # path halving
            grand = self.parent[parent]
            self.parent[item] = grand
            item, parent = parent, self.parent[grand]
        return item

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def cluster_pairs(pairs: Iterable[ScoredPair], min_score: float) -> list[Cluster]:
    """The clusters of the pairs scoring ``min_score`` or more."""
    kept = [pair for pair in pairs if pair.score >= min_score]
    sets = _UnionFind()
    for pair in kept:
        sets.union(pair.a, pair.b)
    members: dict[str, set[str]] = {}
    scores: dict[str, float] = {}
    reasons: dict[str, dict[str, None]] = {}
    for pair in kept:
        root = sets.find(pair.a)
        members.setdefault(root, set()).update((pair.a, pair.b))
        scores[root] = min(scores.get(root, 1.0), pair.score)
        reasons.setdefault(root, {}).update(dict.fromkeys(pair.reasons))
    clusters = [
        Cluster(tuple(sorted(ids)), scores[root], tuple(reasons[root]))
        for root, ids in members.items()
    ]
    clusters.sort(key=lambda c: (-c.score, c.customer_ids[0]))
    return clusters
