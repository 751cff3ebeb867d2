"""Stored documents, built from the declarations: new ones from input, changes, and DTOs.

Writes and reads stay on PyMongo (a Beanie round trip costs measurable time on every hot
call), but the documents they write and read are shaped by :mod:`app.entities`, the same
declarations ``app.models`` generates the Beanie documents from: a new document has every
stored field in declared order, with its default, its normalisation (emails) and its derived
values (the phone's digits, the ``q`` terms: :func:`q_terms`); a DTO has every public field.
``id`` is read from ``_id`` where it is stored so. Every write of a customer, an address or a
group goes through :func:`new_document` or :func:`changes`, so the derived values cannot
drift from what they are derived from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from app.dto import (
    DTO,
    CustomerAddressDTO,
    CustomerDTO,
    CustomerGroupCustomerDTO,
    CustomerGroupDTO,
)
from app.entities import ADDRESS, CUSTOMER, GROUP, MEMBERSHIP, Entity, Kind
from app.entities.values import phone_digits
from app.errors import cannot_be_null
from app.service.rules import merge_metadata
from app.service.store import RawDoc
from app.textsearch import stored_terms

__all__ = [
    "MEMBERSHIP_PROJECTION",
    "RawDoc",
    "changes",
    "new_document",
    "pick",
    "q_terms",
    "to_dto",
]

D = TypeVar("D", bound=DTO)

_NAMES: dict[type[DTO], tuple[str, ...]] = {
    CustomerDTO: CUSTOMER.public_names,
    CustomerAddressDTO: ADDRESS.public_names,
    CustomerGroupDTO: GROUP.public_names,
    CustomerGroupCustomerDTO: MEMBERSHIP.public_names,
}


def new_document(entity: Entity, values: Mapping[str, Any], now: datetime) -> RawDoc:
    """The stored form of a new ``entity`` from validated input ``values``.

    A field left out (or null where it has a default) takes its default: a new id, ``now``
    for the timestamps, ``False`` for flags. A field that never holds null and has no default
    must be given (:raise InvalidData: Medusa's "Cannot set field … to null").
    """
    get = values.get
    doc: RawDoc = {}
    for path, field, source in entity.storage:  # called for every customer created: kept tight
        if field is None:  # an embedded relation
            doc[path] = list(get(path) or ())
        elif source is not None:
            doc[path] = phone_digits(get(source))
        elif field.kind is Kind.TERMS:
            doc[path] = None  # derived from the q fields below, in its declared place
        else:
            value = get(field.name)
            if value is None:
                if field.default is not None:
                    value = entity.initial(field, now)
                elif not field.nullable:
                    raise cannot_be_null(entity.label, field.name)
            elif field.normalize is not None:
                value = field.normalize(value)
            doc[path] = value
    if entity.q_terms is not None:
        doc[entity.q_terms] = q_terms(entity, doc)
    return doc


def q_terms(entity: Entity, doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """The ``q`` terms of a stored document of ``entity`` (the one place they are derived;
    see :func:`app.textsearch.stored_terms`)."""
    return stored_terms(doc.get(entity.field(name).path) for name in entity.q_fields)


def changes(entity: Entity, current: Mapping[str, Any], data: BaseModel) -> RawDoc:
    """The stored changes of an update (``data``: its validated input) of the stored
    ``current``: only the fields the caller passed are changed.

    Metadata is merged into the stored one (``""`` removes a key), emails normalised and the
    phone's digits follow the phone, and the ``q`` terms the ``q`` fields (or are added, to
    a document stored before they existed). Setting a field that never holds null to null is
    ``invalid_data`` (Medusa's "Cannot set field … to null").
    """
    out: RawDoc = {}
    for name in data.model_fields_set:
        value = getattr(data, name)
        field = entity.field(name)
        if value is None and not field.nullable:
            raise cannot_be_null(entity.label, name)
        if field.kind is Kind.METADATA:
            value = merge_metadata(current.get(name), value)
        elif field.normalize is not None:
            value = field.normalize(value)
        out[field.path] = value
        if field.digits:
            out[field.digits] = phone_digits(value)
    terms = entity.q_terms
    if terms is not None and (terms not in current or _changes_q(entity, out)):
        out[terms] = q_terms(entity, {**current, **out})
    return out


def _changes_q(entity: Entity, out: Mapping[str, Any]) -> bool:
    return any(entity.field(name).path in out for name in entity.q_fields)


MEMBERSHIP_PROJECTION: dict[str, Any] = {
    "_id": 0,
    **{f.name: f"$groups.{f.path}" for f in MEMBERSHIP.stored},
    "customer_id": "$_id",  # a membership's customer is the document it is embedded in
    "customer_deleted_at": "$deleted_at",
}
"""``$project`` of one unwound membership (``$groups``) as a flat row."""


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


def to_dto(
    model: type[D], raw: Mapping[str, Any], select: frozenset[str] | None = None, **rel: Any
) -> D:
    """``raw`` (a stored document or row) as a DTO of ``model``, limited to ``select``;
    relations are passed already converted (``addresses=[...]``)."""
    return model(**pick(raw, _NAMES[model], select), **rel)
