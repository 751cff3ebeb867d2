"""Keeping erased customers out of the search index, whatever the indexer is given to write.

An erasure deletes the customer from MongoDB and leaves a receipt in ``erasures``
(:mod:`app.erasure_records`). The delete event removes it from the index, and the backend's
versioned tombstone stops older events from bringing it back, but only while that tombstone
lasts: a reindex builds a fresh generation without it, and Elasticsearch forgets deletes after
``index.gc_deletes``. Then a replayed insert event (whose ``fullDocument`` is the inserted
document itself, from the oplog), an indexer resumed from an older checkpoint, or a customer
restored into MongoDB from a backup would index it again. So every write path consults the
receipts first (:class:`Tombstones`):

- the sync loop and a repair (:meth:`Tombstones.screen`): an Upsert of an erased id becomes a
  Delete at the same version;
- the reindex copy (:meth:`Tombstones.drop_erased`): an erased id is not loaded.

The cost: one ``$in`` read on the receipts' ``_id`` per batch, only for the ids the batch would
upsert (none for deletes). On the embedded server it costs ~40-50 µs an id, found or not, ~50 ms
for a batch of 1,000 (``scripts/bench_erasure.py``). Skipping it while there is no receipt at
all was tried and measured worse: the embedded server counts a collection by reading it (5.5 s
instead of 0.7 s a batch at 100,000 receipts), and ``find_one({})`` scans too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.erasure_records import erased_among
from indexers.backends.base import Delete, Upsert
from indexers.documents import SearchDoc

__all__ = ["Tombstones"]


class Tombstones:
    """The erasure receipts of ``database``, as the indexer's write paths consult them."""

    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self.database = database

    async def screen(self, ops: list[Upsert | Delete]) -> list[Upsert | Delete]:
        """``ops`` with every Upsert of an erased customer turned into a Delete (same
        version)."""
        erased = await self._erased(op.id for op in ops if isinstance(op, Upsert))
        if not erased:
            return ops
        return [
            Delete(op.id, op.version) if isinstance(op, Upsert) and op.id in erased else op
            for op in ops
        ]

    async def drop_erased(self, docs: Sequence[SearchDoc]) -> list[SearchDoc]:
        """``docs`` without the erased customers (a page of the reindex copy)."""
        erased = await self._erased(doc.id for doc in docs)
        return [doc for doc in docs if doc.id not in erased] if erased else list(docs)

    async def _erased(self, ids: Iterable[str]) -> set[str]:
        return await erased_among(self.database, ids)
