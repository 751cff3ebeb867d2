"""What a sync indexer reports about itself: counters and a health snapshot.

The counters are saved in the state document with each checkpoint (``customers index
status`` shows them); the snapshot feeds the Prometheus metrics (:mod:`indexers.metrics`) and
the readiness check (:mod:`indexers.health`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["IndexerHealth", "IndexerStats"]


@dataclass
class IndexerStats:
    """Health counters (also saved in the state document with each checkpoint)."""

    applied: int = 0  # ops sent to the backend
    upserts: int = 0
    deletes: int = 0
    dead_letters: int = 0
    retries: int = 0  # backend attempts that failed and were retried
    batches: int = 0
    checkpoints: int = 0
    reindexes: int = 0
    history_lost: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class IndexerHealth:
    """What one indexer reports about itself right now (metrics, readiness)."""

    active: bool  # holds the lease and runs the sync loop
    caught_up: bool  # the last read found the end of the change stream
    lag_seconds: float | None  # age of the oldest change not yet applied; None: not active
    pending_events: int  # change events read from the stream and not yet applied
    checkpoint_age_seconds: float | None  # since the resume token was last saved (any process)
    reindex_copied: int | None  # documents copied by the running reindex, None when none runs
    reindex_total: int | None  # documents it expects to copy
    stats: IndexerStats
