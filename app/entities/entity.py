"""An entity: its declared fields and relations, and the views every other layer reads.

The views (which fields a role may write, which ones ``q`` searches, which ones the search
index filters or sorts, …) are computed once per entity: an entity never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from app.entities.traits import NEW_ID, NOW, Field, Index, Kind, Relation, Role, Who
from app.ids import new_id

__all__ = ["Entity"]


@dataclass(frozen=True)
class Entity:
    """One entity: its fields and relations, in Medusa's order, and the views derived from them.

    :param name: Medusa's entity name in error messages (``customer_group``).
    :param model: Medusa's model name (``CustomerGroup``; its DTO is ``CustomerGroupDTO``).
    :param label: how messages about its fields name it ("Customer group").
    :param id_prefix: the prefix of its ids (``cusgroup``).
    :param members: its fields and relations.
    """

    name: str
    model: str
    label: str
    id_prefix: str
    members: tuple[Field | Relation, ...]

    def __post_init__(self) -> None:
        names = [member.name for member in self.members]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: a field or relation is declared twice")
        ranks = [f.q for f in self.fields if f.q is not None]
        if len(ranks) != len(set(ranks)):
            raise ValueError(f"{self.name}: two fields share a place in q")
        terms = [f for f in self.fields if f.kind is Kind.TERMS]
        if len(terms) > 1 or (terms and not (ranks and terms[0].internal)):
            raise ValueError(f"{self.name}: q terms need q fields, once, internal")

    def new_id(self) -> str:
        """A new id for this entity (ids sort in creation order)."""
        return new_id(self.id_prefix)

    def initial(self, field: Field, now: Any) -> Any:
        """The value a create of this entity stores in ``field`` when none is given."""
        if field.default is NEW_ID:
            return self.new_id()
        if field.default is NOW:
            return now
        return field.default

    # -- the members (views are computed once: entities are immutable) ---------------------------

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        """Every field, internal ones included, in declaration order."""
        return tuple(m for m in self.members if isinstance(m, Field))

    @cached_property
    def relations(self) -> tuple[Relation, ...]:
        """Every relation, in declaration order."""
        return tuple(m for m in self.members if isinstance(m, Relation))

    @cached_property
    def _by_name(self) -> dict[str, Field | Relation]:
        return {m.name: m for m in self.members}

    def field(self, name: str) -> Field:
        """The field called ``name`` (:raise KeyError: when there is none)."""
        member = self._by_name.get(name)
        if not isinstance(member, Field):
            raise KeyError(f"{self.name} has no field {name!r}")
        return member

    def relation(self, name: str) -> Relation:
        """The relation called ``name`` (:raise KeyError: when there is none)."""
        member = self._by_name.get(name)
        if not isinstance(member, Relation):
            raise KeyError(f"{self.name} has no relation {name!r}")
        return member

    # -- what the service and the API read ------------------------------------------------------

    @cached_property
    def public(self) -> tuple[Field, ...]:
        """The fields a DTO carries (everything but internal fields)."""
        return tuple(f for f in self.fields if not f.internal)

    @cached_property
    def public_names(self) -> tuple[str, ...]:
        """Names of :attr:`public`, in order: what a full response holds."""
        return tuple(f.name for f in self.public)

    def writable(self, who: Who, *, on_create: bool) -> tuple[Field, ...]:
        """The fields ``who`` may set when creating (``on_create``) or updating."""
        return tuple(f for f in self.public if who & (f.create if on_create else f.update))

    def response_names(self, who: Who) -> tuple[str, ...]:
        """The fields of ``who``'s default response shape (``Who.ADMIN`` or ``Who.STORE``)."""
        return tuple(f.name for f in self.public if who & f.response)

    @cached_property
    def filterable(self) -> dict[str, Field]:
        """The fields filters may name, by name."""
        return {f.name: f for f in self.fields if f.filter is not None}

    @cached_property
    def storage(self) -> tuple[tuple[str, Field | None, str | None], ...]:
        """The stored document's keys in order, each with its field (``None`` for a relation
        embedded there) and, for stored digits, the field they are the digits of."""
        sources = {f.digits: f.name for f in self.fields if f.digits}
        out: list[tuple[str, Field | None, str | None]] = []
        for member in self.members:
            if isinstance(member, Relation):
                if member.embeds is not None:
                    out.append((member.name, None, None))
            elif member.stored:
                out.append((member.path, member, sources.get(member.name)))
        return tuple(out)

    @cached_property
    def filter_relations(self) -> frozenset[str]:
        """The relations filters may name (``groups`` on customers)."""
        return frozenset(r.name for r in self.relations if r.filter)

    @cached_property
    def sortable(self) -> tuple[str, ...]:
        """The fields a list may be ordered by (on MongoDB)."""
        return tuple(f.name for f in self.fields if f.sortable)

    @cached_property
    def stored(self) -> tuple[Field, ...]:
        """The fields its stored document holds, in order."""
        return tuple(f for f in self.fields if f.stored)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The columns an export of it has: every public field it stores."""
        return tuple(f.name for f in self.stored if not f.internal)

    @cached_property
    def personal(self) -> tuple[str, ...]:
        """The fields holding personal data."""
        return tuple(f.name for f in self.fields if f.personal)

    # -- what the search index reads -----------------------------------------------------------

    @cached_property
    def q_fields(self) -> tuple[str, ...]:
        """The fields ``q`` searches, in order (its words may match any of them)."""
        return tuple(f.name for f in sorted(self.fields, key=lambda f: f.q or 0) if f.q)

    @cached_property
    def q_terms(self) -> str | None:
        """The stored path of its ``q`` terms (:attr:`Kind.TERMS`), if ``q`` searches it."""
        return next((f.path for f in self.fields if f.kind is Kind.TERMS), None)

    @cached_property
    def q_digits(self) -> tuple[tuple[str, str], ...]:
        """``(field, stored digits field)`` pairs whose digits ``q`` compares (the phone)."""
        return tuple((f.name, f.digits) for f in self.fields if f.q is not None and f.digits)

    def _indexed(self, use: Index, *kinds: Kind) -> tuple[str, ...]:
        wanted = kinds or tuple(Kind)
        return tuple(f.name for f in self.fields if use & f.index and f.kind in wanted)

    @cached_property
    def exact_fields(self) -> tuple[str, ...]:
        """Text fields the index filters exactly (``=``, ``$in``, ``$ne``, ``$nin``), id first."""
        return self._indexed(Index.FILTER, Kind.ID, Kind.TEXT, Kind.EMAIL)

    @cached_property
    def range_fields(self) -> tuple[str, ...]:
        """Date fields the index filters by range."""
        return self._indexed(Index.FILTER, Kind.DATE)

    @cached_property
    def flag_fields(self) -> tuple[str, ...]:
        """Boolean fields the index filters by equality."""
        return self._indexed(Index.FILTER, Kind.BOOL)

    @cached_property
    def sort_fields(self) -> tuple[str, ...]:
        """Fields the index can order a list by (text and dates; ``id`` is the tie-breaker)."""
        return self._indexed(Index.SORT)

    @cached_property
    def dates(self) -> tuple[str, ...]:
        """Every date field."""
        return tuple(f.name for f in self.fields if f.kind is Kind.DATE)

    @cached_property
    def ranked(self) -> dict[Role, str]:
        """The ranked lookup's fields by role."""
        return {f.rank: f.name for f in self.fields if f.rank is not None}

    @cached_property
    def indexed(self) -> tuple[str, ...]:
        """Every field the search document needs: searched, filtered, sorted or ranked (and
        the stored digits ``q`` compares)."""
        digits = {stored for _, stored in self.q_digits}
        return tuple(
            f.name
            for f in self.fields
            if f.q is not None or f.index or f.rank is not None or f.name in digits
        )
