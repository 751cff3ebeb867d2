"""Input models of the service methods: strict, so a wrong type or unknown key is ``invalid_data``.

The service accepts plain dicts (or these models). Types are strict (no "1" → 1 coercion),
unknown keys are rejected and every value is bounded (``app.bounded``, from ``app.limits``), so
nothing a caller sends ever reaches MongoDB unchecked, whatever the path in (HTTP, CLI, import).
``created_by`` is text, not an id: it comes from the caller's credentials, not from the client.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from app.bounded import Email, Id, Text
from app.bounded import Metadata as BoundedMetadata
from app.limits import MAX_ADDRESSES

__all__ = [
    "CreateAddress",
    "CreateCustomer",
    "CreateGroup",
    "GroupPair",
    "UpdateAddress",
    "UpdateCustomer",
    "UpdateGroup",
]

Metadata = BoundedMetadata | None


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _AddressFields(_Input):
    address_name: Text | None = None
    is_default_shipping: StrictBool = False
    is_default_billing: StrictBool = False
    company: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    address_1: Text | None = None
    address_2: Text | None = None
    city: Text | None = None
    country_code: Text | None = None
    province: Text | None = None
    postal_code: Text | None = None
    phone: Text | None = None
    metadata: Metadata = None


class NestedAddress(_AddressFields):
    """An address created together with its customer (``customer_id`` is filled in)."""

    id: Id | None = None
    customer_id: Id | None = None


class CreateAddress(_AddressFields):
    """``create_customer_addresses`` input."""

    id: Id | None = None
    customer_id: Id


class UpdateAddress(_AddressFields):
    """``update_customer_addresses`` data: only the keys given are changed."""

    is_default_shipping: StrictBool | None = None  # type: ignore[assignment]
    is_default_billing: StrictBool | None = None  # type: ignore[assignment]


class CreateCustomer(_Input):
    """``create_customers`` input."""

    id: Id | None = None
    email: Email | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    company_name: Text | None = None
    phone: Text | None = None
    has_account: StrictBool = False
    created_by: Text | None = None
    metadata: Metadata = None
    addresses: Annotated[list[NestedAddress], Field(max_length=MAX_ADDRESSES)] = []


class UpdateCustomer(_Input):
    """``update_customers`` data: only the keys given are changed (``has_account`` included)."""

    email: Email | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    company_name: Text | None = None
    phone: Text | None = None
    has_account: StrictBool | None = None
    created_by: Text | None = None
    metadata: Metadata = None


class CreateGroup(_Input):
    """``create_customer_groups`` input; a null or missing name is rejected."""

    id: Id | None = None
    name: Text | None = None
    created_by: Text | None = None
    metadata: Metadata = None


class UpdateGroup(_Input):
    """``update_customer_groups`` data."""

    name: Text | None = None
    metadata: Metadata = None


class GroupPair(_Input):
    """One (customer, group) pair for membership changes."""

    customer_id: Id
    customer_group_id: Id
    created_by: Text | None = None
    metadata: Metadata = None


def given(model: BaseModel) -> dict[str, Any]:
    """Return only the fields the caller actually passed (so updates touch nothing else)."""
    return {key: getattr(model, key) for key in model.model_fields_set}
