"""Raw MongoDB documents → DTOs, honouring ``select``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.dto import CustomerAddressDTO, CustomerDTO, CustomerGroupCustomerDTO, CustomerGroupDTO

__all__ = [
    "ADDRESS_FIELDS",
    "CUSTOMER_FIELDS",
    "GROUP_FIELDS",
    "MEMBERSHIP_FIELDS",
    "address_dto",
    "customer_dto",
    "group_dto",
    "membership_dto",
    "pick",
]

CUSTOMER_FIELDS = (
    "id", "email", "company_name", "first_name", "last_name", "phone", "has_account",
    "metadata", "created_by", "created_at", "updated_at", "deleted_at",
)  # fmt: skip
GROUP_FIELDS = ("id", "name", "metadata", "created_by", "created_at", "updated_at", "deleted_at")
ADDRESS_FIELDS = (
    "id", "address_name", "is_default_shipping", "is_default_billing", "customer_id", "company",
    "first_name", "last_name", "address_1", "address_2", "city", "country_code", "province",
    "postal_code", "phone", "metadata", "created_at", "updated_at", "deleted_at",
)  # fmt: skip
MEMBERSHIP_FIELDS = (
    "id", "customer_id", "customer_group_id", "metadata", "created_by",
    "created_at", "updated_at", "deleted_at",
)  # fmt: skip


def pick(
    raw: Mapping[str, Any], fields: Iterable[str], select: frozenset[str] | None
) -> dict[str, Any]:
    """Copy the DTO fields of ``raw`` (``_id`` read as ``id``), limited to ``select``."""
    out: dict[str, Any] = {}
    for name in fields:
        if select is not None and name not in select and name != "id":
            continue
        out[name] = raw.get("_id", raw.get("id")) if name == "id" else raw.get(name)
    return out


def customer_dto(
    raw: Mapping[str, Any], select: frozenset[str] | None = None, **rel: Any
) -> CustomerDTO:
    """A customer DTO; relations (``addresses``, ``groups``) are passed already converted."""
    return CustomerDTO(**pick(raw, CUSTOMER_FIELDS, select), **rel)


def address_dto(
    raw: Mapping[str, Any], select: frozenset[str] | None = None, **rel: Any
) -> CustomerAddressDTO:
    """An address DTO; ``customer`` is passed already converted."""
    return CustomerAddressDTO(**pick(raw, ADDRESS_FIELDS, select), **rel)


def group_dto(
    raw: Mapping[str, Any], select: frozenset[str] | None = None, **rel: Any
) -> CustomerGroupDTO:
    """A group DTO; ``customers`` is passed already converted."""
    return CustomerGroupDTO(**pick(raw, GROUP_FIELDS, select), **rel)


def membership_dto(
    raw: Mapping[str, Any], select: frozenset[str] | None = None, **rel: Any
) -> CustomerGroupCustomerDTO:
    """A membership DTO (Medusa's CustomerGroupCustomer)."""
    return CustomerGroupCustomerDTO(**pick(raw, MEMBERSHIP_FIELDS, select), **rel)
