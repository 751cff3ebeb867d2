"""Response models of the privacy routes: one customer's data export, and an erasure.

The data export's objects have the keys of :mod:`app.service.data_export`, which takes them
from the file layouts (themselves derived from the declarations); here they only become
documented models. Values stay loosely typed: the document repeats what is stored, whatever
it is (a customer stored before a limit existed is exported as it is).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, create_model

from app.dataio.layout import JSONL_ADDRESS_KEYS, JSONL_MEMBERSHIP_KEYS
from app.service.data_export import CUSTOMER_KEYS, MEMBERSHIP_EXTRA_KEYS

__all__ = ["CustomerDataExport", "ErasureReceiptOut", "ErasureResponse"]


class _Exported(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _exported(name: str, keys: tuple[str, ...], doc: str) -> Any:
    """A model with one required key per name in ``keys`` (any JSON value, null included)."""
    fields: dict[str, Any] = dict.fromkeys(keys, (Any, ...))
    return create_model(name, __base__=_Exported, __module__=__name__, __doc__=doc, **fields)


ExportedCustomer = _exported(
    "ExportedCustomer", CUSTOMER_KEYS, "The customer as stored, internal fields included."
)
ExportedAddress = _exported(
    "ExportedAddress", JSONL_ADDRESS_KEYS, "An address as stored (deleted ones too)."
)
ExportedMembership = _exported(
    "ExportedMembership",
    (*JSONL_MEMBERSHIP_KEYS, *MEMBERSHIP_EXTRA_KEYS),
    "A group membership as stored, with the group's name and deletion time.",
)


class IdentityLinkOut(BaseModel):
    """An auth identity registered as the customer."""

    auth_identity_id: str
    created_at: str | None


class CustomerDataExport(BaseModel):
    """Everything stored about one customer (``GET /admin/customers/{id}/data-export``)."""

    customer: ExportedCustomer  # type: ignore[valid-type]
    addresses: list[ExportedAddress]  # type: ignore[valid-type]
    groups: list[ExportedMembership]  # type: ignore[valid-type]
    merged_customers: list[str]
    identity_links: list[IdentityLinkOut]
    exported_at: str


class ErasureReceiptOut(BaseModel):
    """The receipt of one erased customer: nothing personal."""

    id: str
    erased_at: str
    by: str | None


class ErasureResponse(BaseModel):
    """``POST /admin/customers/{id}/erase``: the customer's receipt, those of the customers
    merged into it, the ids this call removed (empty when erased before), and whether the
    search index no longer holds them (``pending``: it drops them when its indexer catches
    up; ``none``: this process has no search index)."""

    id: str
    object: Literal["customer_erasure"]
    erased_at: str
    by: str | None
    merged: list[ErasureReceiptOut]
    erased: list[str]
    search_index: Literal["removed", "pending", "none"]
