"""JSONL's restore path: the stored document a customer or group line describes, exactly.

A line keeps its ids, ``has_account``, ``created_by``, timestamps, ``deleted_at``,
``merged_into`` and ``provenance`` (what the API's routes may not set), and its addresses and
memberships as stored; everything else is validated by the service's input models, so a value
over a limit fails the line as it would fail an API call. Imported into an empty database and
exported again, the line comes back the same.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from app.dataio.rows import Row
from app.entities import ADDRESS, CUSTOMER, GROUP, MEMBERSHIP
from app.errors import relationship_not_found
from app.service.documents import new_document
from app.service.importing.checks import (
    RowFailure,
    checked,
    restore_fields,
    restored_dates,
    stored_membership,
)
from app.service.inputs import CreateCustomer, CreateGroup
from app.service.rules import check_one_default_per_kind
from app.service.store import RawDoc

__all__ = ["restored_customer", "restored_group"]

_STAMPS = ("created_at", "updated_at", "deleted_at")


def restored_group(row: Row, stored: RawDoc | None, now: datetime) -> RawDoc:
    """The stored group a ``customer_group`` line describes."""
    extra = restore_fields(GROUP, row.values)
    own = {k: v for k, v in row.values.items() if k not in extra and k not in _STAMPS}
    item = checked(CreateGroup, own)
    return new_document(GROUP, {**item.model_dump(), **_kept(extra, stored)}, now)


def restored_customer(
    row: Row, stored: RawDoc | None, now: datetime, known_groups: Collection[str]
) -> RawDoc:
    """The stored customer a ``customer`` line describes (``known_groups``: every group id the
    database holds among those its memberships name)."""
    extra = restore_fields(CUSTOMER, row.values)
    own = {k: v for k, v in row.values.items() if k not in extra and k not in _STAMPS}
    inputs, dates = _split_addresses(row.addresses)
    item = checked(CreateCustomer, {**own, "addresses": inputs})
    customer_id = item.id or (stored["_id"] if stored else CUSTOMER.new_id())
    addresses = [
        new_document(ADDRESS, {**a.model_dump(), "customer_id": customer_id, **d}, now)
        for a, d in zip(item.addresses, dates, strict=True)
    ]
    check_one_default_per_kind(customer_id, [a for a in addresses if a["deleted_at"] is None])
    values = {
        **item.model_dump(),
        "id": customer_id,
        **_kept(extra, stored),
        "addresses": addresses,
        "groups": _memberships(row.memberships or [], now, known_groups),
    }
    return new_document(CUSTOMER, values, now)


def _kept(extra: Mapping[str, Any], stored: RawDoc | None) -> dict[str, Any]:
    """The restore fields, with the stored timestamps where a hand-written line leaves them
    out (so importing it again changes nothing)."""
    out = dict(extra)
    for name in ("created_at", "updated_at"):
        if name not in out and stored is not None:
            out[name] = stored.get(name)
    return out


def _split_addresses(addresses: list[Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    """Each address as the input model takes it, and its stored timestamps apart."""
    inputs: list[Any] = []
    dates: list[dict[str, Any]] = []
    for index, address in enumerate(addresses):
        if not isinstance(address, dict):
            inputs.append(address)  # the input model reports it
            dates.append({})
            continue
        prefix = f"addresses.{index}."
        dates.append(restored_dates(address, prefix))
        drop = (*_STAMPS, "customer_id")
        inputs.append({k: v for k, v in address.items() if k not in drop})
    return inputs, dates


def _memberships(items: list[Any], now: datetime, known: Collection[str]) -> list[RawDoc]:
    """The stored memberships of a line: each group must exist, each group once."""
    out: list[RawDoc] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        prefix = f"groups.{index}."
        membership = stored_membership(item, prefix)
        group_id = membership["customer_group_id"]
        if group_id not in known:
            error = relationship_not_found("customer_group_id", group_id)
            raise RowFailure.of(error, prefix + "customer_group_id")
        if group_id in seen:
            raise RowFailure(
                prefix + "customer_group_id", "Invalid request: a group is named twice in groups"
            )
        seen.add(group_id)
        out.append(new_document(MEMBERSHIP, membership, now))
    return out
