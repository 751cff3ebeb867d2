"""Reading what an export writes: every matching customer once, in ``_id`` order, a page at a time.

Consistency: one cursor walks the ``_id`` index (hinted, so the server streams it in order
instead of sorting the result first), with the filters applied by the server. ``_id`` never
changes, so the walk meets each stored customer once: a customer created or deleted while an
export runs is in the file once or not at all, never twice. The index a filter would pick
instead (``deleted_at`` + ``_id``, say) can move a document that changes ahead of the cursor,
and an offset shifts under every create and delete; neither can repeat a customer here. If the
cursor is lost (a slow client let it time out, a failover), the walk resumes after the last
``_id`` written: a keyset cursor, never an offset.

Constant memory: the cursor hands over ``page`` documents at a time, and a page is written and
dropped before the next is read.

``q`` is matched by MongoDB with the customer list's own rule (the same compiled filter as a
list MongoDB answers): the search index pages by offset and has no ``_id`` order to resume
from, so it could not give a consistent walk.

On the embedded server (SecantusDB) the first page waits until the server has read every
candidate (about 14 s per 100,000 customers on a loaded two-core machine, measured): it does
not stream an index walk, and it ignores ``limit`` when planning, so paging with
``_id > last ... limit n`` would read the rest of the collection for every page.

What a customer carries follows ``with_deleted``: without it, only live addresses and live
memberships of live groups (what the API shows); with it, everything stored (a full restore).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo.errors import CursorNotFound

from app.entities import CUSTOMER, GROUP
from app.service.mongo import all_of, live
from app.service.store import RawDoc, Store

__all__ = ["PAGE", "CustomerPage", "customer_pages", "group_pages"]

PAGE = 1_000  # customers per page (and per cursor batch): ~0.5 MB of JSONL
_ID_INDEX = "_id_"  # MongoDB's name of the ``_id`` index
MAX_CURSOR_LOSSES = 3  # lost cursors in a row (no page in between) before the export fails

log = logging.getLogger(__name__)

_KEPT_INTERNAL = ("merged_into", "provenance")  # internal fields an export (a restore) keeps
_PROJECTION = {
    **{f.path: 1 for f in CUSTOMER.stored if not f.internal or f.name in _KEPT_INTERNAL},
    **{r.name: 1 for r in CUSTOMER.relations if r.embeds is not None},
}
_GROUP_PROJECTION = {f.path: 1 for f in GROUP.stored if not f.internal}


@dataclass
class CustomerPage:
    """One page of customers (stored documents, ``_id`` ascending, their addresses and
    memberships already limited to what the export shows) and the groups they belong to."""

    customers: list[RawDoc]
    groups: Mapping[str, RawDoc] = field(default_factory=dict)


async def group_pages(store: Store, *, with_deleted: bool) -> AsyncGenerator[list[RawDoc], None]:
    """Every group (live ones unless ``with_deleted``), ``_id`` ascending, a page at a time
    (groups are few: plain keyset pages)."""
    after: str | None = None
    while True:
        span = {} if after is None else {"_id": {"$gt": after}}
        docs = (
            await store.groups.find(all_of(live(with_deleted), span), _GROUP_PROJECTION)
            .sort("_id", 1)
            .limit(PAGE)
            .to_list()
        )
        if docs:
            yield docs
        if len(docs) < PAGE:
            return
        after = docs[-1]["_id"]


async def customer_pages(
    store: Store, query: dict[str, Any], *, with_deleted: bool, page: int = PAGE
) -> AsyncGenerator[CustomerPage, None]:
    """The customers matching ``query`` (a MongoDB query: the compiled filters, soft-deleted
    customers already excluded unless ``with_deleted``), ``page`` at a time."""
    after: str | None = None
    losses = 0  # cursors lost in a row without a page written in between
    while True:
        span = {} if after is None else {"_id": {"$gt": after}}
        cursor = store.customers.find(all_of(query, span), _PROJECTION, batch_size=page)
        cursor = cursor.sort("_id", 1).hint(_ID_INDEX)
        docs: list[RawDoc] = []
        try:
            async for doc in cursor:
                docs.append(doc)
                if len(docs) == page:
                    yield await _page(store, docs, with_deleted=with_deleted)
                    after, docs, losses = docs[-1]["_id"], [], 0
            if docs:
                yield await _page(store, docs, with_deleted=with_deleted)
            return
        except CursorNotFound:
            losses += 1
            if losses > MAX_CURSOR_LOSSES:
                raise
            log.info("export cursor lost; resuming after the last customer written")
        finally:
            await cursor.close()


async def _page(store: Store, docs: list[RawDoc], *, with_deleted: bool) -> CustomerPage:
    """``docs`` as the export shows them, with the groups their memberships name."""
    if not with_deleted:
        for doc in docs:
            doc["addresses"] = [a for a in doc.get("addresses", []) if a.get("deleted_at") is None]
            doc["groups"] = [m for m in doc.get("groups", []) if m.get("deleted_at") is None]
    group_ids = sorted({m["customer_group_id"] for doc in docs for m in doc.get("groups", [])})
    groups: dict[str, RawDoc] = {}
    if group_ids:
        found = store.groups.find(
            all_of({"_id": {"$in": group_ids}}, live(with_deleted)), _GROUP_PROJECTION
        )
        groups = {g["_id"]: g for g in await found.to_list()}
    if not with_deleted:  # a membership of a deleted group is hidden, as the API hides it
        for doc in docs:
            doc["groups"] = [m for m in doc["groups"] if m["customer_group_id"] in groups]
    return CustomerPage(docs, groups)
