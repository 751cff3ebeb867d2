"""Input models of the service methods, generated from the declarations: strict and bounded.

A model holds the fields the service may set on create (or update) of its entity
(``Field.create`` / ``Field.update`` hold ``Who.SERVICE``). Types are strict (no "1" → 1
coercion), unknown keys are rejected and every value is bounded (``app.bounded``, from
``app.limits``), so nothing a caller sends ever reaches MongoDB unchecked, whatever the path in
(HTTP, CLI, import). On create, a field with a default may be left out and one without may be
null until the service checks it (Medusa's "Cannot set field … to null"); on update every field
is optional and only the keys given are changed. ``created_by`` is text, not an id: it comes
from the caller's credentials, not from the client.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model

from app import bounded
from app.entities import ADDRESS, CUSTOMER, GROUP, MEMBERSHIP, NEW_ID, NOW, Entity, Kind, Who
from app.limits import MAX_ADDRESSES

__all__ = [
    "CreateAddress",
    "CreateCustomer",
    "CreateGroup",
    "GroupPair",
    "NestedAddress",
    "UpdateAddress",
    "UpdateCustomer",
    "UpdateGroup",
]

_BOUNDED: dict[Kind, Any] = {
    Kind.ID: bounded.Id,
    Kind.TEXT: bounded.Text,
    Kind.EMAIL: bounded.Email,
    Kind.BOOL: StrictBool,
    Kind.METADATA: bounded.Metadata,
}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _input_model(
    name: str,
    entity: Entity,
    *,
    on_create: bool,
    doc: str,
    required: Collection[str] = (),
    extra: dict[str, Any] | None = None,
) -> Any:
    """The service's input model for creating (``on_create``) or updating ``entity``.

    ``required`` names fields that must be given (a parent's id); ``extra`` adds fields that
    are not the entity's own (a customer's nested addresses).
    """
    fields: dict[str, Any] = {}
    for field in entity.writable(Who.SERVICE, on_create=on_create):
        kind = _BOUNDED[field.kind]
        if field.name in required:
            fields[field.name] = (kind, ...)
        elif on_create and not field.nullable and field.default not in (None, NEW_ID, NOW):
            fields[field.name] = (kind, field.default)
        else:
            fields[field.name] = (kind | None, None)
    fields.update(extra or {})
    return create_model(name, __base__=_Input, __module__=__name__, __doc__=doc, **fields)


NestedAddress = _input_model(
    "NestedAddress",
    ADDRESS,
    on_create=True,
    doc="An address created together with its customer (``customer_id`` is filled in).",
)
CreateAddress = _input_model(
    "CreateAddress",
    ADDRESS,
    on_create=True,
    required=("customer_id",),
    doc="``create_customer_addresses`` input.",
)
UpdateAddress = _input_model(
    "UpdateAddress",
    ADDRESS,
    on_create=False,
    doc="``update_customer_addresses`` data: only the keys given are changed.",
)
CreateCustomer = _input_model(
    "CreateCustomer",
    CUSTOMER,
    on_create=True,
    extra={"addresses": (Annotated[list[NestedAddress], Field(max_length=MAX_ADDRESSES)], [])},
    doc="``create_customers`` input.",
)
UpdateCustomer = _input_model(
    "UpdateCustomer",
    CUSTOMER,
    on_create=False,
    doc="``update_customers`` data: only the keys given are changed (``has_account`` included).",
)
CreateGroup = _input_model(
    "CreateGroup",
    GROUP,
    on_create=True,
    doc="``create_customer_groups`` input; a null or missing name is rejected.",
)
UpdateGroup = _input_model(
    "UpdateGroup", GROUP, on_create=False, doc="``update_customer_groups`` data."
)
GroupPair = _input_model(
    "GroupPair",
    MEMBERSHIP,
    on_create=True,
    required=("customer_id", "customer_group_id"),
    doc="One (customer, group) pair for membership changes.",
)
