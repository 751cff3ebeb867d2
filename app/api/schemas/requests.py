"""Request models of the HTTP API: bodies and query strings, per route.

The fields come from the entity declarations (:mod:`app.api.schemas.derive`); what is written
here is what is about a route: the model's name and description, paging, and the body extras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from app import bounded
from app.api.schemas.derive import (
    ADDITIONAL_DATA,
    Body,
    body_model,
    filters_model,
    list_filters,
    relation_filter_model,
)
from app.api.schemas.values import DerivedQuery, Query, QueryBool, QueryInt, SearchText
from app.bounded import QueryText
from app.entities import ADDRESS, CUSTOMER, GROUP, Who
from app.limits import MAX_LIST_LIMIT

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_SEARCH_LIMIT",
    "LIST_PARAMS",
    "AddressQuery",
    "AdminAddressBody",
    "AdminCustomerBody",
    "AdminCustomerListQuery",
    "AdminCustomerSearchQuery",
    "AdminGroupCreateBody",
    "AdminGroupListQuery",
    "AdminGroupUpdateBody",
    "BatchLinkBody",
    "CustomerFilters",
    "CustomerRelationFilter",
    "FieldsQuery",
    "GroupFilters",
    "GroupRelationFilter",
    "StoreAddressBody",
    "StoreAddressListQuery",
    "StoreCustomerCreateBody",
    "StoreCustomerUpdateBody",
]

DEFAULT_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 20  # hits of a ranked lookup
MAX_OFFSET = 2**31 - 1  # MongoDB's skip is a signed integer

# --- bodies ----------------------------------------------------------------------------------

AdminCustomerBody = body_model(
    "AdminCustomerBody",
    CUSTOMER,
    Who.ADMIN,
    on_create=True,
    extra={"additional_data": ADDITIONAL_DATA},
    doc="Create or update a customer (admin). ``has_account`` is not accepted.",
)
StoreCustomerCreateBody = body_model(
    "StoreCustomerCreateBody",
    CUSTOMER,
    Who.STORE,
    on_create=True,
    extra={"additional_data": ADDITIONAL_DATA},
    doc="Register the caller as a customer (``email`` is required by the route).",
)
StoreCustomerUpdateBody = body_model(
    "StoreCustomerUpdateBody",
    CUSTOMER,
    Who.STORE,
    on_create=False,
    extra={"additional_data": ADDITIONAL_DATA},
    doc="Update the caller's own customer; ``email`` cannot be changed here.",
)
StoreAddressBody = body_model(
    "StoreAddressBody",
    ADDRESS,
    Who.STORE,
    on_create=True,
    doc="Create or update an address; a default flag makes it the customer's only such default.",
)
AdminAddressBody = body_model(
    "AdminAddressBody",
    ADDRESS,
    Who.ADMIN,
    on_create=True,
    base=StoreAddressBody,
    extra={"additional_data": ADDITIONAL_DATA},
    doc="Create or update an address of a customer (admin).",
)
AdminGroupCreateBody = body_model(
    "AdminGroupCreateBody", GROUP, Who.ADMIN, on_create=True, doc="Create a customer group."
)
AdminGroupUpdateBody = body_model(
    "AdminGroupUpdateBody",
    GROUP,
    Who.ADMIN,
    on_create=False,
    doc="Update a customer group; ``metadata`` is merged.",
)


class BatchLinkBody(Body):
    """Add and remove links in one request (group ids on a customer, customer ids on a group)."""

    add: bounded.IdList | None = None
    remove: bounded.IdList | None = None


# --- query strings ---------------------------------------------------------------------------


class FieldsQuery(Query):
    """Only ``fields``: routes that return one object."""

    fields: QueryText | None = None


class _ListQuery(FieldsQuery):
    limit: Annotated[QueryInt, Field(le=MAX_LIST_LIMIT)] = DEFAULT_LIMIT
    offset: Annotated[QueryInt, Field(le=MAX_OFFSET)] = 0
    order: QueryText | None = None
    with_deleted: QueryBool = False
    q: SearchText | None = None


if TYPE_CHECKING:  # built at import time from the declarations; type checkers see the base
    GroupRelationFilter = DerivedQuery
    CustomerRelationFilter = DerivedQuery
    CustomerFilters = DerivedQuery
    GroupFilters = DerivedQuery
else:
    GroupRelationFilter = relation_filter_model(
        "GroupRelationFilter", GROUP, doc="Filter customers by the groups they belong to."
    )
    CustomerRelationFilter = relation_filter_model(
        "CustomerRelationFilter", CUSTOMER, doc="Filter groups by their customers."
    )
    CustomerFilters = filters_model(
        "CustomerFilters",
        CUSTOMER,
        Who.ADMIN,
        relations={"groups": GroupRelationFilter},
        doc="Filters of the customer list (also the items of ``$and`` / ``$or``).",
    )
    GroupFilters = filters_model(
        "GroupFilters",
        GROUP,
        Who.ADMIN,
        relations={"customers": CustomerRelationFilter},
        doc="Filters of the group list (also the items of ``$and`` / ``$or``).",
    )


class AdminCustomerListQuery(_ListQuery, CustomerFilters):
    """``GET /admin/customers``: paging, ``fields`` and every customer filter."""


class AdminCustomerSearchQuery(FieldsQuery, CustomerFilters):
    """``GET /admin/customers/search``: the words to look up, how many hits, and list filters."""

    q: SearchText
    limit: Annotated[QueryInt, Field(ge=1, le=MAX_LIST_LIMIT)] = DEFAULT_SEARCH_LIMIT
    with_deleted: QueryBool = False


class AdminGroupListQuery(_ListQuery, GroupFilters):
    """``GET /admin/customer-groups``."""


AddressQuery = list_filters(
    "AddressQuery",
    ADDRESS,
    Who.ADMIN,
    base=_ListQuery,
    doc="``GET /admin/customers/{id}/addresses``.",
)
StoreAddressListQuery = list_filters(
    "StoreAddressListQuery",
    ADDRESS,
    Who.STORE,
    base=_ListQuery,
    doc="``GET /store/customers/me/addresses``.",
)

LIST_PARAMS = frozenset({"fields", "limit", "offset", "order", "with_deleted"})
"""Query parameters of a list that are not filters."""
