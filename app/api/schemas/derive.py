"""HTTP models generated from the entity declarations: bodies, filters and response shapes.

A body holds the fields a route may set (``Field.create`` / ``update`` with ``Who.ADMIN`` or
``Who.STORE``), in declared order (Medusa's); a filter model the fields a route may filter on
(``Filter.routes``), text first, then flags, relations and dates, as Medusa lists them; a
response model every public field. Only what is not about one field is written by hand in
:mod:`app.api.schemas`: names, descriptions, paging, and which model a relation holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model

from app import bounded
from app.api.schemas.values import (
    DateOperators,
    Email,
    ListFilter,
    Query,
    QueryBool,
    SearchText,
    TextFilter,
    optional,
    relation_filter,
)
from app.entities import Entity, Kind, Who
from app.entities import Field as EntityField
from app.limits import MAX_LIST_ITEMS

__all__ = [
    "ADDITIONAL_DATA",
    "Body",
    "Out",
    "body_model",
    "filters_model",
    "list_filters",
    "out_model",
    "relation_filter_model",
]


class Body(BaseModel):
    """Base of the request bodies: strict, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True)

    def data(self) -> dict[str, Any]:
        """The fields the client sent, minus ``additional_data`` (kept for workflow hooks)."""
        return self.model_dump(exclude_unset=True, exclude={"additional_data"})


class Out(BaseModel):
    """Base of the response shapes (documentation: the views project DTOs onto them)."""

    model_config = ConfigDict(extra="allow")


_BODY_TYPES: dict[Kind, Any] = {
    Kind.ID: bounded.Id,
    Kind.TEXT: bounded.Text,
    Kind.EMAIL: Email,
    Kind.BOOL: StrictBool,
    Kind.METADATA: bounded.Metadata,
}
ADDITIONAL_DATA = (dict[str, Any] | None, None)
"""Medusa's ``additional_data`` of a body: accepted and passed to workflow hooks (none here)."""


def body_model(
    name: str,
    entity: Entity,
    who: Who,
    *,
    on_create: bool,
    doc: str,
    base: type[BaseModel] = Body,
    extra: Mapping[str, Any] | None = None,
) -> Any:
    """The body of a route where ``who`` creates (``on_create``) or updates ``entity``.

    A nullable field may be sent as null; one that is not may be left out (it keeps its value
    or takes its default) unless a create must give it (a group's name).
    """
    fields: dict[str, Any] = {}
    for field in entity.writable(who, on_create=on_create):
        kind = _BODY_TYPES[field.kind]
        if field.nullable:
            fields[field.name] = (kind | None, None)
        elif on_create and field.default is None:
            fields[field.name] = (kind, ...)
        else:
            fields[field.name] = (kind, optional())
    fields.update(extra or {})
    return create_model(name, __base__=base, __module__=__name__, __doc__=doc, **fields)


def _filter_type(field: EntityField) -> Any:
    assert field.filter is not None
    if field.kind.is_string:
        return TextFilter if field.filter.operator_map else ListFilter
    return QueryBool if field.kind is Kind.BOOL else DateOperators


def _filter_fields(
    entity: Entity, offered: Callable[[EntityField], bool], relations: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``offered`` filter fields of ``entity`` in Medusa's order: text, flags, relation
    filters (``relations``: name → the model each takes), dates."""

    def of(*kinds: Kind) -> dict[str, Any]:
        return {
            f.name: (_filter_type(f) | None, None)
            for f in entity.fields
            if f.kind in kinds and f.filter is not None and offered(f)
        }

    return {
        **of(Kind.ID, Kind.TEXT, Kind.EMAIL),
        **of(Kind.BOOL),
        **{name: (relation_filter(model) | None, None) for name, model in relations.items()},
        **of(Kind.DATE),
    }


def _routes(who: Who) -> Callable[[EntityField], bool]:
    """Whether ``who``'s list route offers a field's filter."""
    return lambda field: field.filter is not None and bool(who & field.filter.routes)


def relation_filter_model(name: str, entity: Entity, *, doc: str) -> Any:
    """What another entity's list may filter ``entity`` by (``groups[name]=…``)."""
    fields = _filter_fields(entity, lambda f: f.filter is not None and f.filter.nested, {})
    return create_model(name, __base__=Query, __module__=__name__, __doc__=doc, **fields)


def filters_model(
    name: str,
    entity: Entity,
    who: Who,
    *,
    doc: str,
    relations: Mapping[str, type[BaseModel]] | None = None,
) -> Any:
    """The filters of ``who``'s list of ``entity``: ``q``, its fields, its relation filters
    (``relations``: the model each takes) and ``$and`` / ``$or`` lists of the same."""
    fields: dict[str, Any] = {"q": (SearchText | None, None)}
    fields.update(_filter_fields(entity, _routes(who), relations or {}))
    # a list of the model being built: a forward reference by name, resolved just below
    branches = Annotated[list[name], Field(max_length=MAX_LIST_ITEMS)] | None  # type: ignore[valid-type]
    fields["and_"] = (branches, Field(None, alias="$and"))
    fields["or_"] = (branches, Field(None, alias="$or"))
    model = create_model(name, __base__=Query, __module__=__name__, __doc__=doc, **fields)
    model.model_rebuild(_types_namespace={name: model})
    return model


def list_filters(name: str, entity: Entity, who: Who, *, base: type[BaseModel], doc: str) -> Any:
    """A list query (``base``: paging and ``fields``) with ``who``'s filters of ``entity``."""
    fields = _filter_fields(entity, _routes(who), {})
    return create_model(name, __base__=base, __module__=__name__, __doc__=doc, **fields)


def out_model(
    name: str,
    entity: Entity,
    *,
    doc: str,
    base: type[BaseModel] = Out,
    relations: Mapping[str, type[BaseModel]] | None = None,
) -> Any:
    """A response shape: every public field of ``entity`` (only ``id`` always there), then
    ``relations`` (name → item model)."""
    fields: dict[str, Any] = {}
    for field in entity.public:
        kind = field.kind.python_type
        fields[field.name] = (kind, ...) if field.name == "id" else (kind | None, None)
    for relation, item in (relations or {}).items():
        many = entity.relation(relation).many
        # ``item`` is a model class held in a variable, which type checkers cannot follow
        fields[relation] = ((list[item] if many else item) | None, None)  # type: ignore[valid-type]
    return create_model(name, __base__=base, __module__=__name__, __doc__=doc, **fields)
