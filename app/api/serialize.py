"""Service DTOs → response JSON, limited to what ``fields`` selects.

The shapes are Medusa's default field sets per route, read from the declarations
(``Field.response``, ``Relation.response`` / ``default``): admin customers carry no relations
unless asked; admin addresses leave out ``address_name`` and the default flags; store
customers include their addresses (every field of them) and leave out ``created_by``; store
addresses include the default flags.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json

from app.api.fields import Selection, Shape, select
from app.entities import ADDRESS, CUSTOMER, ENTITIES, Entity, Who
from app.entities import GROUP as ENTITY_GROUP

__all__ = [
    "ADMIN_ADDRESS",
    "ADMIN_CUSTOMER",
    "GROUP",
    "STORE_ADDRESS",
    "STORE_CUSTOMER",
    "dump",
    "dump_many",
    "dump_many_json",
    "select",
    "shape",
]


def _item(entity: Entity) -> Shape:
    """A related entity inside another's response: every field of it."""
    return Shape(fields=entity.public_names, defaults=entity.public_names)


def shape(entity: Entity, who: Who) -> Shape:
    """What ``who``'s routes (``Who.ADMIN`` or ``Who.STORE``) return of ``entity``: the
    declared default fields and relations, and what ``fields`` may add."""
    relations = [r for r in entity.relations if r.response & who]
    return Shape(
        fields=entity.public_names,
        defaults=entity.response_names(who),
        relations={r.name: _item(ENTITIES[r.target]) for r in relations},
        default_relations=tuple(r.name for r in relations if r.default & who),
    )


ADMIN_ADDRESS = shape(ADDRESS, Who.ADMIN)
STORE_ADDRESS = shape(ADDRESS, Who.STORE)
ADMIN_CUSTOMER = shape(CUSTOMER, Who.ADMIN)
STORE_CUSTOMER = shape(CUSTOMER, Who.STORE)
GROUP = shape(ENTITY_GROUP, Who.ADMIN)


def dump(dto: BaseModel | None, selection: Selection) -> dict[str, Any] | None:
    """One DTO as response JSON."""
    if dto is None:
        return None
    return selection.project(dto.model_dump(mode="json"))


def dump_many(dtos: Iterable[BaseModel], selection: Selection) -> list[dict[str, Any]]:
    """Several DTOs as response JSON."""
    return [selection.project(dto.model_dump(mode="json")) for dto in dtos]


def dump_many_json(dtos: Sequence[BaseModel], selection: Selection) -> bytes | None:
    """Several DTOs as the JSON :func:`dump_many` and the app's encoder (compact, ASCII) write,
    their selected values handed to pydantic-core's serializer in one call: a list page's
    items cost a third as much (no DTO serializer, no dicts for Python's encoder).

    Only for a selection of fields without relations that every DTO holds (a DTO dumps the
    fields it was given; :meth:`Selection.project` writes the others as null): a page the
    search index served has them all. None otherwise: the dict path."""
    if selection.relations:
        return None
    names = selection.fields
    chosen = set(names)
    if any(not chosen <= dto.model_fields_set for dto in dtos):
        return None
    rows = [{name: values[name] for name in names} for values in map(vars, dtos)]
    return to_json(rows, ensure_ascii=True)
