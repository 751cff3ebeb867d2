"""Migrations of stored documents, run when a service connects: idempotent and resumable.

One so far: :func:`add_q_terms` gives every customer, address and group stored before the
``q_terms`` field existed (or with terms derived by an older definition) the terms
``app.service.documents.q_terms`` derives, which MongoDB's ``q`` queries. Its state is one
document in ``migrations``: the last ``_id`` done per collection while it runs (a restart
continues from there), ``done_at`` once it finished, so a start with nothing left to do costs
one read of that document.

One conditional update per document that needs terms (its own and its embedded ones'), in
unordered batches. Concurrent writers are safe without a lock: an update only lands while the
document's ``version`` is the one read (every service write raises it; the migration does
not, so ETags do not change); a document changed meanwhile is read again and derived again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import CursorNotFound

from app.entities import CUSTOMER, ENTITIES, GROUP, Entity
from app.entities.values import utcnow
from app.service.documents import q_terms
from app.service.store import CAS_RETRIES, RawDoc, Store, backoff

__all__ = ["Q_TERMS", "add_q_terms"]

log = logging.getLogger("customers.migrations")

Q_TERMS = "q_terms:1"
"""The migration's id in ``migrations``: a new definition of the terms gets a new id."""
BATCH = 500
"""Documents read and written per round trip."""
_ID_INDEX = "_id_"  # MongoDB's name of the ``_id`` index


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
    """One collection, in ``_id`` order from ``after``, recording progress after each batch.

    One cursor walks the ``_id`` index (hinted): the embedded server reads every match of a
    query before it applies a limit, so a new ``_id > last … limit n`` query per batch
    would read the rest of the collection again for every batch (quadratic: measured at about
    25 documents/s at 100,000 customers). ``_id`` never changes, so the walk meets each
    document once while the service writes beside it.
    """
    total = await collection.estimated_document_count()  # for the progress lines only
    while True:
        try:
            return await _walk(entity, collection, state_of, after, batch, total)
        except CursorNotFound:  # the walk resumes after the last batch it recorded
            state = await state_of.find_one({"_id": Q_TERMS})
            after = (state or {}).get(entity.name)


async def _walk(
    entity: Entity,
    collection: AsyncCollection[RawDoc],
    state_of: AsyncCollection[RawDoc],
    after: Any,
    batch: int,
    total: int,
) -> int:
    """Derive terms along one cursor from ``after``; how many documents were read."""
    seen = updated = 0
    query = {} if after is None else {"_id": {"$gt": after}}
    cursor = collection.find(query, _projection(entity), batch_size=batch)
    cursor = cursor.sort("_id", 1).hint(_ID_INDEX)
    docs: list[RawDoc] = []
    try:
        async for doc in cursor:
            docs.append(doc)
            if len(docs) < batch:
                continue
            updated += await _write(entity, collection, docs)
            await _progress(state_of, entity, docs[-1]["_id"])
            seen += len(docs)
            log.info("q terms: %s %d of about %d, %d updated", entity.name, seen, total, updated)
            docs = []
    finally:
        await cursor.close()
    if docs:
        await _write(entity, collection, docs)
        await _progress(state_of, entity, docs[-1]["_id"])
    return seen + len(docs)


async def _progress(state_of: AsyncCollection[RawDoc], entity: Entity, last: Any) -> None:
    """Record the last ``_id`` done, so that a restart continues after it."""
    await state_of.update_one({"_id": Q_TERMS}, {"$set": {entity.name: last}}, upsert=True)


async def _write(entity: Entity, collection: AsyncCollection[RawDoc], docs: list[RawDoc]) -> int:
    """Give ``docs`` their terms; those changed since they were read are read again."""
    written = 0
    for attempt in range(CAS_RETRIES):
        updates = {doc["_id"]: update for doc in docs if (update := _update(entity, doc))}
        if not updates:
            return written
        result = await collection.bulk_write(list(updates.values()), ordered=False)
        written += result.modified_count
        if result.matched_count == len(updates):
            return written
        query = {"_id": {"$in": list(updates)}}
        docs = await collection.find(query, _projection(entity)).to_list()
        await backoff(attempt)
    log.warning("q terms: %d %s documents kept changing, left as they are", len(docs), entity.name)
    return written


def _projection(entity: Entity) -> dict[str, int]:
    """What deriving the terms reads: the searched values and the stored terms, also of the
    embedded documents that have terms (a customer's addresses)."""
    out = {path: 1 for path in (*_searched(entity), "version")}
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


def _update(entity: Entity, doc: Mapping[str, Any]) -> UpdateOne | None:
    """The update a document needs (its own terms, each embedded document's), conditional on
    its ``version``; ``None`` when its terms are right."""
    assert entity.q_terms is not None
    changes: dict[str, Any] = {}
    terms = q_terms(entity, doc)
    if doc.get(entity.q_terms) != terms:
        changes[entity.q_terms] = terms
    for name, embedded in _embedded(entity):
        assert embedded.q_terms is not None
        for at, item in enumerate(doc.get(name) or ()):
            terms = q_terms(embedded, item)
            if item.get(embedded.q_terms) != terms:
                changes[f"{name}.{at}.{embedded.q_terms}"] = terms
    if not changes:
        return None
    return UpdateOne({"_id": doc["_id"], "version": doc.get("version")}, {"$set": changes})
