"""The search document: one pure mapping from a stored customer to what the index holds.

Shared by the sync indexer and the reindex, so the two can never drift. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.textsearch import digits_of

__all__ = [
    "DATE_FIELDS",
    "EXACT_FIELDS",
    "SORT_DATE_FIELDS",
    "SORT_TEXT_FIELDS",
    "SearchDoc",
    "to_search_doc",
    "version_from_timestamp",
]

EXACT_FIELDS = ("email", "first_name", "last_name", "company_name", "phone", "created_by")
"""String fields both engines keep whole, for exact (eq / in / nin) filters (the id as well)."""
DATE_FIELDS = ("created_at", "updated_at", "deleted_at")
"""Date fields both engines keep, for range filters."""
SORT_TEXT_FIELDS = ("email", "first_name", "last_name", "company_name")
"""Text fields a list can be ordered by from the index."""
SORT_DATE_FIELDS = ("created_at", "updated_at")
"""Date fields a list can be ordered by from the index."""


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """One customer as the search index stores it."""

    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    company_name: str | None
    phone: str | None
    phone_digits: str | None
    has_account: bool
    group_ids: tuple[str, ...]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    version: int
    """Monotonic per customer: the change event's cluster time, ``(seconds << 32) | inc``."""

    @property
    def deleted(self) -> bool:
        """Whether the customer is soft-deleted."""
        return self.deleted_at is not None

    def text_fields(self) -> dict[str, str | None]:
        """Return the fields ``q`` searches (see :mod:`app.textsearch`)."""
        return {
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company_name": self.company_name,
            "phone": self.phone,
        }


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    # BSON dates are UTC; a client without tz_aware hands them back naive.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _group_ids(memberships: Any) -> tuple[str, ...]:
    ids: set[str] = set()
    for membership in memberships or ():
        if not isinstance(membership, Mapping) or membership.get("deleted_at") is not None:
            continue
        group_id = membership.get("customer_group_id")
        if isinstance(group_id, str):
            ids.add(group_id)
    return tuple(sorted(ids))


def to_search_doc(customer: Mapping[str, Any], version: int) -> SearchDoc:
    """Build the search document of a raw ``customers`` MongoDB document (see app/models.py).

    ``group_ids`` holds every membership's group id (a soft-deleted membership row is not one);
    whether the group itself is live is decided at query time by the caller.
    """
    phone = _str(customer.get("phone"))
    phone_digits = _str(customer.get("phone_digits")) or digits_of(phone) or None
    created_at = _utc(customer.get("created_at"))
    updated_at = _utc(customer.get("updated_at")) or created_at
    if created_at is None or updated_at is None:
        raise ValueError(f"customer {customer.get('_id')!r} has no created_at")
    customer_id = customer.get("_id", customer.get("id"))
    if not isinstance(customer_id, str):
        raise ValueError(f"customer id must be a string, got {customer_id!r}")
    return SearchDoc(
        id=customer_id,
        email=_str(customer.get("email")),
        first_name=_str(customer.get("first_name")),
        last_name=_str(customer.get("last_name")),
        company_name=_str(customer.get("company_name")),
        phone=phone,
        phone_digits=phone_digits,
        has_account=bool(customer.get("has_account", False)),
        group_ids=_group_ids(customer.get("groups")),
        created_by=_str(customer.get("created_by")),
        created_at=created_at,
        updated_at=updated_at,
        deleted_at=_utc(customer.get("deleted_at")),
        version=int(version),
    )


def version_from_timestamp(ts: Any) -> int:
    """Return the index version of a change event's cluster time (a ``bson.Timestamp``)."""
    return (int(ts.time) << 32) | int(ts.inc)
