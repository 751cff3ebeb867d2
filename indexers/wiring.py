"""The search index's read side, with read-your-writes, as the service is given it.

:func:`search_reader` builds the :class:`IndexReader` that :mod:`app.bootstrap` passes to the
service. Its ``freshness`` hook waits, before every index-served read, until everything
committed before the read is applied and searchable
(:class:`indexers.freshness.Freshness`: the in-process indexer's position, or the position
another process's indexer saved in the state document).

If the index cannot catch up in time (no indexer running, a reindex in progress, the backend
down) the read is *not* served stale: the hook raises ``NotServable`` and the service answers
from MongoDB, the correctness baseline. After such a miss the index is skipped for a short
cool-down, so a stopped indexer costs one wait, not one per request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from indexers.backends.base import SearchBackend
from indexers.freshness import Freshness
from indexers.reader import IndexReader
from indexers.sync import Indexer

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["Freshness", "search_reader"]


def search_reader(
    database: AsyncDatabase[dict[str, Any]],
    backend: SearchBackend,
    *,
    indexer: Indexer | None = None,
    name: str = "customers",
) -> IndexReader:
    """The reader that serves customer lists and ranked lookups from ``backend``."""
    freshness = Freshness(database, name=name, indexer=indexer)
    return IndexReader(backend, freshness=freshness, settle=freshness.applied)
