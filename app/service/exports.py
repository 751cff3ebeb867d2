"""Reading what an export writes: every matching customer once, a window of ``_id`` at a time.

Consistency: customers are read in ``_id`` order, one *window* of ids after the other, and a
window starts after the last id of the one before (a keyset cursor, never an offset). Each
stored id falls in exactly one window, so a customer created or deleted while an export runs
is written once or not at all, never twice; an offset would shift under those writes and
repeat or skip customers.

Bounded work per call: a window is at most ``window`` consecutive ids, found on the ``_id``
index alone, and the customers matching the filters are then read within that id range only.
So a selective filter (a ``q``, a small group) never makes one MongoDB call walk the whole
collection looking for a page of matches: the embedded server holds a storage lock while it
reads a query's candidates, blocking every other operation (see
:data:`app.service.admission.SECANTUSDB_SCAN_LIMIT`). Without filters a window *is* the page,
read in one call.

``q`` is matched by MongoDB, window by window, with the customer list's own rule (the same
compiled filter as a list answered by MongoDB): the search index pages by offset and has no
``_id`` range, so it could not give a consistent cursor.

What a customer carries follows ``with_deleted``: without it, only live addresses and live
memberships of live groups (what the API shows); with it, everything stored (a full restore).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.entities import CUSTOMER, GROUP
from app.service.mongo import all_of, live
from app.service.store import RawDoc, Store

__all__ = ["WINDOW", "CustomerPage", "customer_pages", "group_pages"]

WINDOW = 1_000  # customer ids per window: one page of the export, ~0.5 MB of JSONL

_KEPT_INTERNAL = ("merged_into", "provenance")  # internal fields an export (a restore) keeps
_PROJECTION = {
    **{f.path: 1 for f in CUSTOMER.stored if not f.internal or f.name in _KEPT_INTERNAL},
    **{r.name: 1 for r in CUSTOMER.relations if r.embeds is not None},
}
_GROUP_PROJECTION = {f.path: 1 for f in GROUP.stored if not f.internal}


@dataclass
class CustomerPage:
    """One window's customers (stored documents, ``_id`` ascending, their addresses and
    memberships already limited to what the export shows) and the groups they belong to."""

    customers: list[RawDoc]
    groups: Mapping[str, RawDoc] = field(default_factory=dict)
    scanned: int = 0  # ids the window covered (matching or not), for progress


async def group_pages(store: Store, *, with_deleted: bool) -> AsyncIterator[list[RawDoc]]:
    """Every group (live ones unless ``with_deleted``), ``_id`` ascending, a window at a time."""
    after: str | None = None
    while True:
        span = {} if after is None else {"_id": {"$gt": after}}
        docs = (
            await store.groups.find(all_of(live(with_deleted), span), _GROUP_PROJECTION)
            .sort("_id", 1)
            .limit(WINDOW)
            .to_list()
        )
        if docs:
            yield docs
        if len(docs) < WINDOW:
            return
        after = docs[-1]["_id"]


async def customer_pages(
    store: Store, query: dict[str, Any], *, with_deleted: bool, window: int = WINDOW
) -> AsyncIterator[CustomerPage]:
    """The customers matching ``query`` (a MongoDB query: the compiled filters, soft-deleted
    customers already excluded unless ``with_deleted``), a window at a time."""
    dense = query.keys() <= {"deleted_at"}  # no filter but liveness: a window is the page
    after: str | None = None
    while True:
        if dense:
            docs = await _read(store, query, after, None, window)
            scanned, upper = len(docs), (docs[-1]["_id"] if docs else None)
        else:
            scanned, upper = await _window(store, after, window)
            docs = [] if upper is None else await _read(store, query, after, upper, None)
        if docs or scanned:
            yield await _page(store, docs, scanned, with_deleted=with_deleted)
        if scanned < window or upper is None:
            return
        after = upper


async def _window(store: Store, after: str | None, window: int) -> tuple[int, str | None]:
    """How many ids the window after ``after`` holds (at most ``window``) and its last id."""
    span = {} if after is None else {"_id": {"$gt": after}}
    ids = await store.customers.find(span, {"_id": 1}).sort("_id", 1).limit(window).to_list()
    return len(ids), (ids[-1]["_id"] if ids else None)


async def _read(
    store: Store, query: dict[str, Any], after: str | None, upper: str | None, limit: int | None
) -> list[RawDoc]:
    """The customers matching ``query`` with ``after < _id <= upper`` (either bound open)."""
    bounds: dict[str, str] = {}
    if after is not None:
        bounds["$gt"] = after
    if upper is not None:
        bounds["$lte"] = upper
    cursor = store.customers.find(all_of(query, {"_id": bounds} if bounds else {}), _PROJECTION)
    cursor = cursor.sort("_id", 1)
    if limit is not None:
        cursor = cursor.limit(limit)
    return await cursor.to_list()


async def _page(
    store: Store, docs: list[RawDoc], scanned: int, *, with_deleted: bool
) -> CustomerPage:
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
    return CustomerPage(docs, groups, scanned)
