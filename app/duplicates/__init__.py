"""Duplicate detection: normalisers, blocking keys, pair scores with reasons, clusters.

Pure (no I/O): the service (:mod:`app.service.methods.duplicates`) reads customers and feeds
them here. ``normalize`` holds plain functions other features may reuse (e.g. merging).
"""

from app.duplicates.blocking import blocking_keys
from app.duplicates.clusters import Cluster, ScoredPair, cluster_pairs
from app.duplicates.profile import PROJECTION, DetectionOptions, Profile, profile_of
from app.duplicates.scan import score_candidates, scored_pairs
from app.duplicates.scoring import DEFAULT_MIN_SCORE, Match, score_pair

__all__ = [
    "DEFAULT_MIN_SCORE",
    "PROJECTION",
    "Cluster",
    "DetectionOptions",
    "Match",
    "Profile",
    "ScoredPair",
    "blocking_keys",
    "cluster_pairs",
    "profile_of",
    "score_candidates",
    "score_pair",
    "scored_pairs",
]
