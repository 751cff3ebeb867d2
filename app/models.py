"""Storage shape: Beanie documents for ``customers``, ``customer_groups`` and ``identity_links``.

The customer and group documents, and the address and membership models embedded in a
customer, are generated from the entity declarations (:mod:`app.entities`): each stored field
with its Python type and default, in declared order. Only the collections' settings (names,
indexes) are written here. One document per customer holds everything that belongs to it::

    customers: {
      _id: "cus_01J…",                 # prefixed monotonic ULID (id order == creation order)
      …the customer's fields…,         # emails trimmed + lower-cased on every write
      phone_digits: "15551234567" | null,  # derived from phone, for digit-to-digit search
      q_terms: {text: […], starts: […]},  # derived from the q fields, what MongoDB's q reads
      addresses: [ {id: "cuaddr_…", customer_id, …the address's fields…, q_terms}, … ],
      groups: [ {id: "cusgc_…", customer_group_id: "cusgroup_…", …}, … ],  # memberships
      created_at, updated_at, deleted_at: datetime | null,
      version: int,                    # +1 on every write: optimistic concurrency token
    }
    customer_groups: {_id: "cusgroup_…", name, metadata, created_by, …timestamps, q_terms, version}
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
lookups), the plain email (exact-email lookups, which the partial unique index cannot serve)
and ``merged_into`` among merged customers only (a survivor's merged customers).

Uniqueness is enforced by the database, never by read-then-write checks: a partial unique index
on (email, has_account) among live customers with a string email (null emails are unlimited),
and one on the group name among live groups. Soft-deleted rows keep ``deleted_at`` set and drop
out of both indexes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document
from pydantic import BaseModel, ConfigDict, create_model
from pydantic import Field as ModelField
from pymongo import ASCENDING, IndexModel

from app.entities import ADDRESS, CUSTOMER, GROUP, MEMBERSHIP, NEW_ID, NOW, Entity, Field
from app.entities.values import utcnow

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


def _stored(entity: Entity, field: Field) -> tuple[Any, Any]:
    """The stored type and default of a field: no input bounds, so values stored before a
    limit existed stay readable."""
    kind = field.kind.python_type
    annotation = kind | None if field.nullable else kind
    if field.default is NEW_ID:
        return annotation, ModelField(default_factory=entity.new_id)
    if field.default is NOW:
        return annotation, ModelField(default_factory=utcnow)
    if field.default is None and not field.nullable:
        return annotation, ...  # required
    return annotation, field.default


def _storage_model(
    name: str,
    entity: Entity,
    *,
    base: type[BaseModel],
    embedded: dict[str, type[BaseModel]] | None = None,
    doc: str,
) -> Any:
    """A pydantic model (or Beanie document) of ``entity``'s stored fields, in declared order;
    relations the document embeds are lists of ``embedded[target]``."""
    fields: dict[str, Any] = {}
    for member in entity.members:
        if isinstance(member, Field):
            if member.stored:
                fields[member.name] = _stored(entity, member)
        elif member.embeds is not None:
            item = (embedded or {})[member.embeds]
            # ``item`` is a model class held in a variable, which type checkers cannot follow
            fields[member.name] = (list[item], ModelField(default_factory=list))  # type: ignore[valid-type]
    return create_model(name, __base__=base, __module__=__name__, __doc__=doc, **fields)


class _Embedded(BaseModel):
    model_config = ConfigDict(extra="ignore")


AddressDoc = _storage_model(
    "AddressDoc",
    ADDRESS,
    base=_Embedded,
    doc="One address, embedded in its customer's ``addresses``.",
)
MembershipDoc = _storage_model(
    "MembershipDoc",
    MEMBERSHIP,
    base=_Embedded,
    doc="One group membership (Medusa's CustomerGroupCustomer), embedded in its customer.",
)
Customer = _storage_model(
    "Customer",
    CUSTOMER,
    base=Document,
    embedded={"customer_address": AddressDoc, "customer_group_customer": MembershipDoc},
    doc="A customer, with its addresses and group memberships embedded.",
)
CustomerGroup = _storage_model(
    "CustomerGroup",
    GROUP,
    base=Document,
    doc="A customer group; its members hold references to it.",
)


class _CustomerSettings:
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
        # the customers merged into one (data export, erasure): partial, so only merged
        # customers pay for it
        IndexModel(
            [("merged_into", ASCENDING)],
            name="merged_into",
            partialFilterExpression={"merged_into": {"$type": "string"}},
        ),
    ]


class _GroupSettings:
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


Customer.Settings = _CustomerSettings
CustomerGroup.Settings = _GroupSettings


class IdentityLink(Document):
    """The customer an auth identity registered (at most one: the identity id is ``_id``)."""

    id: str  # type: ignore[assignment]  # Beanie's id is an ObjectId; ours, the identity id
    customer_id: str
    created_at: datetime = ModelField(default_factory=utcnow)

    class Settings:
        name = "identity_links"
        use_state_management = False
        validate_on_save = False
        indexes = [IndexModel([("customer_id", ASCENDING)], name="customer_id")]


MODELS: list[type[Document]] = [Customer, CustomerGroup, IdentityLink]
"""Every Beanie document; ``init_beanie`` and test cleanup both use this one list."""
