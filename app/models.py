"""Storage shape: Beanie documents for ``customers``, ``customer_groups`` and ``identity_links``.

One document per customer holds everything that belongs to that customer only::

    customers: {
      _id: "cus_01J…",                 # prefixed monotonic ULID (id order == creation order)
      email: "ann@example.com" | null, # trimmed + lower-cased on every write
      first_name, last_name, company_name, phone: str | null,
      phone_digits: "15551234567" | null,  # derived from phone, for digit-to-digit search
      has_account: bool, created_by: str | null, metadata: {…} | null,
      created_at, updated_at, deleted_at: datetime | null,
      version: int,                    # +1 on every write: optimistic concurrency token
      addresses: [ {id: "cuaddr_…", customer_id, address_name, is_default_shipping,
                    is_default_billing, company, first_name, last_name, address_1, address_2,
                    city, country_code, province, postal_code, phone, metadata,
                    created_at, updated_at, deleted_at}, … ],
      groups: [ {id: "cusgc_…", customer_group_id: "cusgroup_…", created_by, metadata,
                 created_at, updated_at, deleted_at}, … ],
    }
    customer_groups: {_id: "cusgroup_…", name, metadata, created_by,
                      created_at, updated_at, deleted_at, version}
    identity_links: {_id: "authid_…", customer_id: "cus_…", created_at}

Why embedded: every change to a customer's addresses or memberships is then one atomic
single-document write, so "at most one default shipping / billing address" and "no duplicate
membership" hold under concurrency without transactions (writers use ``version`` as a
compare-and-set token). Memberships keep their own ``cusgc_`` ids, so Medusa's pivot entity
``CustomerGroupCustomer {id, customer_id, customer_group_id}`` is still representable.
Groups live in their own collection because they are shared by many customers.
``identity_links`` stands in for the ``app_metadata.customer_id`` of Medusa's auth module: the
auth identity id as ``_id`` makes "one customer per identity" a primary-key rule.

Indexes are few on purpose: every index costs each write (measured on the embedded server:
about 0.15 ms per index per update), and list pages beyond exact lookups are served by the
search index (``indexers``). Kept: the two unique rules, ``deleted_at, _id`` for the default live
listing, the multikey group references (group filters, group deletes), address ids (address
lookups) and the plain email (exact-email lookups, which the partial unique index cannot serve).

Uniqueness is enforced by the database, never by read-then-write checks: a partial unique index
on (email, has_account) among live customers with a string email (null emails are unlimited),
and one on the group name among live groups. Soft-deleted rows keep ``deleted_at`` set and drop
out of both indexes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from beanie import Document
from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, IndexModel

from app.ids import new_id

__all__ = [
    "MODELS",
    "AddressDoc",
    "Customer",
    "CustomerGroup",
    "IdentityLink",
    "MembershipDoc",
    "utcnow",
]

LIVE = {"deleted_at": {"$type": "null"}}
"""Partial-index filter for rows that are not soft-deleted (``deleted_at`` stored as null)."""


def utcnow() -> datetime:
    """Return the current UTC time truncated to milliseconds (BSON's resolution).

    Truncating up front means the DTO returned by a write equals what a later read returns.
    """
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


class AddressDoc(BaseModel):
    """One address, embedded in its customer's ``addresses`` array."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: new_id("cuaddr"))
    customer_id: str
    address_name: str | None = None
    is_default_shipping: bool = False
    is_default_billing: bool = False
    company: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    country_code: str | None = None
    province: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None


class MembershipDoc(BaseModel):
    """One group membership (Medusa's CustomerGroupCustomer), embedded in its customer."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: new_id("cusgc"))
    customer_group_id: str
    created_by: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None


class Customer(Document):
    """A customer, with its addresses and group memberships embedded."""

    id: str = Field(default_factory=lambda: new_id("cus"))  # type: ignore[assignment]
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    phone: str | None = None
    phone_digits: str | None = None
    has_account: bool = False
    created_by: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None
    version: int = 1
    addresses: list[AddressDoc] = Field(default_factory=list)
    groups: list[MembershipDoc] = Field(default_factory=list)

    class Settings:
        name = "customers"
        keep_nulls = True
        use_state_management = False
        validate_on_save = False
        indexes = [
            IndexModel(
                [("email", ASCENDING), ("has_account", ASCENDING)],
                name="live_email_has_account_unique",
                unique=True,
                partialFilterExpression={"email": {"$type": "string"}, **LIVE},
            ),
            IndexModel([("deleted_at", ASCENDING), ("_id", ASCENDING)], name="deleted_at_id"),
            IndexModel([("groups.customer_group_id", ASCENDING)], name="group_refs"),
            IndexModel([("addresses.id", ASCENDING)], name="address_ids"),
            IndexModel([("email", ASCENDING)], name="email"),
        ]


class CustomerGroup(Document):
    """A customer group; its members hold references to it."""

    id: str = Field(default_factory=lambda: new_id("cusgroup"))  # type: ignore[assignment]
    name: str
    created_by: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None
    version: int = 1

    class Settings:
        name = "customer_groups"
        keep_nulls = True
        use_state_management = False
        validate_on_save = False
        indexes = [
            IndexModel(
                [("name", ASCENDING)],
                name="live_name_unique",
                unique=True,
                partialFilterExpression=LIVE,
            ),
            IndexModel([("deleted_at", ASCENDING), ("_id", ASCENDING)], name="deleted_at_id"),
        ]


class IdentityLink(Document):
    """The customer an auth identity registered (at most one: the identity id is ``_id``)."""

    id: str  # type: ignore[assignment]  # the auth identity id
    customer_id: str
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "identity_links"
        use_state_management = False
        validate_on_save = False
        indexes = [IndexModel([("customer_id", ASCENDING)], name="customer_id")]


MODELS: list[type[Document]] = [Customer, CustomerGroup, IdentityLink]
"""Every Beanie document; ``init_beanie`` and test cleanup both use this one list."""
