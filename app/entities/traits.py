"""The machinery of a declaration: a field and its traits, a relation, an entity.

An entity is declared once (:mod:`app.entities.declarations`) as its fields and relations in
the order Medusa shows them; what other code needs (storage documents, service inputs, DTOs,
HTTP models, filter tables, ``q``'s fields, the search index's fields) is read from it through
the views of :class:`Entity`, never written down again. A new trait is one more attribute with
a default, so later work (import/export columns, merge rules) adds to this file, not to every
declaration.

Pure and import-light (only :mod:`app.limits` and :mod:`app.ids`), so every layer may import
it: the service, the HTTP API, the indexer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum, Flag, auto
from typing import Any

from app.ids import new_id
from app.limits import MAX_EMAIL_CHARS, MAX_ID_CHARS, MAX_TEXT_CHARS

__all__ = [
    "ANYONE",
    "NEW_ID",
    "NOW",
    "Entity",
    "Field",
    "Filter",
    "Index",
    "Kind",
    "Op",
    "Relation",
    "Role",
    "Who",
]


class Kind(Enum):
    """What a field holds: its Python type, its input bound and its filter operators."""

    ID = "id"
    TEXT = "text"
    EMAIL = "email"
    BOOL = "boolean"
    DATE = "date"
    METADATA = "metadata"
    INT = "integer"

    @property
    def is_string(self) -> bool:
        """Whether values are text (ids and emails included)."""
        return self in (Kind.ID, Kind.TEXT, Kind.EMAIL)

    @property
    def max_chars(self) -> int | None:
        """The input bound of a text value (``app.limits``); ``None`` for other kinds."""
        return {Kind.ID: MAX_ID_CHARS, Kind.TEXT: MAX_TEXT_CHARS, Kind.EMAIL: MAX_EMAIL_CHARS}.get(
            self
        )

    @property
    def filter_type(self) -> str | None:
        """The value type a filter on this kind expects, as error messages name it."""
        if self.is_string:
            return "string"
        return {Kind.BOOL: "boolean", Kind.DATE: "date"}.get(self)


class Op(Enum):
    """A filter operator, spelled as Medusa's filters spell it."""

    EQ = "$eq"
    NE = "$ne"
    IN = "$in"
    NIN = "$nin"
    GT = "$gt"
    GTE = "$gte"
    LT = "$lt"
    LTE = "$lte"
    LIKE = "$like"
    ILIKE = "$ilike"

    @property
    def takes_list(self) -> bool:
        """Whether the operand is a list of values."""
        return self in (Op.IN, Op.NIN)

    @property
    def is_pattern(self) -> bool:
        """Whether the operand is a SQL LIKE pattern (text fields only)."""
        return self in (Op.LIKE, Op.ILIKE)


_PATTERNS = frozenset({Op.LIKE, Op.ILIKE})
_ALL_OPS = frozenset(Op)


class Who(Flag):
    """Who may do something with a field: the Python service API, the admin or store routes."""

    NOBODY = 0
    SERVICE = auto()
    ADMIN = auto()
    STORE = auto()


ANYONE = Who.SERVICE | Who.ADMIN | Who.STORE


class _Default(Enum):
    NEW_ID = "a new id with the entity's prefix"
    NOW = "the time of the write (one instant for the whole write)"


NEW_ID = _Default.NEW_ID
"""A field default: a new id, ``<id_prefix>_<ULID>``."""
NOW = _Default.NOW
"""A field default: the time of the write."""


class Index(Flag):
    """What the search index serves exactly for a field (anything else falls back to MongoDB)."""

    NONE = 0
    FILTER = auto()
    """Filters: exact terms on text, ranges on dates, equality on booleans."""
    SORT = auto()
    """Ordering a list by it."""


class Role(Enum):
    """The part a field plays in the ranked lookup (exact email/phone, full names, company)."""

    EMAIL = "email"
    PHONE = "phone"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    COMPANY = "company"


@dataclass(frozen=True, slots=True)
class Filter:
    """How a field may be filtered on.

    :param ops: the operators allowed; ``None`` derives them from the kind (every operator on
        text, every one but ``$like``/``$ilike`` on other kinds).
    :param routes: the HTTP list routes that offer it (the service always does).
    :param operator_map: whether HTTP accepts ``{$op: value}``; ``False``: a value or a list.
    :param nested: whether another entity's relation filter offers it (``groups[name]=…``).
    """

    ops: frozenset[Op] | None = None
    routes: Who = Who.ADMIN
    operator_map: bool = True
    nested: bool = True


@dataclass(frozen=True, slots=True)
class Field:
    """One field of an entity and everything the app needs to know about it.

    :param name: the field's name everywhere (API, DTOs, storage unless ``stored_as``).
    :param kind: what it holds; decides the Python type, the bound and the operators.
    :param nullable: whether null is a value it may hold.
    :param default: stored when a create leaves it out: a value, :data:`NEW_ID` or :data:`NOW`.
    :param create: who may set it when creating.
    :param update: who may change it.
    :param filter: how it is filtered on; ``None``: not filterable.
    :param q: its place among the fields ``q`` searches (1 first); ``None``: not searched.
    :param digits: the stored field holding its digits, which ``q`` compares digit to digit
        with phone-like words (the phone).
    :param index: what the search index serves for it.
    :param rank: its part in the ranked lookup.
    :param response: the default response shapes that carry it (every DTO does).
    :param personal: personal data (for export and erasure).
    :param system: set by the service (ids, timestamps, version), never changed by input.
    :param internal: storage only: never in a DTO, a response or a filter.
    :param stored: whether the stored document holds it (a membership's ``customer_id`` is its
        parent's id).
    :param stored_as: the stored name when it differs (``id`` is ``_id``).
    :param normalize: applied to every value written or filtered on (emails).
    """

    name: str
    kind: Kind
    nullable: bool = True
    default: Any = None
    create: Who = Who.NOBODY
    update: Who = Who.NOBODY
    filter: Filter | None = None
    q: int | None = None
    digits: str | None = None
    index: Index = Index.NONE
    rank: Role | None = None
    response: Who = Who.ADMIN | Who.STORE
    personal: bool = False
    system: bool = False
    internal: bool = False
    stored: bool = True
    stored_as: str | None = None
    normalize: Callable[[Any], Any] | None = None

    @property
    def path(self) -> str:
        """Its name in the stored document."""
        return self.stored_as or self.name

    @property
    def operators(self) -> frozenset[Op]:
        """The filter operators it takes (empty when not filterable)."""
        if self.filter is None:
            return frozenset()
        if self.filter.ops is not None:
            return self.filter.ops
        return _ALL_OPS if self.kind.is_string else _ALL_OPS - _PATTERNS

    @property
    def sortable(self) -> bool:
        """Whether a list may be ordered by it (on MongoDB; see ``Index.SORT`` for the index)."""
        return not self.internal and self.kind is not Kind.METADATA


@dataclass(frozen=True, slots=True)
class Relation:
    """A link to other entities, loaded on request (``relations`` / ``fields=*name``).

    :param name: the relation's name (``addresses``).
    :param target: the related entity's ``name``.
    :param many: a list of them, or one.
    :param embeds: the entity whose documents the stored document embeds under ``name``
        (a customer's addresses; its group memberships under ``groups``).
    :param filter: whether lists may be filtered by it (``groups`` on customers: ids or a
        filter on the groups).
    :param response: the response shapes that may select it.
    :param default: the response shapes that carry it unless ``fields`` says otherwise.
    """

    name: str
    target: str
    many: bool = True
    embeds: str | None = None
    filter: bool = False
    response: Who = Who.NOBODY
    default: Who = Who.NOBODY


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

    # -- the members ---------------------------------------------------------------------------

    @property
    def fields(self) -> tuple[Field, ...]:
        """Every field, internal ones included, in declaration order."""
        return tuple(m for m in self.members if isinstance(m, Field))

    @property
    def relations(self) -> tuple[Relation, ...]:
        """Every relation, in declaration order."""
        return tuple(m for m in self.members if isinstance(m, Relation))

    def field(self, name: str) -> Field:
        """The field called ``name`` (:raise KeyError: when there is none)."""
        for member in self.members:
            if isinstance(member, Field) and member.name == name:
                return member
        raise KeyError(f"{self.name} has no field {name!r}")

    def relation(self, name: str) -> Relation:
        """The relation called ``name`` (:raise KeyError: when there is none)."""
        for member in self.members:
            if isinstance(member, Relation) and member.name == name:
                return member
        raise KeyError(f"{self.name} has no relation {name!r}")

    # -- what the service and the API read ------------------------------------------------------

    @property
    def public(self) -> tuple[Field, ...]:
        """The fields a DTO carries (everything but internal fields)."""
        return tuple(f for f in self.fields if not f.internal)

    @property
    def public_names(self) -> tuple[str, ...]:
        """Names of :attr:`public`, in order: what a full response holds."""
        return tuple(f.name for f in self.public)

    def writable(self, who: Who, *, on_create: bool) -> tuple[Field, ...]:
        """The fields ``who`` may set when creating (``on_create``) or updating."""
        return tuple(
            f for f in self.fields if who & (f.create if on_create else f.update) and not f.internal
        )

    def response_names(self, who: Who) -> tuple[str, ...]:
        """The fields of ``who``'s default response shape (``Who.ADMIN`` or ``Who.STORE``)."""
        return tuple(f.name for f in self.public if who & f.response)

    @property
    def filterable(self) -> dict[str, Field]:
        """The fields filters may name, by name."""
        return {f.name: f for f in self.fields if f.filter is not None}

    @property
    def sortable(self) -> tuple[str, ...]:
        """The fields a list may be ordered by (on MongoDB)."""
        return tuple(f.name for f in self.fields if f.sortable)

    @property
    def stored(self) -> tuple[Field, ...]:
        """The fields its stored document holds, in order."""
        return tuple(f for f in self.fields if f.stored)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns an export of it has: every public field it stores."""
        return tuple(f.name for f in self.stored if not f.internal)

    @property
    def personal(self) -> tuple[str, ...]:
        """The fields holding personal data."""
        return tuple(f.name for f in self.fields if f.personal)

    @property
    def non_nullable(self) -> tuple[str, ...]:
        """Fields that never hold null: input setting them to null is refused."""
        return tuple(f.name for f in self.fields if not f.nullable and not f.system)

    # -- what the search index reads -----------------------------------------------------------

    @property
    def q_fields(self) -> tuple[str, ...]:
        """The fields ``q`` searches, in order (its words may match any of them)."""
        searched = sorted((f.q, f.name) for f in self.fields if f.q is not None)
        return tuple(name for _, name in searched)

    @property
    def q_digits(self) -> tuple[tuple[str, str], ...]:
        """``(field, stored digits field)`` pairs whose digits ``q`` compares (the phone)."""
        return tuple((f.name, f.digits) for f in self.fields if f.q is not None and f.digits)

    def _indexed(self, use: Index, *kinds: Kind) -> tuple[str, ...]:
        return tuple(
            f.name for f in self.fields if use & f.index and (not kinds or f.kind in kinds)
        )

    @property
    def exact_fields(self) -> tuple[str, ...]:
        """Text fields the index filters exactly (``=``, ``$in``, ``$ne``, ``$nin``), id first."""
        return self._indexed(Index.FILTER, Kind.ID, Kind.TEXT, Kind.EMAIL)

    @property
    def range_fields(self) -> tuple[str, ...]:
        """Date fields the index filters by range."""
        return self._indexed(Index.FILTER, Kind.DATE)

    @property
    def flag_fields(self) -> tuple[str, ...]:
        """Boolean fields the index filters by equality."""
        return self._indexed(Index.FILTER, Kind.BOOL)

    @property
    def sort_fields(self) -> tuple[str, ...]:
        """Fields the index can order a list by (text and dates; ``id`` is the tie-breaker)."""
        return self._indexed(Index.SORT)

    @property
    def dates(self) -> tuple[str, ...]:
        """Every date field."""
        return tuple(f.name for f in self.fields if f.kind is Kind.DATE)

    @property
    def ranked(self) -> dict[Role, str]:
        """The ranked lookup's fields by role."""
        return {f.rank: f.name for f in self.fields if f.rank is not None}

    @property
    def indexed(self) -> tuple[str, ...]:
        """Every field the search document needs: searched, filtered, sorted or ranked."""
        return tuple(
            f.name
            for f in self.fields
            if f.q is not None or f.index or f.rank is not None
            or any(f.name == digits for _, digits in self.q_digits)
        )  # fmt: skip

    def __iter__(self) -> Iterator[Field | Relation]:
        return iter(self.members)
