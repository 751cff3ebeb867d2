"""Attach the search index to a running service: the read side, with read-your-writes.

``attach_search(service, backend, indexer=...)`` gives the service an :class:`IndexReader` whose
``freshness`` hook waits, before every index-served read, until everything committed before the
read is applied and searchable (:class:`indexers.freshness.Freshness`: the in-process
indexer's position, or the position another process's indexer saved in the state document);
if it cannot catch up in time, MongoDB answers the read instead, never the stale index.
"""

from __future__ import annotations

from typing import Any

from indexers.backends.base import SearchBackend
from indexers.freshness import Freshness
from indexers.reader import IndexReader
from indexers.sync import Indexer

__all__ = ["Freshness", "attach_search"]


def attach_search(
    service: Any,
    backend: SearchBackend,
    *,
    indexer: Indexer | None = None,
    name: str = "customers",
) -> IndexReader:
    """Serve the service's customer lists and ranked lookups from ``backend``."""
    from app.service.queries import make_resolver

    freshness = Freshness(service.database, name=name, indexer=indexer)
    resolve = make_resolver(service.store, with_deleted=False)
    reader = IndexReader(backend, freshness=freshness, resolve=resolve)
    service.index = reader
    return reader
