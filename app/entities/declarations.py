"""The four entities, each field declared once with its traits (see :mod:`app.entities.traits`).

Fields are listed in the order Medusa returns them; ``q`` gives the order ``q`` searches in.
What is special stays visible here: emails are normalised (``normalize_email``), a phone's
digits are stored beside it for ``q`` (``digits``), ids are stored as ``_id`` (``stored_as``),
and a membership's ``customer_id`` is its parent customer's id (``stored=False``). Every
entity ``q`` searches stores its ``q_terms`` (:data:`Kind.TERMS`: the compared texts and word
starts of its ``q`` fields, derived on every write), which MongoDB's ``q`` queries.

A customer's ``merged_into`` (the survivor's id, on a customer merged into another) and
``provenance`` (where it came from: ``{"imported": {...}, "merged_from": [...]}``) are kept
for the data export and erasure, never served by the API's routes.
"""

from __future__ import annotations

from app.entities.entity import Entity
from app.entities.traits import (
    ANYONE,
    NEW_ID,
    NOW,
    Field,
    Filter,
    Index,
    Kind,
    Relation,
    Role,
    Who,
)
from app.entities.values import normalize_email

__all__ = ["ADDRESS", "CUSTOMER", "ENTITIES", "GROUP", "MEMBERSHIP"]

SERVICE, ADMIN, STORE = Who.SERVICE, Who.ADMIN, Who.STORE
BY_ADMIN = SERVICE | ADMIN
EXACT = Index.FILTER
EXACT_SORTED = Index.FILTER | Index.SORT

LISTED = Filter()
"""Filterable by the service and the admin list, also inside another entity's relation filter."""
LISTED_HERE = Filter(nested=False)
"""Filterable by the service and the admin list, not inside a relation filter."""
SERVICE_ONLY = Filter(routes=Who.NOBODY, nested=False)
"""Filterable through the service only."""
ADDRESS_LIST = Filter(routes=ADMIN, operator_map=False, nested=False)
"""Filterable on the admin address list by a value or a list of values."""
ANY_ADDRESS_LIST = Filter(routes=ADMIN | STORE, operator_map=False, nested=False)
"""Filterable on the admin and the store address lists by a value or a list of values."""


def _id(
    *, filter: Filter, index: Index = Index.NONE, create: Who = SERVICE, top: bool = True
) -> Field:
    """The id: made by the service unless the service's caller chooses it; stored as ``_id``
    in a document of its own (``top``), as ``id`` in one embedded in a customer."""
    return Field(
        "id",
        Kind.ID,
        nullable=False,
        default=NEW_ID,
        create=create,
        filter=filter,
        index=index,
        system=True,
        stored_as="_id" if top else None,
    )


def _stamps(
    *, filter: Filter, index: bool = False, deleted_response: Who = ADMIN | STORE
) -> tuple[Field, Field, Field]:
    """``created_at``, ``updated_at``, ``deleted_at``: set by the service on every write."""
    return (
        Field("created_at", Kind.DATE, nullable=False, default=NOW, filter=filter,
              index=EXACT_SORTED if index else Index.NONE, system=True),
        Field("updated_at", Kind.DATE, nullable=False, default=NOW, filter=filter,
              index=EXACT_SORTED if index else Index.NONE, system=True),
        Field("deleted_at", Kind.DATE, filter=filter, index=EXACT if index else Index.NONE,
              response=deleted_response, system=True),
    )  # fmt: skip


def _q_terms() -> Field:
    """What MongoDB compares ``q`` with, derived from the ``q`` fields on every write."""
    return Field("q_terms", Kind.TERMS, system=True, internal=True)


def _version() -> Field:
    """The compare-and-set token: +1 on every write of the document."""
    return Field("version", Kind.INT, nullable=False, default=1, system=True, internal=True)


CUSTOMER = Entity(
    name="customer",
    model="Customer",
    label="Customer",
    id_prefix="cus",
    members=(
        _id(filter=LISTED, index=EXACT_SORTED),
        Field("email", Kind.EMAIL, create=ANYONE, update=BY_ADMIN, filter=LISTED, q=1,
              index=EXACT_SORTED, rank=Role.EMAIL, personal=True, normalize=normalize_email),
        Field("company_name", Kind.TEXT, create=ANYONE, update=ANYONE, filter=LISTED, q=4,
              index=EXACT_SORTED, rank=Role.COMPANY, personal=True),
        Field("first_name", Kind.TEXT, create=ANYONE, update=ANYONE, filter=LISTED, q=2,
              index=EXACT_SORTED, rank=Role.FIRST_NAME, personal=True),
        Field("last_name", Kind.TEXT, create=ANYONE, update=ANYONE, filter=LISTED, q=3,
              index=EXACT_SORTED, rank=Role.LAST_NAME, personal=True),
        Field("phone", Kind.TEXT, create=ANYONE, update=ANYONE, filter=LISTED_HERE, q=5,
              digits="phone_digits", index=EXACT, rank=Role.PHONE, personal=True),
        Field("phone_digits", Kind.TEXT, personal=True, internal=True),
        Field("has_account", Kind.BOOL, nullable=False, default=False, create=SERVICE,
              update=SERVICE, filter=LISTED_HERE, index=EXACT),
        Field("metadata", Kind.METADATA, create=ANYONE, update=ANYONE, personal=True),
        Field("created_by", Kind.TEXT, create=SERVICE, update=SERVICE, filter=LISTED,
              index=EXACT, response=ADMIN),
        Relation("addresses", "customer_address", embeds="customer_address",
                 response=ADMIN | STORE, default=STORE),
        Relation("groups", "customer_group", embeds="customer_group_customer", filter=True,
                 response=ADMIN),
        *_stamps(filter=LISTED, index=True),
        Field("merged_into", Kind.ID, system=True, internal=True),
        Field("provenance", Kind.METADATA, system=True, internal=True),
        _q_terms(),
        _version(),
    ),
)  # fmt: skip

ADDRESS = Entity(
    name="customer_address",
    model="CustomerAddress",
    label="Customer address",
    id_prefix="cuaddr",
    members=(
        _id(filter=SERVICE_ONLY, top=False),
        Field("address_name", Kind.TEXT, create=ANYONE, update=ANYONE, filter=SERVICE_ONLY,
              q=1, response=Who.NOBODY),
        Field("is_default_shipping", Kind.BOOL, nullable=False, default=False, create=ANYONE,
              update=ANYONE, filter=SERVICE_ONLY, response=STORE),
        Field("is_default_billing", Kind.BOOL, nullable=False, default=False, create=ANYONE,
              update=ANYONE, filter=SERVICE_ONLY, response=STORE),
        Field("customer_id", Kind.ID, nullable=False, create=SERVICE, filter=SERVICE_ONLY),
        Field("company", Kind.TEXT, create=ANYONE, update=ANYONE, filter=ADDRESS_LIST, q=2,
              personal=True),
        Field("first_name", Kind.TEXT, create=ANYONE, update=ANYONE, filter=SERVICE_ONLY, q=3,
              personal=True),
        Field("last_name", Kind.TEXT, create=ANYONE, update=ANYONE, filter=SERVICE_ONLY, q=4,
              personal=True),
        Field("address_1", Kind.TEXT, create=ANYONE, update=ANYONE, filter=SERVICE_ONLY, q=5,
              personal=True),
        Field("address_2", Kind.TEXT, create=ANYONE, update=ANYONE, filter=SERVICE_ONLY, q=6,
              personal=True),
        Field("city", Kind.TEXT, create=ANYONE, update=ANYONE, filter=ANY_ADDRESS_LIST, q=7,
              personal=True),
        Field("country_code", Kind.TEXT, create=ANYONE, update=ANYONE,
              filter=ANY_ADDRESS_LIST),
        Field("province", Kind.TEXT, create=ANYONE, update=ANYONE, filter=ADDRESS_LIST, q=8,
              personal=True),
        Field("postal_code", Kind.TEXT, create=ANYONE, update=ANYONE, filter=ANY_ADDRESS_LIST,
              q=9, personal=True),
        Field("phone", Kind.TEXT, create=ANYONE, update=ANYONE, filter=SERVICE_ONLY,
              personal=True),
        Field("metadata", Kind.METADATA, create=ANYONE, update=ANYONE, personal=True),
        Relation("customer", "customer", many=False),
        *_stamps(filter=SERVICE_ONLY, deleted_response=Who.NOBODY),
        _q_terms(),
    ),
)  # fmt: skip

GROUP = Entity(
    name="customer_group",
    model="CustomerGroup",
    label="Customer group",
    id_prefix="cusgroup",
    members=(
        _id(filter=LISTED),
        Field("name", Kind.TEXT, nullable=False, create=BY_ADMIN, update=BY_ADMIN,
              filter=LISTED, q=1),
        Field("metadata", Kind.METADATA, create=BY_ADMIN, update=BY_ADMIN),
        Field("created_by", Kind.TEXT, create=SERVICE, filter=LISTED_HERE),
        Relation("customers", "customer", filter=True, response=ADMIN),
        *_stamps(filter=LISTED),
        _q_terms(),
        _version(),
    ),
)  # fmt: skip

MEMBERSHIP = Entity(
    name="customer_group_customer",
    model="CustomerGroupCustomer",
    label="Customer group customer",
    id_prefix="cusgc",
    members=(
        _id(filter=SERVICE_ONLY, create=Who.NOBODY, top=False),
        Field("customer_id", Kind.ID, nullable=False, create=SERVICE, filter=SERVICE_ONLY,
              stored=False),
        Field("customer_group_id", Kind.ID, nullable=False, create=SERVICE,
              filter=SERVICE_ONLY),
        Relation("customer", "customer", many=False),
        Relation("customer_group", "customer_group", many=False),
        Field("metadata", Kind.METADATA, create=SERVICE),
        Field("created_by", Kind.TEXT, create=SERVICE, filter=SERVICE_ONLY),
        *_stamps(filter=SERVICE_ONLY),
    ),
)  # fmt: skip

ENTITIES: dict[str, Entity] = {e.name: e for e in (CUSTOMER, ADDRESS, GROUP, MEMBERSHIP)}
"""Every entity by name (a relation's ``target``)."""
