"""Where an erasure leaves, and looks for, traces outside the customer document.

Two collections are shared by the service and the sync indexer, so their names live here,
below both (neither imports the other):

- ``erasures``: one receipt per erased customer, ``{_id: customer id, erased_at, by}``, and
  nothing personal. The service writes it in the same transaction that deletes the customer;
  the indexer consults it (:func:`erased_among`) before it writes a customer into the search
  index, so nothing can bring an erased customer back: not a replayed change event, not an
  indexer resumed from an older checkpoint, not a reindex copy (whose fresh generation has
  none of the old one's delete tombstones; Elasticsearch also forgets its own after
  ``index.gc_deletes``, 60 s by default), not a MongoDB backup restored with the customer in it.
- ``indexer_dead_letters``: the documents the search backend refused, kept by the indexer;
  their reasons may quote the customer, so an erasure removes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["DEAD_LETTERS_COLLECTION", "ERASURES_COLLECTION", "erased_among"]

ERASURES_COLLECTION = "erasures"
DEAD_LETTERS_COLLECTION = "indexer_dead_letters"


async def erased_among(database: AsyncDatabase[Any], ids: Iterable[str]) -> set[str]:
    """The ids among ``ids`` that were erased: one ``$in`` read on the receipts' ``_id``."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return set()
    receipts = database[ERASURES_COLLECTION].find({"_id": {"$in": wanted}}, {"_id": 1})
    return {doc["_id"] async for doc in receipts}
