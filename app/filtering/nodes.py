"""The compiled form of a filter: a small tree every reader of filters consumes. Pure.

Medusa-style filters (``{"email": …, "$or": [...], "q": …, "groups": …}``) are compiled once
(:func:`app.filtering.compile_filters`) into these nodes, with every value already checked
against its field and normalised (emails lower-cased, dates aware datetimes). MongoDB
(``app.service.mongo_filters``) and the search index (``indexers.reader``) translate the same
tree, so they can never disagree about what a filter means::

    And(parts)               every part holds (a filter object, a ``$and`` list)
    Or(parts)                some part holds (a ``$or`` list)
    Compare(field, op, v)    one condition on a declared field
    Text(words)              ``q``: every word matches a searched field (``app.textsearch``)
    Related(relation, where) the entity is linked to a related one matching ``where``;
                             ``ids`` once resolved to the related ids (by the service)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from app.entities import Op

__all__ = ["And", "Compare", "Node", "Or", "Related", "Text", "contains", "has_text", "walk"]


@dataclass(frozen=True, slots=True)
class And:
    """Every part holds; no parts: everything matches."""

    parts: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class Or:
    """At least one part holds."""

    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op value``: ``value`` has the field's type (a tuple for ``$in`` / ``$nin``, the
    raw pattern for ``$like`` / ``$ilike``; ``None`` stands for null)."""

    field: str
    op: Op
    value: Any


@dataclass(frozen=True, slots=True)
class Text:
    """``q``: every word must match one of the entity's searched fields; no words: no
    condition (a blank ``q`` still counts as a search)."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Related:
    """A link to related entities (``groups`` of a customer) that match ``where``.

    ``ids`` is ``None`` until the service resolves ``where`` to the related ids
    (``app.service.queries.resolve_relations``); readers need it resolved.
    """

    relation: str
    where: Node
    ids: tuple[str, ...] | None = None

    def resolved(self, ids: tuple[str, ...]) -> Related:
        """This link, resolved to ``ids``."""
        return replace(self, ids=ids)


Node = And | Or | Compare | Text | Related
"""A compiled filter (its root is an :class:`And`)."""


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree under ``node`` (itself first), not entering related filters."""
    yield node
    if isinstance(node, And | Or):
        for part in node.parts:
            yield from walk(part)


def contains(node: Node | None, kind: type[Node]) -> bool:
    """Whether the tree under ``node`` has a node of ``kind`` (not entering related filters)."""
    if isinstance(node, kind):
        return True
    return isinstance(node, And | Or) and any(contains(part, kind) for part in node.parts)


def has_text(node: Node | None) -> bool:
    """Whether the filter searches with ``q`` (at any level of ``$and`` / ``$or``)."""
    return contains(node, Text)
