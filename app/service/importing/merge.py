"""CSV and Shopify rows: a new customer, or the changes a row brings to a stored one.

A row describes what it gives: the fields it has (our CSV: an empty cell is null; Shopify: an
empty cell is left alone), addresses and group memberships to have. Matched to a stored
customer, its fields are changed as ``update_customers`` changes them (metadata merged), an
address equal to a stored one (or with its id) is that address, a new one is added (a new
default takes the flag from the previous one, as in the API), and memberships are a set.
Nothing the row does not name is removed, so importing the same row twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.entities import ADDRESS, CUSTOMER, MEMBERSHIP, Who
from app.errors import CustomerModuleError
from app.input_checks import too_many
from app.limits import MAX_ADDRESSES
from app.service.customers import new_address_doc, new_customer_doc
from app.service.documents import changes, new_document
from app.service.importing.checks import RowFailure
from app.service.inputs import CreateCustomer, UpdateAddress, UpdateCustomer
from app.service.rules import DEFAULT_FLAGS, apply_default_flags, check_one_default_per_kind
from app.service.store import RawDoc

__all__ = ["changed_customer", "created_customer", "membership"]

_CONTENT = tuple(
    f.name
    for f in ADDRESS.writable(Who.SERVICE, on_create=True)
    if f.name not in ("id", "customer_id", *DEFAULT_FLAGS)
)
"""The fields that make two addresses the same address."""


def membership(group_id: str, actor: str | None, now: datetime) -> RawDoc:
    """A new stored membership of the group ``group_id``."""
    return new_document(MEMBERSHIP, {"customer_group_id": group_id, "created_by": actor}, now)


def created_customer(
    item: CreateCustomer,
    group_ids: Sequence[str],
    *,
    actor: str | None,
    provenance: dict[str, Any],
    now: datetime,
) -> RawDoc:
    """The stored form of a customer a row creates, with where it came from."""
    if item.created_by is None and actor is not None:
        item = item.model_copy(update={"created_by": actor})
    try:
        doc = new_customer_doc(item, now)
    except CustomerModuleError as exc:
        raise RowFailure.of(exc, "addresses") from None
    doc["groups"] = [membership(group_id, actor, now) for group_id in group_ids]
    doc["provenance"] = {"imported": provenance}
    return doc


def changed_customer(
    item: CreateCustomer,
    stored: RawDoc,
    group_ids: Sequence[str],
    *,
    actor: str | None,
    now: datetime,
) -> RawDoc:
    """``stored`` with the row's changes (the caller compares it with ``stored``)."""
    given = item.model_fields_set - {"id", "addresses"}
    update = UpdateCustomer.model_construct(
        _fields_set=given, **{name: getattr(item, name) for name in given}
    )
    try:
        doc = {**stored, **changes(CUSTOMER, stored, update)}
    except CustomerModuleError as exc:
        raise RowFailure.of(exc, "metadata") from None
    doc["addresses"] = _addresses(stored, item, now)
    have = {m["customer_group_id"] for m in stored.get("groups", [])}
    missing = [g for g in group_ids if g not in have]
    doc["groups"] = [*stored.get("groups", []), *(membership(g, actor, now) for g in missing)]
    return doc


def _addresses(stored: RawDoc, item: CreateCustomer, now: datetime) -> list[RawDoc]:
    """The stored addresses with the row's: matched by id, else by content, else added."""
    try:
        check_one_default_per_kind(stored["_id"], [a.model_dump() for a in item.addresses])
    except CustomerModuleError as exc:
        raise RowFailure.of(exc, "addresses") from None
    addresses = [dict(a) for a in stored.get("addresses", [])]
    winners: list[str] = []
    for index, address in enumerate(item.addresses):
        values = address.model_dump()
        target = _match(addresses, values)
        if target is None:
            new = new_address_doc({**values, "customer_id": stored["_id"]}, stored["_id"], now)
            addresses.append(new)
            winners.append(new["id"])
            continue
        given = address.model_fields_set - {"id", "customer_id"}
        update = UpdateAddress.model_construct(
            _fields_set=given, **{name: values[name] for name in given}
        )
        try:
            asked = changes(ADDRESS, target, update)
        except CustomerModuleError as exc:
            raise RowFailure.of(exc, f"addresses.{index}") from None
        change = {key: value for key, value in asked.items() if target.get(key) != value}
        if target.get("deleted_at") is not None:
            change["deleted_at"] = None
        if change:
            target.update(change, updated_at=now)
            if any(change.get(flag) for flag in DEFAULT_FLAGS):
                winners.append(target["id"])
    apply_default_flags(addresses, winners, now)
    live = sum(1 for a in addresses if a.get("deleted_at") is None)
    if live > MAX_ADDRESSES:
        raise RowFailure("addresses", "Invalid request: " + too_many("addresses", MAX_ADDRESSES))
    return addresses


def _match(addresses: list[RawDoc], values: dict[str, Any]) -> RawDoc | None:
    """The stored address ``values`` names: by its id, else a live one of equal content."""
    if values.get("id"):
        return next((a for a in addresses if a.get("id") == values["id"]), None)
    for address in addresses:
        if address.get("deleted_at") is None and all(
            address.get(name) == values.get(name) for name in _CONTENT
        ):
            return address
    return None
