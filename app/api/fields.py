"""The ``fields`` query parameter: which fields and relations a response carries.

Medusa's rules (``prepareListQuery``): entries are comma-separated. If any entry has no
modifier, the listed fields **replace** the defaults; if every entry has one, the defaults are
adjusted: ``+f`` or `` f`` (a URL "+" decodes to a space) adds ``f``, ``-f`` removes ``f`` and
everything under it, ``*rel`` / ``rel.*`` selects every field of a relation, ``rel.f`` one of
its fields. ``id`` is always included. Names that are neither a field nor a relation of the
entity are dropped (Medusa's behaviour with field filtering on), never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Selection", "Shape", "select"]

_MODIFIERS = ("-", "+", " ", "*")


@dataclass(frozen=True)
class Shape:
    """What one route can return: the entity's fields, its defaults and its relations."""

    fields: tuple[str, ...]
    defaults: tuple[str, ...]
    relations: Mapping[str, Shape] = field(default_factory=dict)
    default_relations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Selection:
    """The fields and relations chosen for a response, and the projection onto them."""

    fields: tuple[str, ...]
    relations: Mapping[str, Selection] = field(default_factory=dict)

    @property
    def relation_names(self) -> list[str]:
        """Relations the service must load."""
        return list(self.relations)

    def project(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``data`` limited to the selection (a relation not loaded reads as ``[]``)."""
        out = {name: data.get(name) for name in self.fields}
        for name, sub in self.relations.items():
            items = data.get(name) or []
            out[name] = [sub.project(item) for item in items]
        return out


def _entries(raw: str | None, shape: Shape) -> list[str]:
    defaults = [*shape.defaults, *(f"*{r}" for r in shape.default_relations)]
    if raw is None:
        return defaults
    entries = [e for e in raw.split(",") if e.strip()]
    if not entries:
        return defaults
    if any(not e.startswith(_MODIFIERS) for e in entries):
        return [e.strip().lstrip("+-").strip() for e in entries] + ["id"]
    chosen = list(defaults)
    for entry in entries:
        if entry.startswith("-"):
            name = entry[1:].strip()
            chosen = [
                c for c in chosen if c != name and c != f"*{name}" and not c.startswith(f"{name}.")
            ]
        else:
            chosen.append(entry.strip().lstrip("+").strip())
    return [*chosen, "id"]


def select(raw: str | None, shape: Shape) -> Selection:
    """Resolve the ``fields`` parameter against ``shape``."""
    root: set[str] = set()
    wanted: dict[str, set[str] | None] = {}  # relation -> its fields (None = all)
    for entry in _entries(raw, shape):
        if entry == "*":
            root.update(shape.fields)
            continue
        if entry.startswith("*"):
            relation, sub = entry[1:], None
        elif "." in entry:
            relation, sub = entry.split(".", 1)
            sub = None if sub == "*" else sub
        elif entry in shape.relations:
            relation, sub = entry, None
        else:
            if entry in shape.fields:
                root.add(entry)
            continue
        if relation not in shape.relations:
            if sub is None and relation in shape.fields:
                root.add(relation)  # `*address_name` on a plain field selects that field
            continue
        subs = wanted.setdefault(relation, set())
        if sub is None:
            wanted[relation] = None
        elif subs is not None:
            subs.add(sub)
    relations: dict[str, Selection] = {}
    for relation, subs in wanted.items():
        related = shape.relations[relation]
        names = related.fields if subs is None else [f for f in related.fields if f in subs]
        if "id" not in names:
            names = ["id", *names]
        relations[relation] = Selection(fields=tuple(names))
    return Selection(fields=tuple(f for f in shape.fields if f in root), relations=relations)
