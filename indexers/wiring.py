"""The search index's read side, with read-your-writes, as the service is given it.

:func:`search_reader` builds the :class:`IndexReader` that :mod:`app.bootstrap` passes to the
service. Its ``freshness`` hook waits, before every index-served read, until everything
committed before the read is applied and searchable
(:meth:`indexers.sync.Indexer.wait_until_applied`: the in-process indexer's position, or the
position another process's indexer saved in the state document).

If the index cannot catch up in time (no indexer running, a reindex in progress, the backend
down) the read is *not* served stale: the hook raises ``NotServable`` and the service answers
from MongoDB, the correctness baseline. After such a miss the index is skipped for a short
cool-down, so a stopped indexer costs one wait, not one per request.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from indexers.backends.base import SearchBackend
from indexers.query import NotServable
from indexers.reader import IndexReader
from indexers.state import IndexerState
from indexers.sync import Indexer, probe_head, wait_for_position

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["Freshness", "search_reader"]

log = logging.getLogger("customers.search")

FRESHNESS_TIMEOUT = 1.0  # seconds a read waits for the indexer before MongoDB answers it
COOL_DOWN = 5.0  # seconds the index is skipped after it failed to catch up


class Freshness:
    """The read-your-writes hook: wait for the indexer, or refuse (→ MongoDB)."""

    def __init__(
        self,
        database: Any,
        *,
        name: str = "customers",
        indexer: Indexer | None = None,
        timeout: float = FRESHNESS_TIMEOUT,
    ) -> None:
        self.database = database
        self.state = IndexerState(database, name)
        self.indexer = indexer
        self.timeout = timeout
        self._skip_until = 0.0

    async def __call__(self) -> None:
        if time.monotonic() < self._skip_until:
            raise NotServable("the index is behind; MongoDB answers for now")
        if self.indexer is not None:
            fresh = await self.indexer.wait_until_applied(self.timeout)
        else:
            head = await probe_head(self.database)
            fresh = await wait_for_position(self.state, head, self.timeout)
        if not fresh:
            self._skip_until = time.monotonic() + COOL_DOWN
            log.warning("search index did not catch up within %.1fs; using MongoDB", self.timeout)
            raise NotServable("the index did not catch up in time")


def search_reader(
    database: AsyncDatabase[dict[str, Any]],
    backend: SearchBackend,
    *,
    indexer: Indexer | None = None,
    name: str = "customers",
) -> IndexReader:
    """The reader that serves customer lists and ranked lookups from ``backend``."""
    return IndexReader(backend, freshness=Freshness(database, name=name, indexer=indexer))
