"""Customer groups and memberships.

Group names are unique among live groups (a partial unique index). Memberships are embedded in
the customers as a set: adding an existing membership is a no-op that returns it (one of our
differences from Medusa, see the README).
Hard-deleting groups removes their memberships and the groups in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from app import errors
from app.entities import GROUP, MEMBERSHIP
from app.entities.values import utcnow
from app.service.documents import changes, new_document
from app.service.etags import IfMatch, check_tag
from app.service.inputs import CreateGroup, GroupPair, UpdateGroup
from app.service.mongo import duplicate_key
from app.service.store import CAS_RETRIES, RawDoc, Store, backoff, find_by_ids

__all__ = [
    "add_members",
    "create",
    "hard_delete",
    "remove_members",
    "restore",
    "soft_delete",
    "update",
]


def _translate(exc: PyMongoError) -> Exception:
    key = duplicate_key(exc)
    if key is None:
        return exc
    if "_id" in key:
        return errors.InvalidData(
            f"Customer group with id: {errors.quote(key['_id'])}, already exists."
        )
    return errors.duplicate_group_name(str(key.get("name")))


async def create(store: Store, items: list[CreateGroup]) -> list[RawDoc]:
    """Insert groups; a batch is all-or-nothing (a null or missing name is refused)."""
    now = utcnow()
    docs = [new_document(GROUP, item.model_dump(), now) for item in items]
    try:
        await store.insert_all(store.groups, docs)
    except PyMongoError as exc:
        raise _translate(exc) from None
    return docs


async def _cas(
    store: Store,
    group_id: str,
    mutate: Callable[[RawDoc], RawDoc],
    session: AsyncClientSession | None = None,
) -> RawDoc:
    """Read a group, change it (``mutate(doc)``: the ``$set`` fields; it may raise) and write
    it back only if its ``version`` is unchanged, retrying lost races (``mutate`` runs again
    on the winner's version)."""
    for attempt in range(CAS_RETRIES):
        doc = await store.groups.find_one({"_id": group_id}, session=session)
        if doc is None:
            raise errors.missing_ids("CustomerGroup", [group_id])
        version = doc.get("version", 0)
        update = {**mutate(doc), "version": version + 1}
        try:
            result = await store.groups.update_one(
                {"_id": group_id, "version": version}, {"$set": update}, session=session
            )
        except PyMongoError as exc:
            raise _translate(exc) from None
        if result.matched_count:
            doc.update(update)
            return doc
        await backoff(attempt)
    raise errors.Conflict(f"CustomerGroup with id: {group_id} is being changed concurrently")


async def update(
    store: Store, ids: list[str], data: UpdateGroup, *, if_match: IfMatch = None
) -> list[RawDoc]:
    """Update live groups by id; all of them or none. ``if_match``: the ETag of the one group
    changed, compared in the same compare-and-set."""
    found = await store.groups.find({"_id": {"$in": ids}, "deleted_at": None}, {"_id": 1}).to_list()
    known = {doc["_id"] for doc in found}
    missing = [i for i in ids if i not in known]
    if missing:
        raise errors.missing_ids("CustomerGroup", missing)

    def change(doc: RawDoc) -> RawDoc:
        check_tag(GROUP, doc, if_match)
        return {**changes(GROUP, doc, data), "updated_at": utcnow()}

    if len(ids) == 1:
        return [await _cas(store, ids[0], change)]

    async def apply(session: AsyncClientSession) -> list[RawDoc]:
        return [await _cas(store, group_id, change, session) for group_id in ids]

    return await store.transaction(apply)


async def soft_delete(store: Store, ids: list[str], *, if_match: IfMatch = None) -> None:
    """Soft-delete groups; their memberships stay but are hidden until a restore. With
    ``if_match`` (one id), a compare-and-set that checks the group's ETag first."""
    if if_match is not None:
        await _delete_tagged(store, ids[0], if_match)
    elif ids:
        await store.groups.update_many(
            {"_id": {"$in": ids}, "deleted_at": None},
            {"$set": {"deleted_at": utcnow()}, "$inc": {"version": 1}},
        )


async def _delete_tagged(store: Store, group_id: str, if_match: IfMatch) -> None:
    def deletion(doc: RawDoc) -> RawDoc:
        if doc.get("deleted_at") is not None:
            raise errors.missing_ids("CustomerGroup", [group_id])
        check_tag(GROUP, doc, if_match)
        return {"deleted_at": utcnow()}

    await _cas(store, group_id, deletion)


async def restore(store: Store, ids: list[str]) -> None:
    """Restore soft-deleted groups (a name reused meanwhile is a duplicate error)."""
    if not ids:
        return

    async def apply(session: AsyncClientSession | None) -> None:
        try:
            await store.groups.update_many(
                {"_id": {"$in": ids}, "deleted_at": {"$ne": None}},
                {"$set": {"deleted_at": None}, "$inc": {"version": 1}},
                session=session,
            )
        except PyMongoError as exc:
            raise _translate(exc) from None

    if len(ids) == 1:
        await apply(None)
    else:
        await store.transaction(apply)


async def hard_delete(store: Store, ids: list[str]) -> None:
    """Delete groups and every membership in them, in one transaction."""
    if not ids:
        return

    async def apply(session: AsyncClientSession) -> None:
        await store.customers.update_many(
            {"groups.customer_group_id": {"$in": ids}},
            {"$pull": {"groups": {"customer_group_id": {"$in": ids}}}, "$inc": {"version": 1}},
            session=session,
        )
        await store.groups.delete_many({"_id": {"$in": ids}}, session=session)

    await store.transaction(apply)


# --- memberships ---------------------------------------------------------------------------


async def _check_groups(store: Store, pairs: list[GroupPair]) -> None:
    group_ids = sorted({p.customer_group_id for p in pairs})
    found = await store.groups.find(
        {"_id": {"$in": group_ids}, "deleted_at": None}, {"_id": 1}
    ).to_list()
    known = {g["_id"] for g in found}
    for pair in pairs:
        if pair.customer_group_id not in known:
            raise errors.relationship_not_found("customer_group_id", pair.customer_group_id)


def _membership_out(customer_id: str, membership: Mapping[str, Any]) -> RawDoc:
    return {"customer_id": customer_id, **membership}


async def add_members(store: Store, pairs: list[GroupPair]) -> list[RawDoc]:
    """Add memberships (a set: an existing one is returned as it is).

    Every id is checked before anything is written. One pair: one atomic conditional
    ``$push``. Several: one read per 50 of their customers
    (:func:`~app.service.store.find_by_ids`) and one bulk write of one conditional ``$push``
    per customer (all of its new memberships), whatever the number of pairs
    (:func:`_add_many`). A push only lands on a customer that has none of the groups it adds,
    so concurrent adds of the same pair never create a duplicate. Adding is idempotent, so a
    batch that fails midway is completed by calling it again.
    """
    await _check_groups(store, pairs)
    now = utcnow()
    if len(pairs) == 1:
        return [await _add_one(store, pairs[0], now)]
    return await _add_many(store, pairs, now)


async def _add_one(store: Store, pair: GroupPair, now: datetime) -> RawDoc:
    """One membership: a conditional push, and a read only when it was there already."""
    membership = new_document(MEMBERSHIP, pair.model_dump(), now)
    pushed = await store.customers.update_one(
        {"_id": pair.customer_id, "groups.customer_group_id": {"$ne": pair.customer_group_id}},
        {"$push": {"groups": membership}, "$inc": {"version": 1}},
    )
    if pushed.modified_count:
        return _membership_out(pair.customer_id, membership)
    doc = await store.customers.find_one({"_id": pair.customer_id}, {"groups": 1})
    existing = _memberships(doc or {}).get(pair.customer_group_id)
    if existing is None:  # no such customer (or deleted in between)
        raise errors.relationship_not_found("customer_id", pair.customer_id)
    return _membership_out(pair.customer_id, existing)


def _memberships(doc: Mapping[str, Any]) -> dict[str, RawDoc]:
    """A customer's memberships by group id."""
    return {m["customer_group_id"]: m for m in doc.get("groups", [])}


async def _add_many(store: Store, pairs: list[GroupPair], now: datetime) -> list[RawDoc]:
    """Several memberships: read the customers, push what each lacks in one bulk write.

    A push that did not land (a concurrent add or removal changed the customer's groups
    since the read) sends the whole round again: the pairs added meanwhile are then found
    as existing.
    """
    customer_ids = sorted({p.customer_id for p in pairs})
    for attempt in range(CAS_RETRIES):
        found = await find_by_ids(store.customers, customer_ids, {"groups": 1})
        held = {doc["_id"]: _memberships(doc) for doc in found}
        for pair in pairs:
            if pair.customer_id not in held:
                raise errors.relationship_not_found("customer_id", pair.customer_id)
        new: dict[str, dict[str, RawDoc]] = {}
        for pair in pairs:
            if pair.customer_group_id not in held[pair.customer_id]:
                membership = new_document(MEMBERSHIP, pair.model_dump(), now)
                new.setdefault(pair.customer_id, {})[pair.customer_group_id] = membership
        if await _push_all(store, new):
            for customer_id, added in new.items():
                held[customer_id].update(added)
            return [
                _membership_out(p.customer_id, held[p.customer_id][p.customer_group_id])
                for p in pairs
            ]
        await backoff(attempt)
    raise errors.Conflict("Customer groups are being changed concurrently; try again.")


async def _push_all(store: Store, new: Mapping[str, Mapping[str, RawDoc]]) -> bool:
    """Push each customer's new memberships, only where it still has none of those groups;
    whether every push landed."""
    if not new:
        return True
    writes = [
        UpdateOne(
            {"_id": customer_id, "groups.customer_group_id": {"$nin": list(added)}},
            {"$push": {"groups": {"$each": list(added.values())}}, "$inc": {"version": 1}},
        )
        for customer_id, added in new.items()
    ]
    result = await store.customers.bulk_write(writes, ordered=False)
    return result.modified_count == len(writes)


async def remove_members(store: Store, pairs: list[GroupPair]) -> None:
    """Remove memberships in one bulk write (one round trip, not one per pair); a pair that
    is not a member is a no-op, so a failure midway is repaired by calling it again."""
    if not pairs:
        return
    writes = [
        UpdateOne(
            {"_id": pair.customer_id, "groups.customer_group_id": pair.customer_group_id},
            {
                "$pull": {"groups": {"customer_group_id": pair.customer_group_id}},
                "$inc": {"version": 1},
            },
        )
        for pair in pairs
    ]
    await store.customers.bulk_write(writes, ordered=False)
