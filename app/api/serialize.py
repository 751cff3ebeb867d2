"""Service DTOs → response JSON, limited to what ``fields`` selects.

The shapes are Medusa's default field sets per route (reference 4.2 to 4.4): admin customers
carry no relations unless asked; admin addresses leave out ``address_name`` and the default
flags; store customers include every field of their addresses; store addresses include the
default flags.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from app.api.fields import Selection, Shape, select
from app.service.serialize import ADDRESS_FIELDS, CUSTOMER_FIELDS, GROUP_FIELDS

__all__ = [
    "ADMIN_ADDRESS",
    "ADMIN_CUSTOMER",
    "GROUP",
    "STORE_ADDRESS",
    "STORE_CUSTOMER",
    "dump",
    "dump_many",
    "select",
]

_ADMIN_ADDRESS_DEFAULTS = (
    "id", "company", "customer_id", "first_name", "last_name", "address_1", "address_2", "city",
    "province", "postal_code", "country_code", "phone", "metadata", "created_at", "updated_at",
)  # fmt: skip

ADMIN_ADDRESS = Shape(fields=ADDRESS_FIELDS, defaults=_ADMIN_ADDRESS_DEFAULTS)
STORE_ADDRESS = Shape(
    fields=ADDRESS_FIELDS,
    defaults=(*_ADMIN_ADDRESS_DEFAULTS, "is_default_shipping", "is_default_billing"),
)
_GROUP_ITEM = Shape(fields=GROUP_FIELDS, defaults=GROUP_FIELDS)
_CUSTOMER_ITEM = Shape(fields=CUSTOMER_FIELDS, defaults=CUSTOMER_FIELDS)
_ADDRESS_ITEM = Shape(fields=ADDRESS_FIELDS, defaults=ADDRESS_FIELDS)

ADMIN_CUSTOMER = Shape(
    fields=CUSTOMER_FIELDS,
    defaults=CUSTOMER_FIELDS,
    relations={"addresses": _ADDRESS_ITEM, "groups": _GROUP_ITEM},
)
STORE_CUSTOMER = Shape(
    fields=CUSTOMER_FIELDS,
    defaults=tuple(f for f in CUSTOMER_FIELDS if f != "created_by"),
    relations={"addresses": _ADDRESS_ITEM},
    default_relations=("addresses",),
)
GROUP = Shape(fields=GROUP_FIELDS, defaults=GROUP_FIELDS, relations={"customers": _CUSTOMER_ITEM})


def dump(dto: BaseModel | None, selection: Selection) -> dict[str, Any] | None:
    """One DTO as response JSON."""
    if dto is None:
        return None
    return selection.project(dto.model_dump(mode="json"))


def dump_many(dtos: Iterable[BaseModel], selection: Selection) -> list[dict[str, Any]]:
    """Several DTOs as response JSON."""
    return [selection.project(dto.model_dump(mode="json")) for dto in dtos]
