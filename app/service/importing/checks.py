"""Validating an import row with the service's own input models, knowing which field failed.

The models are the ones every write validates with (``app.service.inputs``), and the messages
are the API's (``app.input_checks``); what the import adds is the failing field's path, so the
error file can name the column. The JSONL restore path also takes what no API input may set
(timestamps, ``deleted_at``, ``merged_into``, ``provenance``, stored memberships): those are
checked here by models built from the same declarations and bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from app import bounded
from app.dataio.layout import (
    JSONL_CUSTOMER_KEYS,
    JSONL_GROUP_KEYS,
    JSONL_OPTIONAL_KEYS,
    parse_date,
)
from app.entities import CUSTOMER, GROUP, MEMBERSHIP, Entity, Field, Kind
from app.errors import CustomerModuleError, quote
from app.input_checks import check_storable, invalid_data_from

__all__ = ["RowFailure", "checked", "restore_fields", "restored_dates", "stored_membership"]

M = TypeVar("M", bound=BaseModel)


class RowFailure(Exception):
    """One row cannot be imported: the field (a path such as ``addresses.0.city``) and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    @classmethod
    def of(cls, exc: CustomerModuleError, field: str = "") -> RowFailure:
        """The service's error ``exc`` as a failure of ``field``."""
        return cls(field, exc.message)


def checked(model: type[M], data: Mapping[str, Any], prefix: str = "") -> M:
    """``data`` validated by ``model`` exactly as :func:`app.input_checks.validate` does, but
    failing with the path of the first bad field."""
    try:
        check_storable(data)
    except CustomerModuleError as exc:
        raise RowFailure.of(exc, prefix.rstrip(".")) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc = exc.errors(include_url=False)[0]["loc"] if exc.errors() else ()
        path = ".".join(str(part) for part in loc if not str(part).startswith("~"))
        raise RowFailure(prefix + path, invalid_data_from(exc).message) from None


_BOUNDED: dict[Kind, Any] = {
    Kind.DATE: str,
    Kind.ID: bounded.Id,
    Kind.TEXT: bounded.Text,
    Kind.METADATA: bounded.Metadata,
}


_LINE_KEYS = {
    CUSTOMER.name: frozenset((*JSONL_CUSTOMER_KEYS, *JSONL_OPTIONAL_KEYS)),
    GROUP.name: frozenset(JSONL_GROUP_KEYS),
}


def _restorable(entity: Entity) -> tuple[Field, ...]:
    """What only a restore sets: the system fields its JSONL line holds, but the id (ordinary
    input). What the store derives (the version, ``q``'s terms) is never taken from a file."""
    keys = _LINE_KEYS[entity.name]
    return tuple(f for f in entity.stored if f.system and f.name != "id" and f.name in keys)


def _restore_model(entity: Entity) -> type[BaseModel]:
    fields: dict[str, Any] = {f.name: (_BOUNDED[f.kind] | None, None) for f in _restorable(entity)}
    config = ConfigDict(extra="ignore", strict=True)
    return create_model(f"Restore{entity.model}", __config__=config, **fields)


_RESTORE = {entity.name: _restore_model(entity) for entity in (CUSTOMER, GROUP)}


def restore_fields(entity: Entity, values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The restore-only fields of ``values`` for ``entity``, checked; dates parsed."""
    model = _RESTORE[entity.name]
    given = checked(model, {k: values[k] for k in values if k in model.model_fields}, prefix)
    out = given.model_dump(exclude_unset=True)
    for name in entity.dates:
        if out.get(name) is not None:
            out[name] = _date(out[name], prefix + name)
    return out


def restored_dates(values: Mapping[str, Any], prefix: str) -> dict[str, datetime | None]:
    """The timestamps of a nested stored item (an address, a membership), parsed."""
    out: dict[str, datetime | None] = {}
    for name in ("created_at", "updated_at", "deleted_at"):
        if name in values:
            value = values[name]
            if value is not None and not isinstance(value, str):
                raise RowFailure(
                    prefix + name,
                    f"Invalid request: Expected type: 'date' for field '{prefix + name}'",
                )
            out[name] = None if value is None else _date(value, prefix + name)
    return out


def _date(text: str, path: str) -> datetime:
    try:
        return parse_date(text)
    except ValueError:
        raise RowFailure(
            path, f"Invalid request: Field '{quote(path)}' must be an ISO-8601 date"
        ) from None


_MEMBERSHIP_FIELDS: dict[str, Any] = {
    f.name: (Any if f.kind is Kind.DATE else _BOUNDED[f.kind] | None, None)
    for f in MEMBERSHIP.fields
}
_MEMBERSHIP = create_model(
    "StoredMembership",
    __config__=ConfigDict(extra="forbid", strict=True),
    **_MEMBERSHIP_FIELDS,
)
"""A membership as the JSONL restore takes it: its fields, dates checked apart."""


def stored_membership(value: Any, prefix: str) -> dict[str, Any]:
    """One membership of a JSONL customer line, checked: its stored fields, dates parsed."""
    if not isinstance(value, dict):
        raise RowFailure(prefix.rstrip("."), "Invalid request: a membership must be an object")
    item = checked(_MEMBERSHIP, value, prefix)
    out = {**item.model_dump(exclude={"customer_id"}), **restored_dates(value, prefix)}
    return {name: out.get(name) for name in MEMBERSHIP.columns}
