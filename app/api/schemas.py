"""Request and response models of the HTTP API: they validate requests and generate OpenAPI.

Bodies are strict (no coercion, unknown keys rejected), as Medusa's zod schemas. Query models
read the nested strings of ``querystring.parse_pairs``: numbers and booleans arrive as strings
and are parsed here. Filters whose value may be a string, a list or an operator map are tagged
unions picked by the value's shape (``TextFilter`` and friends), so a wrong shape gets one
clear message instead of one per member.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
)
from pydantic_core import PydanticCustomError

from app import bounded
from app.bounded import QueryText
from app.limits import MAX_LIST_ITEMS, MAX_LIST_LIMIT, MAX_Q_CHARS, MAX_Q_WORDS

__all__ = [
    "AddressList",
    "AddressQuery",
    "AddressResponse",
    "AdminAddressBody",
    "AdminCustomerBody",
    "AdminCustomerListQuery",
    "AdminGroupCreateBody",
    "AdminGroupListQuery",
    "AdminGroupUpdateBody",
    "BatchLinkBody",
    "CustomerList",
    "CustomerResponse",
    "DeleteResponse",
    "ErrorResponse",
    "FieldsQuery",
    "GroupList",
    "GroupResponse",
    "HealthResponse",
    "ReadinessCheck",
    "ReadinessResponse",
    "StoreAddressBody",
    "StoreAddressListQuery",
    "StoreCustomerCreateBody",
    "StoreCustomerUpdateBody",
    "UnauthorizedResponse",
]

DEFAULT_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 20  # hits of a ranked lookup
MAX_OFFSET = 2**31 - 1  # MongoDB's skip is a signed integer

# `q`: the limits are enforced by the service (app.textsearch.check_q, one message for every
# caller); here they are declared for the OpenAPI document.
SearchText = Annotated[
    str,
    Field(
        description=(
            f"Words to find (every word must match): at most {MAX_Q_CHARS} characters "
            f"and {MAX_Q_WORDS} words."
        ),
        json_schema_extra={"maxLength": MAX_Q_CHARS},
    ),
]

# zod's email regex (v3.22+), so exactly the addresses Medusa accepts pass.
_EMAIL = re.compile(
    r"^(?!\.)(?!.*\.\.)([A-Z0-9_'+\-.]*)[A-Z0-9_+-]@([A-Z0-9][A-Z0-9\-]*\.)+[A-Z]{2,}$",
    re.IGNORECASE,
)


def _check_email(value: str) -> str:
    if not _EMAIL.match(value.strip()):
        raise PydanticCustomError("invalid_email", "Invalid email")
    return value


def _not_nullable(schema: dict[str, Any]) -> None:
    """An optional field that may be left out but never sent as null: no ``default: null``."""
    schema.pop("default", None)


Email = Annotated[
    bounded.Email, AfterValidator(_check_email), Field(json_schema_extra={"format": "email"})
]
Metadata = bounded.Metadata | None
Text = bounded.Text | None


def _optional() -> Any:
    """The default of an optional, non-nullable field."""
    return Field(None, json_schema_extra=_not_nullable)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    def data(self) -> dict[str, Any]:
        """The fields the client sent, minus ``additional_data`` (kept for workflow hooks)."""
        return self.model_dump(exclude_unset=True, exclude={"additional_data"})


# --- bodies ----------------------------------------------------------------------------------


class AdminCustomerBody(_Body):
    """Create or update a customer (admin). ``has_account`` is not accepted."""

    email: Email | None = None
    company_name: Text = None
    first_name: Text = None
    last_name: Text = None
    phone: Text = None
    metadata: Metadata = None
    additional_data: dict[str, Any] | None = None


class StoreCustomerCreateBody(_Body):
    """Register the caller as a customer (``email`` is required by the route)."""

    email: Email | None = None
    company_name: Text = None
    first_name: Text = None
    last_name: Text = None
    phone: Text = None
    metadata: Metadata = None
    additional_data: dict[str, Any] | None = None


class StoreCustomerUpdateBody(_Body):
    """Update the caller's own customer; ``email`` cannot be changed here."""

    company_name: Text = None
    first_name: Text = None
    last_name: Text = None
    phone: Text = None
    metadata: Metadata = None
    additional_data: dict[str, Any] | None = None


class StoreAddressBody(_Body):
    """Create or update an address; a default flag makes it the customer's only such default."""

    address_name: Text = None
    is_default_shipping: StrictBool = _optional()
    is_default_billing: StrictBool = _optional()
    company: Text = None
    first_name: Text = None
    last_name: Text = None
    address_1: Text = None
    address_2: Text = None
    city: Text = None
    country_code: Text = None
    province: Text = None
    postal_code: Text = None
    phone: Text = None
    metadata: Metadata = None


class AdminAddressBody(StoreAddressBody):
    """Create or update an address of a customer (admin)."""

    additional_data: dict[str, Any] | None = None


class AdminGroupCreateBody(_Body):
    """Create a customer group."""

    name: bounded.Text
    metadata: Metadata = None


class AdminGroupUpdateBody(_Body):
    """Update a customer group; ``metadata`` is merged."""

    name: bounded.Text = _optional()
    metadata: Metadata = None


class BatchLinkBody(_Body):
    """Add and remove links in one request (group ids on a customer, customer ids on a group)."""

    add: bounded.IdList | None = None
    remove: bounded.IdList | None = None


# --- query strings ---------------------------------------------------------------------------


def _parse_bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise PydanticCustomError("invalid_input", "Invalid input")
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _shape(value: Any) -> str | None:
    if isinstance(value, str):
        return "~string"
    if isinstance(value, list):
        return "~array"
    if isinstance(value, dict | BaseModel):
        return "~object"
    return None


QueryBool = Annotated[bool, BeforeValidator(_parse_bool)]
QueryInt = Annotated[int, Field(ge=0)]
QueryList = Annotated[list[QueryText], Field(max_length=MAX_LIST_ITEMS)]
StrList = Annotated[QueryList, BeforeValidator(_as_list)]
DateList = Annotated[list[datetime], Field(max_length=MAX_LIST_ITEMS), BeforeValidator(_as_list)]


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StringOperators(_Query):
    """Operators on a text field."""

    eq: QueryText | None = Field(None, alias="$eq")
    ne: QueryText | None = Field(None, alias="$ne")
    in_: StrList | None = Field(None, alias="$in")
    nin: StrList | None = Field(None, alias="$nin")
    like: QueryText | None = Field(None, alias="$like")
    ilike: QueryText | None = Field(None, alias="$ilike")
    gt: QueryText | None = Field(None, alias="$gt")
    gte: QueryText | None = Field(None, alias="$gte")
    lt: QueryText | None = Field(None, alias="$lt")
    lte: QueryText | None = Field(None, alias="$lte")


class DateOperators(_Query):
    """Operators on a timestamp (ISO 8601 values)."""

    eq: datetime | None = Field(None, alias="$eq")
    ne: datetime | None = Field(None, alias="$ne")
    in_: DateList | None = Field(None, alias="$in")
    nin: DateList | None = Field(None, alias="$nin")
    gt: datetime | None = Field(None, alias="$gt")
    gte: datetime | None = Field(None, alias="$gte")
    lt: datetime | None = Field(None, alias="$lt")
    lte: datetime | None = Field(None, alias="$lte")


TextFilter = Annotated[
    Annotated[QueryText, Tag("~string")]
    | Annotated[QueryList, Tag("~array")]
    | Annotated[StringOperators, Tag("~object")],
    Discriminator(_shape),
]
ListFilter = Annotated[
    Annotated[QueryText, Tag("~string")] | Annotated[QueryList, Tag("~array")],
    Discriminator(_shape),
]


class GroupRelationFilter(_Query):
    """Filter customers by the groups they belong to."""

    id: TextFilter | None = None
    name: TextFilter | None = None
    created_at: DateOperators | None = None
    updated_at: DateOperators | None = None
    deleted_at: DateOperators | None = None


GroupsFilter = Annotated[
    Annotated[QueryText, Tag("~string")]
    | Annotated[QueryList, Tag("~array")]
    | Annotated[GroupRelationFilter, Tag("~object")],
    Discriminator(_shape),
]


class CustomerRelationFilter(_Query):
    """Filter groups by their customers."""

    id: TextFilter | None = None
    email: TextFilter | None = None
    company_name: TextFilter | None = None
    first_name: TextFilter | None = None
    last_name: TextFilter | None = None
    created_by: TextFilter | None = None
    created_at: DateOperators | None = None
    updated_at: DateOperators | None = None
    deleted_at: DateOperators | None = None


CustomersFilter = Annotated[
    Annotated[QueryText, Tag("~string")]
    | Annotated[QueryList, Tag("~array")]
    | Annotated[CustomerRelationFilter, Tag("~object")],
    Discriminator(_shape),
]


class FieldsQuery(_Query):
    """Only ``fields``: routes that return one object."""

    fields: QueryText | None = None


class _ListQuery(FieldsQuery):
    limit: Annotated[QueryInt, Field(le=MAX_LIST_LIMIT)] = DEFAULT_LIMIT
    offset: Annotated[QueryInt, Field(le=MAX_OFFSET)] = 0
    order: QueryText | None = None
    with_deleted: QueryBool = False
    q: SearchText | None = None


class CustomerFilters(_Query):
    """Filters of the customer list (also the items of ``$and`` / ``$or``)."""

    q: SearchText | None = None
    id: TextFilter | None = None
    email: TextFilter | None = None
    company_name: TextFilter | None = None
    first_name: TextFilter | None = None
    last_name: TextFilter | None = None
    phone: TextFilter | None = None
    created_by: TextFilter | None = None
    has_account: QueryBool | None = None
    groups: GroupsFilter | None = None
    created_at: DateOperators | None = None
    updated_at: DateOperators | None = None
    deleted_at: DateOperators | None = None
    and_: Annotated[list[CustomerFilters], Field(max_length=MAX_LIST_ITEMS)] | None = Field(
        None, alias="$and"
    )
    or_: Annotated[list[CustomerFilters], Field(max_length=MAX_LIST_ITEMS)] | None = Field(
        None, alias="$or"
    )


class AdminCustomerListQuery(_ListQuery, CustomerFilters):
    """``GET /admin/customers``: paging, ``fields`` and every customer filter."""


class AdminCustomerSearchQuery(FieldsQuery, CustomerFilters):
    """``GET /admin/customers/search``: the words to look up, how many hits, and list filters."""

    q: SearchText
    limit: Annotated[QueryInt, Field(ge=1, le=MAX_LIST_LIMIT)] = DEFAULT_SEARCH_LIMIT
    with_deleted: QueryBool = False


class GroupFilters(_Query):
    """Filters of the group list (also the items of ``$and`` / ``$or``)."""

    q: SearchText | None = None
    id: TextFilter | None = None
    name: TextFilter | None = None
    created_by: TextFilter | None = None
    customers: CustomersFilter | None = None
    created_at: DateOperators | None = None
    updated_at: DateOperators | None = None
    deleted_at: DateOperators | None = None
    and_: Annotated[list[GroupFilters], Field(max_length=MAX_LIST_ITEMS)] | None = Field(
        None, alias="$and"
    )
    or_: Annotated[list[GroupFilters], Field(max_length=MAX_LIST_ITEMS)] | None = Field(
        None, alias="$or"
    )


class AdminGroupListQuery(_ListQuery, GroupFilters):
    """``GET /admin/customer-groups``."""


class AddressQuery(_ListQuery):
    """``GET /admin/customers/{id}/addresses``."""

    company: ListFilter | None = None
    city: ListFilter | None = None
    country_code: ListFilter | None = None
    province: ListFilter | None = None
    postal_code: ListFilter | None = None


class StoreAddressListQuery(_ListQuery):
    """``GET /store/customers/me/addresses``."""

    city: ListFilter | None = None
    country_code: ListFilter | None = None
    postal_code: ListFilter | None = None


LIST_PARAMS = frozenset({"fields", "limit", "offset", "order", "with_deleted"})


# --- responses (documentation; the views project service DTOs onto these shapes) --------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class AddressOut(_Out):
    """An address (which fields appear depends on ``fields``)."""

    id: str
    customer_id: str | None = None
    address_name: str | None = None
    is_default_shipping: bool | None = None
    is_default_billing: bool | None = None
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
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None


class GroupSummaryOut(_Out):
    """A group as listed on a customer (``fields=*groups``)."""

    id: str
    name: str | None = None
    metadata: dict[str, Any] | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None


class CustomerOut(_Out):
    """A customer; ``addresses`` / ``groups`` appear with ``fields=*addresses`` / ``*groups``."""

    id: str
    email: str | None = None
    company_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    has_account: bool | None = None
    metadata: dict[str, Any] | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    addresses: list[AddressOut] | None = None
    groups: list[GroupSummaryOut] | None = None


class GroupOut(GroupSummaryOut):
    """A customer group; ``customers`` appears with ``fields=*customers``."""

    customers: list[CustomerOut] | None = None


class CustomerResponse(BaseModel):
    """``{customer}``."""

    customer: CustomerOut


class CustomerSearchHitOut(BaseModel):
    """One ranked hit: ``score`` is null when MongoDB answered (index unavailable)."""

    customer: CustomerOut
    score: float | None = None
    highlights: dict[str, str] = {}


class CustomerSearchResponse(BaseModel):
    """``{hits, count, took_ms}``: best hits first."""

    hits: list[CustomerSearchHitOut]
    count: int
    took_ms: float


class GroupResponse(BaseModel):
    """``{customer_group}``."""

    customer_group: GroupOut


class AddressResponse(BaseModel):
    """``{address}``."""

    address: AddressOut


class _Page(BaseModel):
    count: int
    offset: int
    limit: int


class CustomerList(_Page):
    """``{customers, count, offset, limit}``."""

    customers: list[CustomerOut]


class GroupList(_Page):
    """``{customer_groups, count, offset, limit}``."""

    customer_groups: list[GroupOut]


class AddressList(_Page):
    """``{addresses, count, offset, limit}``."""

    addresses: list[AddressOut]


class DeleteResponse(BaseModel):
    """``{id, object, deleted: true[, parent]}``."""

    id: str
    object: Literal["customer", "customer_group", "customer_address", "address"]
    deleted: Literal[True]
    parent: CustomerOut | None = None


class ErrorResponse(BaseModel):
    """Every error except 401: ``{type, message}``."""

    type: str
    message: str


class UnauthorizedResponse(BaseModel):
    """401: ``{message: "Unauthorized"}``."""

    message: Literal["Unauthorized"]


class HealthResponse(BaseModel):
    """``GET /health``: liveness only (the process answers)."""

    status: Literal["ok"]


class ReadinessCheck(BaseModel):
    """One check of ``GET /health/ready``; checks add details (``ms``, ``lag_s``, ...)."""

    model_config = ConfigDict(extra="allow")

    ok: bool
    error: str | None = None


class ReadinessResponse(BaseModel):
    """``GET /health/ready``: 200 when every check is ok; 503 adds ``type`` and ``message``."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, ReadinessCheck]
    type: str | None = None
    message: str | None = None
