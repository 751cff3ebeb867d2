"""Address writes: every change to a customer's addresses is one compare-and-set update.

One of our differences from Medusa (see the README): marking an address default (on create or
update) clears that flag on the customer's other addresses in the same atomic write, so the
newest default wins and a customer never has two. Only one call asking for two defaults of one
kind for one customer is refused. The ``MAX_ADDRESSES`` bound is checked inside the same
compare-and-set write, so concurrent adds cannot pass it together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from app import errors
from app.entities import ADDRESS
from app.entities.values import utcnow
from app.filtering import compile_filters
from app.input_checks import too_many
from app.limits import MAX_ADDRESSES
from app.service.customers import cas_update, cas_update_many, new_address_doc
from app.service.documents import changes
from app.service.etags import IfMatch, check_tag
from app.service.inputs import CreateAddress, UpdateAddress
from app.service.mongo import all_of, live
from app.service.mongo_filters import to_mongo
from app.service.rules import DEFAULT_FLAGS, apply_default_flags, check_one_default_per_kind
from app.service.store import RawDoc, Store

__all__ = ["create", "hard_delete", "resolve", "restore", "soft_delete", "update"]


async def _per_customer(store: Store, customer_ids: list[str], work: Any) -> None:
    """Run ``work(customer_id, session)`` for each customer; several → one transaction."""
    if len(customer_ids) == 1:
        await work(customer_ids[0], None)
        return

    async def apply(session: AsyncClientSession) -> None:
        for customer_id in customer_ids:
            await work(customer_id, session)

    await store.transaction(apply)


async def create(store: Store, items: list[CreateAddress]) -> list[RawDoc]:
    """Add addresses to their customers; returns them in input order."""
    now = utcnow()
    by_customer: dict[str, list[RawDoc]] = {}
    made: list[RawDoc] = []
    for item in items:
        doc = new_address_doc(item.model_dump(), item.customer_id, now)
        by_customer.setdefault(item.customer_id, []).append(doc)
        made.append(doc)
    for customer_id, new in by_customer.items():
        check_one_default_per_kind(customer_id, new)

    def mutate(doc: RawDoc) -> RawDoc:
        customer_id, new = doc["_id"], by_customer[doc["_id"]]
        addresses = [dict(a) for a in doc.get("addresses", [])] + [dict(a) for a in new]
        _check_count(customer_id, len(addresses))
        apply_default_flags(addresses, [a["id"] for a in new], now)
        return {"addresses": addresses}

    owners = list(by_customer)
    if len(owners) == 1:  # a read and a compare-and-set write, no transaction
        missing = errors.relationship_not_found("customer_id", owners[0])
        await cas_update(store, owners[0], mutate, missing=missing)
        return made

    def missing_owner(absent: list[str]) -> errors.CustomerModuleError:
        return errors.relationship_not_found("customer_id", absent[0])

    async def add(session: AsyncClientSession) -> None:
        await cas_update_many(store, owners, mutate, session, missing_owner)

    await store.transaction(add)  # the read, one bulk write, the commit
    return made


def _check_count(customer_id: str, count: int) -> None:
    """Refuse a write that would leave the customer with more than ``MAX_ADDRESSES``.

    Every stored address counts, soft-deleted ones too: they stay in the document and can be
    restored, so the document stays bounded.
    """
    if count > MAX_ADDRESSES:
        raise errors.InvalidData(
            f"Invalid request: {too_many('addresses', MAX_ADDRESSES)} "
            f"(customer {errors.quote(customer_id)} would have {count})"
        )


async def resolve(
    store: Store, selector: Any, *, with_deleted: bool = False
) -> list[tuple[str, str]]:
    """(customer_id, address_id) pairs for ids or a filter selector.

    Ids that match no live address are ``not_found``; a selector that matches nothing is [].
    """
    if isinstance(selector, Mapping):
        query = all_of(to_mongo(compile_filters(selector, ADDRESS), ADDRESS), live(with_deleted))
        docs = await (
            await store.customers.aggregate(
                [
                    {"$match": {"addresses.0": {"$exists": True}}},
                    {"$unwind": "$addresses"},
                    {"$replaceRoot": {"newRoot": "$addresses"}},
                    {"$match": query},
                    {"$project": {"_id": 0, "id": 1, "customer_id": 1}},
                    {"$sort": {"id": 1}},
                ]
            )
        ).to_list()
        return [(d["customer_id"], d["id"]) for d in docs]
    ids = list(selector)
    owners = await store.customers.find(
        {"addresses.id": {"$in": ids}}, {"addresses.id": 1, "addresses.deleted_at": 1}
    ).to_list()
    found: dict[str, str] = {}
    for owner in owners:
        for address in owner.get("addresses", []):
            if address["id"] in ids and (with_deleted or address.get("deleted_at") is None):
                found[address["id"]] = owner["_id"]
    missing = [i for i in ids if i not in found]
    if missing:
        raise errors.missing_ids("CustomerAddress", missing)
    return [(found[i], i) for i in ids]


async def update(
    store: Store, pairs: list[tuple[str, str]], data: UpdateAddress, *, if_match: IfMatch = None
) -> list[RawDoc]:
    """Apply ``data`` to the given addresses; returns them in the order of ``pairs``.
    ``if_match``: the ETag of the one address changed, compared in the same CAS."""
    now = utcnow()
    by_customer: dict[str, list[str]] = {}
    for customer_id, address_id in pairs:
        by_customer.setdefault(customer_id, []).append(address_id)
    new_defaults = [flag for flag in DEFAULT_FLAGS if getattr(data, flag) is True]
    for customer_id, ids in by_customer.items():
        if new_defaults and len(ids) > 1:
            raise errors.default_address_conflict(customer_id)
    updated: dict[str, RawDoc] = {}

    async def change(customer_id: str, session: AsyncClientSession | None) -> None:
        targets = set(by_customer[customer_id])

        def mutate(doc: RawDoc) -> RawDoc:
            addresses = [dict(a) for a in doc.get("addresses", [])]
            for address in addresses:
                if address["id"] in targets:
                    check_tag(ADDRESS, address, if_match)
                    address.update(changes(ADDRESS, address, data))
                    address["updated_at"] = now
                    updated[address["id"]] = address
            if new_defaults:
                apply_default_flags(addresses, targets, now)
            return {"addresses": addresses}

        await cas_update(store, customer_id, mutate, session=session)

    await _per_customer(store, list(by_customer), change)
    return [updated[address_id] for _, address_id in pairs if address_id in updated]


async def hard_delete(store: Store, ids: list[str], *, if_match: IfMatch = None) -> None:
    """Remove addresses for good; with ``if_match`` (one id), in a compare-and-set that checks
    the address's ETag first."""
    if if_match is not None:
        await _delete_tagged(store, ids[0], if_match)
    elif ids:
        await store.customers.update_many(
            {"addresses.id": {"$in": ids}},
            {"$pull": {"addresses": {"id": {"$in": ids}}}, "$inc": {"version": 1}},
        )


async def _delete_tagged(store: Store, address_id: str, if_match: IfMatch) -> None:
    owner = await store.customers.find_one({"addresses.id": address_id}, {"_id": 1})
    missing = errors.missing_ids("CustomerAddress", [address_id])
    if owner is None:
        raise missing

    def mutate(doc: RawDoc) -> RawDoc:
        addresses = doc.get("addresses", [])
        target = next((a for a in addresses if a["id"] == address_id), None)
        if target is None:
            raise missing
        check_tag(ADDRESS, target, if_match)
        return {"addresses": [a for a in addresses if a is not target]}

    await cas_update(store, owner["_id"], mutate, missing=missing)


async def soft_delete(store: Store, ids: list[str]) -> None:
    """Mark addresses deleted (one idempotent ``update_many``)."""
    if ids:
        await store.customers.update_many(
            {"addresses.id": {"$in": ids}},
            {"$set": {"addresses.$[a].deleted_at": utcnow()}, "$inc": {"version": 1}},
            array_filters=[{"a.id": {"$in": ids}, "a.deleted_at": None}],
        )


async def restore(store: Store, ids: list[str]) -> None:
    """Bring soft-deleted addresses back; a restored default yields to a live one."""
    if not ids:
        return
    owners = await store.customers.find({"addresses.id": {"$in": ids}}, {"_id": 1}).to_list()
    wanted = set(ids)

    async def bring_back(customer_id: str, session: AsyncClientSession | None) -> None:
        def mutate(doc: RawDoc) -> RawDoc | None:
            addresses = [dict(a) for a in doc.get("addresses", [])]
            restored = [a for a in addresses if a["id"] in wanted and a.get("deleted_at")]
            if not restored:
                return None
            for address in restored:
                address["deleted_at"] = None
                for flag in DEFAULT_FLAGS:
                    others = [
                        a
                        for a in addresses
                        if a is not address and a.get(flag) and a.get("deleted_at") is None
                    ]
                    if address.get(flag) and others:
                        address[flag] = False
            return {"addresses": addresses}

        await cas_update(store, customer_id, mutate, session=session)

    if owners:
        await _per_customer(store, [o["_id"] for o in owners], bring_back)
