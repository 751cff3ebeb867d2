"""Keeping erased customers out of the search index, whatever the indexer is given to write.

An erasure deletes the customer from MongoDB and leaves a receipt in ``erasures``
(:mod:`app.erasure_records`). The delete event removes it from the index, and the backend's
versioned tombstone stops older events from bringing it back, but only while that tombstone
lasts: a reindex builds a fresh generation without it, and Elasticsearch forgets deletes after
``index.gc_deletes``. Then a replayed insert event (whose ``fullDocument`` is the inserted
document itself, from the oplog), an indexer resumed from an older checkpoint, or a customer
restored into MongoDB from a backup would index it again. So every write path consults the
receipts first:

- the sync loop and a repair (:func:`screen`): an Upsert of an erased id becomes a Delete at the
  same version;
- the reindex copy (:func:`drop_erased`): an erased id is not loaded.

The cost stays off the common path: one ``$in`` read on the receipts' ``_id`` per batch, only
for the ids the batch would upsert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.erasure_records import erased_among
from indexers.backends.base import Delete, Upsert
from indexers.documents import SearchDoc

__all__ = ["drop_erased", "screen"]


async def screen(database: AsyncDatabase[Any], ops: list[Upsert | Delete]) -> list[Upsert | Delete]:
    """``ops`` with every Upsert of an erased customer turned into a Delete (same version)."""
    upserted = [op.id for op in ops if isinstance(op, Upsert)]
    erased = await erased_among(database, upserted)
    if not erased:
        return ops
    return [
        Delete(op.id, op.version) if isinstance(op, Upsert) and op.id in erased else op
        for op in ops
    ]


async def drop_erased(database: AsyncDatabase[Any], docs: Sequence[SearchDoc]) -> list[SearchDoc]:
    """``docs`` without the erased customers (the reindex copy's page)."""
    erased = await erased_among(database, (doc.id for doc in docs))
    return [doc for doc in docs if doc.id not in erased]
