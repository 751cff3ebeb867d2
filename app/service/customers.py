"""Customers: create, read, update, soft/hard delete and restore.

A customer document embeds its addresses and memberships (see ``app.models``). Single-customer
writes are one compare-and-set update on ``version``; writes that span several customers run
in a transaction, so a failure leaves no partial state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from app import errors
from app.entities import ADDRESS, CUSTOMER
from app.entities.values import utcnow
from app.service import identities, merging
from app.service.documents import changes, new_document
from app.service.etags import IfMatch, check_tag
from app.service.inputs import CreateCustomer, UpdateCustomer
from app.service.mongo import duplicate_key
from app.service.rules import check_one_default_per_kind
from app.service.store import (
    CAS_RETRIES,
    RawDoc,
    Store,
    backoff,
    check_document_size,
    find_by_ids,
)

__all__ = [
    "cas_update",
    "cas_update_many",
    "create",
    "create_account",
    "hard_delete",
    "new_address_doc",
    "restore",
    "soft_delete",
    "translate_duplicate",
    "update",
]


def new_address_doc(data: Mapping[str, Any], customer_id: str, now: datetime) -> RawDoc:
    """The stored form of a new address of ``customer_id`` from its validated input."""
    return new_document(ADDRESS, {**data, "customer_id": customer_id}, now)


def new_customer_doc(data: CreateCustomer, now: datetime) -> RawDoc:
    """The stored form of a new customer, with its nested addresses."""
    values = data.model_dump()
    customer_id = values["id"] = values["id"] or CUSTOMER.new_id()
    addresses = [new_address_doc(a, customer_id, now) for a in values["addresses"]]
    check_one_default_per_kind(customer_id, addresses)
    return new_document(CUSTOMER, {**values, "addresses": addresses}, now)


def translate_duplicate(exc: PyMongoError) -> errors.CustomerModuleError | None:
    """Medusa's message for a duplicate-key failure on ``customers``, else ``None``."""
    key = duplicate_key(exc)
    if key is None:
        return None
    if "_id" in key:
        return errors.InvalidData(f"Customer with id: {errors.quote(key['_id'])}, already exists.")
    return errors.duplicate_customer_email(key.get("email"), bool(key.get("has_account")))


CREATE_CHUNK = 250
"""Customers of a batch built (in a worker thread) while the chunk before them is written."""


def _built(items: list[CreateCustomer], now: datetime) -> list[RawDoc]:
    """The stored documents of ``items``, each within the document size limit."""
    docs = [new_customer_doc(item, now) for item in items]
    for doc in docs:
        check_document_size(doc)
    return docs


async def create(store: Store, items: list[CreateCustomer]) -> list[RawDoc]:
    """Insert customers (and their addresses); a batch is all-or-nothing.

    A batch larger than :data:`CREATE_CHUNK` is written chunk by chunk in one transaction,
    and each chunk's documents are built in a worker thread while the previous chunk is being
    written: building (ids, ``q`` terms) is about a third of a batch's time and the server's
    work the rest, so overlapping them keeps both the process and the server busy. A failure
    in any chunk (a duplicate, a document too large) aborts the transaction: nothing is kept.
    """
    now = utcnow()
    if len(items) <= CREATE_CHUNK:
        docs = _built(items, now)
        try:
            await store.insert_all(store.customers, docs)
        except PyMongoError as exc:
            raise (translate_duplicate(exc) or exc) from None
        return docs
    chunks = [items[i : i + CREATE_CHUNK] for i in range(0, len(items), CREATE_CHUNK)]

    async def insert(session: AsyncClientSession) -> list[RawDoc]:
        written: list[RawDoc] = []
        ready = _built(chunks[0], now)
        for following in [*chunks[1:], None]:
            writing = store.customers.insert_many(ready, ordered=True, session=session)
            building = asyncio.to_thread(_built, following, now) if following else _nothing()
            _, next_ready = await asyncio.gather(writing, building)
            written.extend(ready)
            ready = next_ready
        return written

    try:
        return await store.transaction(insert)
    except PyMongoError as exc:
        raise (translate_duplicate(exc) or exc) from None


async def _nothing() -> list[RawDoc]:
    return []


async def create_account(
    store: Store, item: CreateCustomer, auth_identity_id: str, *, link_guest: bool = False
) -> RawDoc:
    """Register a customer (``has_account``) for an auth identity: customer and link together.

    One transaction, so a failure leaves neither; the identity's unique link makes the second
    of two racing registrations fail. The email rule is checked first, as Medusa does. With
    ``link_guest``, the live guest with the same email is merged into the new account in the
    same transaction. Returns the account as stored.
    """
    doc = new_customer_doc(item.model_copy(update={"has_account": True}), utcnow())

    async def insert(session: AsyncClientSession) -> RawDoc:
        try:
            await store.customers.insert_one(doc, session=session)
        except PyMongoError as exc:
            if "email" in (duplicate_key(exc) or {}):
                raise errors.account_exists() from None
            raise (translate_duplicate(exc) or exc) from None
        await identities.link(store, auth_identity_id, doc["_id"], session=session)
        if link_guest:
            return await merging.link_guest(store, dict(doc), session=session)
        return doc

    return await store.transaction(insert)


async def cas_update(
    store: Store,
    customer_id: str,
    mutate: Any,
    *,
    session: AsyncClientSession | None = None,
    missing: errors.CustomerModuleError | None = None,
) -> RawDoc | None:
    """Read, change in Python and write back one customer, retrying lost races.

    ``mutate(doc)`` returns the ``$set`` fields (or ``None`` for "nothing to do") and may raise.
    The write only lands if ``version`` is unchanged, so concurrent writers never overwrite
    each other's address or membership changes. Returns the new document.
    """
    for attempt in range(CAS_RETRIES):
        doc = await store.customers.find_one({"_id": customer_id}, session=session)
        if doc is None:
            if missing is not None:
                raise missing
            return None
        changes = mutate(doc)
        if not changes:
            return doc
        version = doc.get("version", 0)
        changes["version"] = version + 1
        check_document_size({**doc, **changes}, doc)
        try:
            result = await store.customers.update_one(
                {"_id": customer_id, "version": version}, {"$set": changes}, session=session
            )
        except PyMongoError as exc:
            raise (translate_duplicate(exc) or exc) from None
        if result.matched_count:
            doc.update(changes)
            return doc
        await backoff(attempt)
    raise errors.Conflict(f"Customer with id: {customer_id} is being changed concurrently")


async def cas_update_many(
    store: Store,
    customer_ids: list[str],
    mutate: Callable[[RawDoc], RawDoc | None],
    session: AsyncClientSession,
    missing: Callable[[list[str]], errors.CustomerModuleError],
    *,
    where: Mapping[str, Any] | None = None,
) -> list[RawDoc]:
    """:func:`cas_update` for several customers inside the transaction ``session``: one read
    per 50 of them (:func:`~app.service.store.find_by_ids`), then one bulk write of one
    compare-and-set update per changed customer.

    Three round trips with the commit up to 50 customers, one more per 50 beyond (one read
    and one write per customer before). ``missing(ids)`` is raised, before anything is
    written, when some customers do not exist (or do not match ``where``). A customer
    changed by someone else since the read makes the transaction fail as a write conflict,
    which :meth:`Store.transaction` retries; a version that still does not match is a conflict
    error, never a lost update.
    """
    found = await find_by_ids(store.customers, customer_ids, where=where, session=session)
    docs = {doc["_id"]: doc for doc in found}
    absent = [i for i in customer_ids if i not in docs]
    if absent:
        raise missing(absent)
    writes: list[UpdateOne] = []
    for customer_id in dict.fromkeys(customer_ids):  # an id given twice is changed once
        doc = docs[customer_id]
        changes = mutate(doc)
        if not changes:
            continue
        version = doc.get("version", 0)
        changes["version"] = version + 1
        check_document_size({**doc, **changes}, doc)
        writes.append(UpdateOne({"_id": customer_id, "version": version}, {"$set": changes}))
        doc.update(changes)
    if writes:
        try:
            result = await store.customers.bulk_write(writes, ordered=False, session=session)
        except PyMongoError as exc:
            raise (translate_duplicate(exc) or exc) from None
        if result.matched_count != len(writes):
            raise errors.Conflict("Customers are being changed concurrently; try again.")
    return [docs[i] for i in customer_ids]


def customer_changes(doc: Mapping[str, Any], data: UpdateCustomer, now: datetime) -> RawDoc:
    """The ``$set`` fields of an ``update_customers`` call on ``doc``."""
    return {**changes(CUSTOMER, doc, data), "updated_at": now}


async def update(
    store: Store, ids: list[str], data: UpdateCustomer, *, if_match: IfMatch = None
) -> list[RawDoc]:
    """Update live customers by id; all of them or none (several ids: one transaction).
    ``if_match``: the ETag the change is based on (one id), compared in the same CAS.

    One id: a read and a compare-and-set write (a ``findAndModify`` would be one round trip,
    but the embedded server answers it with a collection scan). Several: the read, one bulk
    write and the commit (:func:`cas_update_many`).
    """
    now = utcnow()

    def changes(doc: RawDoc) -> RawDoc:
        if doc.get("deleted_at") is not None:
            raise errors.missing_ids("Customer", [doc["_id"]])
        check_tag(CUSTOMER, doc, if_match)
        return customer_changes(doc, data, now)

    if len(ids) == 1:
        not_found = errors.missing_ids("Customer", ids)
        doc = await cas_update(store, ids[0], changes, missing=not_found)
        return [doc] if doc is not None else []  # never None: a missing customer raises

    def live_changes(doc: RawDoc) -> RawDoc:
        return customer_changes(doc, data, now)

    def missing(absent: list[str]) -> errors.CustomerModuleError:
        return errors.missing_ids("Customer", absent)  # every missing id at once

    async def apply(session: AsyncClientSession) -> list[RawDoc]:
        live = {"deleted_at": None}
        return await cas_update_many(store, ids, live_changes, session, missing, where=live)

    return await store.transaction(apply)


async def soft_delete(store: Store, ids: list[str], *, if_match: IfMatch = None) -> None:
    """Soft-delete customers and, with the same timestamp, their live addresses; then remove
    their identity links (their identities may register again; a restore does not link again).

    One ``update_many``: idempotent, so a failure midway is repaired by calling it again (a
    link left behind is harmless, see :mod:`app.service.identities`). Memberships are left
    alone; reads hide them while the customer is deleted. With ``if_match`` (one id), the
    same change is one compare-and-set that checks the customer's ETag first.
    """
    if not ids:
        return
    now = utcnow()
    if if_match is not None:
        missing = errors.missing_ids("Customer", ids)
        await cas_update(store, ids[0], lambda doc: _deletion(doc, now, if_match), missing=missing)
        await identities.unlink_customers(store, ids)
        return
    await store.customers.update_many(
        {"_id": {"$in": ids}, "deleted_at": None},
        {
            "$set": {"deleted_at": now, "addresses.$[a].deleted_at": now},
            "$inc": {"version": 1},
        },
        array_filters=[{"a.deleted_at": None}],
    )
    await identities.unlink_customers(store, ids)


def _deletion(doc: RawDoc, now: datetime, if_match: IfMatch) -> RawDoc:
    """The soft delete of one live customer whose ETag ``if_match`` must match."""
    if doc.get("deleted_at") is not None:
        raise errors.missing_ids("Customer", [doc["_id"]])
    check_tag(CUSTOMER, doc, if_match)
    addresses = [dict(a) for a in doc.get("addresses", [])]
    for address in addresses:
        if address.get("deleted_at") is None:
            address["deleted_at"] = now
    return {"deleted_at": now, "addresses": addresses}


def _restore_changes(doc: Mapping[str, Any]) -> RawDoc | None:
    deleted_at = doc.get("deleted_at")
    if deleted_at is None:
        return None
    if doc.get("merged_into"):
        raise errors.restore_merged(doc["_id"], doc["merged_into"])
    addresses = [dict(a) for a in doc.get("addresses", [])]
    for address in addresses:
        # Only the addresses the cascade deleted (same timestamp) come back.
        if address.get("deleted_at") == deleted_at:
            address["deleted_at"] = None
    return {"deleted_at": None, "addresses": addresses}


async def restore(store: Store, ids: list[str]) -> None:
    """Restore soft-deleted customers and the addresses their soft delete took along."""
    if not ids:
        return

    async def apply(session: AsyncClientSession | None) -> None:
        for customer_id in ids:
            await cas_update(store, customer_id, _restore_changes, session=session)

    if len(ids) == 1:
        await apply(None)
    else:
        await store.transaction(apply)


async def hard_delete(store: Store, ids: list[str]) -> None:
    """Delete customers for good (addresses and memberships go with the document), then
    their identity links."""
    if ids:
        await store.customers.delete_many({"_id": {"$in": ids}})
        await identities.unlink_customers(store, ids)
