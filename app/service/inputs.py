"""Input models of the service methods: strict, so a wrong type or unknown key is ``invalid_data``.

The service accepts plain dicts (or these models). Types are strict (no "1" → 1 coercion) and
unknown keys are rejected, so nothing a caller sends ever reaches MongoDB unchecked.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr

__all__ = [
    "CreateAddress",
    "CreateCustomer",
    "CreateGroup",
    "GroupPair",
    "UpdateAddress",
    "UpdateCustomer",
    "UpdateGroup",
]

Metadata = dict[str, Any] | None


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _AddressFields(_Input):
    address_name: StrictStr | None = None
    is_default_shipping: StrictBool = False
    is_default_billing: StrictBool = False
    company: StrictStr | None = None
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None
    address_1: StrictStr | None = None
    address_2: StrictStr | None = None
    city: StrictStr | None = None
    country_code: StrictStr | None = None
    province: StrictStr | None = None
    postal_code: StrictStr | None = None
    phone: StrictStr | None = None
    metadata: Metadata = None


class NestedAddress(_AddressFields):
    """An address created together with its customer (``customer_id`` is filled in)."""

    id: StrictStr | None = None
    customer_id: StrictStr | None = None


class CreateAddress(_AddressFields):
    """``create_customer_addresses`` input."""

    id: StrictStr | None = None
    customer_id: StrictStr


class UpdateAddress(_AddressFields):
    """``update_customer_addresses`` data: only the keys given are changed."""

    is_default_shipping: StrictBool | None = None  # type: ignore[assignment]
    is_default_billing: StrictBool | None = None  # type: ignore[assignment]


class CreateCustomer(_Input):
    """``create_customers`` input."""

    id: StrictStr | None = None
    email: StrictStr | None = None
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None
    company_name: StrictStr | None = None
    phone: StrictStr | None = None
    has_account: StrictBool = False
    created_by: StrictStr | None = None
    metadata: Metadata = None
    addresses: list[NestedAddress] = []


class UpdateCustomer(_Input):
    """``update_customers`` data: only the keys given are changed (``has_account`` included)."""

    email: StrictStr | None = None
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None
    company_name: StrictStr | None = None
    phone: StrictStr | None = None
    has_account: StrictBool | None = None
    created_by: StrictStr | None = None
    metadata: Metadata = None


class CreateGroup(_Input):
    """``create_customer_groups`` input; a null or missing name is rejected."""

    id: StrictStr | None = None
    name: StrictStr | None = None
    created_by: StrictStr | None = None
    metadata: Metadata = None


class UpdateGroup(_Input):
    """``update_customer_groups`` data."""

    name: StrictStr | None = None
    metadata: Metadata = None


class GroupPair(_Input):
    """One (customer, group) pair for membership changes."""

    customer_id: StrictStr
    customer_group_id: StrictStr
    created_by: StrictStr | None = None
    metadata: Metadata = None


def given(model: BaseModel) -> dict[str, Any]:
    """Return only the fields the caller actually passed (so updates touch nothing else)."""
    return {key: getattr(model, key) for key in model.model_fields_set}
