"""What the service returns: pydantic DTOs with Medusa's field names.

A DTO holds only the fields that were loaded: with ``select`` or without a relation, the
missing keys are simply absent from ``model_dump()`` (not ``None``), as Medusa returns them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

__all__ = [
    "CustomerAddressDTO",
    "CustomerDTO",
    "CustomerGroupCustomerDTO",
    "CustomerGroupDTO",
    "CustomerSearchHit",
    "CustomerSearchResult",
]


class _DTO(BaseModel):
    """Base DTO: dumps only the fields that were set when it was built."""

    model_config = ConfigDict(extra="forbid")

    @model_serializer(mode="wrap")
    def _only_loaded(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        loaded = self.model_fields_set
        return {key: value for key, value in data.items() if key in loaded}


class CustomerAddressDTO(_DTO):
    """An address of a customer."""

    id: str | None = None
    address_name: str | None = None
    is_default_shipping: bool | None = None
    is_default_billing: bool | None = None
    customer_id: str | None = None
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
    customer: CustomerDTO | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None


class CustomerGroupDTO(_DTO):
    """A customer group; ``customers`` only when that relation was asked for."""

    id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] | None = None
    created_by: str | None = None
    customers: list[CustomerDTO] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None


class CustomerDTO(_DTO):
    """A customer; ``addresses`` and ``groups`` only when those relations were asked for."""

    id: str | None = None
    email: str | None = None
    company_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    has_account: bool | None = None
    metadata: dict[str, Any] | None = None
    created_by: str | None = None
    addresses: list[CustomerAddressDTO] | None = None
    groups: list[CustomerGroupDTO] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None


class CustomerGroupCustomerDTO(_DTO):
    """One membership of a customer in a group (Medusa's pivot entity)."""

    id: str | None = None
    customer_id: str | None = None
    customer_group_id: str | None = None
    customer: CustomerDTO | None = None
    customer_group: CustomerGroupDTO | None = None
    metadata: dict[str, Any] | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None


CustomerGroupDTO.model_rebuild()
CustomerAddressDTO.model_rebuild()


class CustomerSearchHit(BaseModel):
    """One ranked hit: the customer, its score and the matched text per field.

    ``score`` is ``None`` when the search index was unavailable and MongoDB answered unranked.
    """

    customer: CustomerDTO
    score: float | None = None
    highlights: dict[str, str] = {}


class CustomerSearchResult(BaseModel):
    """The answer of ``search_customers``: best hits first, the total match count, time taken."""

    hits: list[CustomerSearchHit]
    count: int
    took_ms: float
