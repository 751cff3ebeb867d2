"""One customer's data, as one JSON document: what a person may ask for (access, portability).

Everything stored about the customer, live or soft-deleted, in the shape of our JSONL export
(:mod:`app.dataio.layout`: the same keys in the same order, the same date format), so a person
gets their data in a format this service can read back; plus what only this document carries:

- ``customer``: every column of a customer line, then ``merged_into`` and ``provenance``
  (internal fields the API never answers; null when unset);
- ``addresses``: every stored address, deleted ones included (with their ``deleted_at``);
- ``groups``: every membership as stored, with the group's name (null once the group itself
  was hard-deleted) and whether the group is deleted;
- ``merged_customers``: ids of the customers merged into this one (their ``merged_into``);
- ``identity_links``: the auth identities registered as this customer;
- ``exported_at``.

Nothing else of the customer is stored anywhere in MongoDB: the search index holds a copy of
some fields (derived, rebuilt from MongoDB), and what stays elsewhere until it expires is in
the README's "Privacy" section.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.dataio.layout import (
    JSONL_ADDRESS_KEYS,
    JSONL_CUSTOMER_KEYS,
    JSONL_MEMBERSHIP_KEYS,
    JSONL_OPTIONAL_KEYS,
    format_date,
)
from app.entities.values import utcnow
from app.service.store import RawDoc, Store

__all__ = ["CUSTOMER_KEYS", "MEMBERSHIP_EXTRA_KEYS", "MERGED_PAGE", "data_export", "jsonable"]

_NESTED = ("type", "addresses", "groups")  # a JSONL line's keys this document puts elsewhere
CUSTOMER_KEYS: tuple[str, ...] = (
    *(key for key in JSONL_CUSTOMER_KEYS if key not in _NESTED),
    *JSONL_OPTIONAL_KEYS,
)
"""The ``customer`` object's keys: a JSONL customer line's columns, then the internal ones."""

MEMBERSHIP_EXTRA_KEYS = ("customer_group_name", "customer_group_deleted_at")
"""What a membership carries besides its stored fields (:func:`_memberships` writes them)."""

MERGED_PAGE = 10_000
"""At most this many merged-customer ids are listed (a merge chain is far shorter)."""


def jsonable(value: Any) -> Any:
    """``value`` with every date written as our files write them (metadata and provenance may
    hold dates at any depth)."""
    if isinstance(value, datetime):
        return format_date(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _picked(doc: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: jsonable(doc.get("_id" if key == "id" and "_id" in doc else key)) for key in keys}


async def data_export(store: Store, doc: RawDoc) -> dict[str, Any]:
    """The data export of the customer stored as ``doc`` (live or soft-deleted)."""
    customer_id = doc["_id"]
    memberships = list(doc.get("groups") or [])
    return {
        "customer": _picked(doc, CUSTOMER_KEYS),
        "addresses": [
            _picked(address, JSONL_ADDRESS_KEYS) for address in doc.get("addresses") or []
        ],
        "groups": await _memberships(store, memberships),
        "merged_customers": await _merged_ids(store, customer_id),
        "identity_links": await _identity_links(store, customer_id),
        "exported_at": format_date(utcnow()),
    }


async def _memberships(store: Store, memberships: list[RawDoc]) -> list[dict[str, Any]]:
    """Each membership as stored, with its group's name and whether the group is deleted."""
    group_ids = list({m.get("customer_group_id") for m in memberships})
    groups = {
        g["_id"]: g
        async for g in store.groups.find({"_id": {"$in": group_ids}}, {"name": 1, "deleted_at": 1})
    }
    out = []
    for membership in memberships:
        group = groups.get(membership.get("customer_group_id")) or {}
        out.append(
            {
                **_picked(membership, JSONL_MEMBERSHIP_KEYS),
                "customer_group_name": group.get("name"),
                "customer_group_deleted_at": jsonable(group.get("deleted_at")),
            }
        )
    return out


async def _merged_ids(store: Store, customer_id: str) -> list[str]:
    """Ids of the customers merged into this one, oldest first."""
    merged = store.customers.find({"merged_into": customer_id}, {"_id": 1})
    cursor = merged.hint("merged_into").sort("_id", 1)  # partial index: never chosen unhinted
    return [d["_id"] for d in await cursor.to_list(MERGED_PAGE)]


async def _identity_links(store: Store, customer_id: str) -> list[dict[str, Any]]:
    """The auth identities linked to the customer (registration)."""
    cursor = store.identity_links.find({"customer_id": customer_id}).sort("_id", 1)
    return [
        {"auth_identity_id": link["_id"], "created_at": jsonable(link.get("created_at"))}
        async for link in cursor
    ]
