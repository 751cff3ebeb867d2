"""Migrations of stored documents, run when a service connects: idempotent and resumable.

One so far: :func:`add_q_terms` gives every customer, address and group stored before the
``q_terms`` field existed (or with terms derived by an older definition) the terms
``app.service.documents.q_terms`` derives, which MongoDB's ``q`` queries. Its state is one
document in ``migrations``: the last ``_id`` done per collection while it runs (a restart
continues from there), ``done_at`` once it finished, so a start with nothing left to do costs
one read of that document.

Concurrent writers are safe without a lock: each update is conditional on the searched
values the terms were derived from (not on ``version``, which the migration leaves alone, so
ETags do not change), and any write of those values by the service derives the terms itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from app.entities import CUSTOMER, ENTITIES, GROUP, Entity
from app.entities.values import utcnow
from app.service.documents import q_terms
from app.service.store import RawDoc, Store

__all__ = ["Q_TERMS", "add_q_terms"]

log = logging.getLogger("customers.migrations")

Q_TERMS = "q_terms:1"
"""The migration's id in ``migrations``: a new definition of the terms gets a new id."""
BATCH = 500
"""Documents read and written per round trip."""


async def add_q_terms(store: Store, *, batch: int = BATCH) -> int:
    """Derive the ``q`` terms of every document that lacks them or holds others; return how
    many documents were read (0: already done)."""
    state_of = store.database["migrations"]
    state = await state_of.find_one({"_id": Q_TERMS})
    if state is not None and state.get("done_at") is not None:
        return 0
    seen, started = 0, time.monotonic()
    for entity, collection in ((CUSTOMER, store.customers), (GROUP, store.groups)):
        seen += await _migrate(entity, collection, state_of, (state or {}).get(entity.name), batch)
    await state_of.update_one({"_id": Q_TERMS}, {"$set": {"done_at": utcnow()}}, upsert=True)
    elapsed = time.monotonic() - started
    log.info("q terms: migration done, %d documents read in %.1f s", seen, elapsed)
    return seen


async def _migrate(
    entity: Entity,
    collection: AsyncCollection[RawDoc],
    state_of: AsyncCollection[RawDoc],
    after: Any,
    batch: int,
) -> int:
    """One collection, in ``_id`` order from ``after``, recording progress after each batch."""
    total = await collection.estimated_document_count()
    seen = 0
    while True:
        query = {} if after is None else {"_id": {"$gt": after}}
        docs = await collection.find(query, _projection(entity)).sort("_id", 1).to_list(batch)
        if not docs:
            return seen
        updates = [update for doc in docs for update in _updates(entity, doc)]
        if updates:
            await collection.bulk_write(updates, ordered=False)
        after = docs[-1]["_id"]
        await state_of.update_one({"_id": Q_TERMS}, {"$set": {entity.name: after}}, upsert=True)
        seen += len(docs)
        log.info("q terms: %s %d of about %d, %d updated", entity.name, seen, total, len(updates))


def _projection(entity: Entity) -> dict[str, int]:
    """What deriving the terms reads: the searched values and the stored terms, also of the
    embedded documents that have terms (a customer's addresses)."""
    out = {path: 1 for path in _searched(entity)}
    for name, embedded in _embedded(entity):
        out.update({f"{name}.{path}": 1 for path in ("id", *_searched(embedded))})
    return out


def _searched(entity: Entity) -> tuple[str, ...]:
    """The stored paths the terms are derived from, and the terms' own."""
    assert entity.q_terms is not None
    return (*(entity.field(name).path for name in entity.q_fields), entity.q_terms)


def _embedded(entity: Entity) -> Iterator[tuple[str, Entity]]:
    """The embedded relations whose documents carry terms of their own."""
    for relation in entity.relations:
        if relation.embeds is not None and ENTITIES[relation.embeds].q_terms is not None:
            yield relation.name, ENTITIES[relation.embeds]


def _unchanged(entity: Entity, doc: Mapping[str, Any]) -> dict[str, Any]:
    """A condition that holds while the values the terms derive from are still ``doc``'s
    (``None`` matches a missing field as well as null)."""
    return {entity.field(name).path: doc.get(entity.field(name).path) for name in entity.q_fields}


def _updates(entity: Entity, doc: Mapping[str, Any]) -> Iterator[UpdateOne]:
    """The updates a document needs: its own terms, those of each embedded document."""
    assert entity.q_terms is not None
    terms = q_terms(entity, doc)
    if doc.get(entity.q_terms) != terms:
        where = {"_id": doc["_id"], **_unchanged(entity, doc)}
        yield UpdateOne(where, {"$set": {entity.q_terms: terms}})
    for name, embedded in _embedded(entity):
        assert embedded.q_terms is not None
        for item in doc.get(name) or ():
            terms = q_terms(embedded, item)
            if item.get(embedded.q_terms) != terms:
                match = {"id": item["id"], **_unchanged(embedded, item)}
                where = {"_id": doc["_id"], name: {"$elemMatch": match}}
                yield UpdateOne(where, {"$set": {f"{name}.$.{embedded.q_terms}": terms}})
