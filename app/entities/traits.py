"""The machinery of a declaration: a field, its traits and a relation (the entity that holds
them is :mod:`app.entities.entity`).

An entity is declared once (:mod:`app.entities.declarations`) as its fields and relations in
the order Medusa shows them; what other code needs (storage documents, service inputs, DTOs,
HTTP models, filter tables, ``q``'s fields, the search index's fields) is read from it, never
written down again. A new trait is one more attribute with a default, so later work
(import/export columns, merge rules) adds to this file, not to every declaration.

Pure and import-light (only :mod:`app.limits`), so every layer may import it: the service,
the HTTP API, the indexer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, Flag, auto
from typing import Any

from app.limits import MAX_EMAIL_CHARS, MAX_ID_CHARS, MAX_TEXT_CHARS

__all__ = [
    "ANYONE",
    "NEW_ID",
    "NOW",
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
    TERMS = "terms"
    """Derived by the service from the entity's ``q`` fields on every write, so that MongoDB
    can answer ``q`` exactly (see :func:`app.textsearch.stored_terms`); internal."""

    @property
    def is_string(self) -> bool:
        """Whether values are text (ids and emails included)."""
        return _KINDS[self][2] == "string"

    @property
    def python_type(self) -> Any:
        """The type of a stored value."""
        return _KINDS[self][0]

    @property
    def max_chars(self) -> int | None:
        """The input bound of a text value (``app.limits``); ``None`` for other kinds."""
        return _KINDS[self][1]

    @property
    def filter_type(self) -> str | None:
        """The value type a filter on this kind expects, as error messages name it."""
        return _KINDS[self][2]


_KINDS: dict[Kind, tuple[Any, int | None, str | None]] = {
    Kind.ID: (str, MAX_ID_CHARS, "string"),
    Kind.TEXT: (str, MAX_TEXT_CHARS, "string"),
    Kind.EMAIL: (str, MAX_EMAIL_CHARS, "string"),
    Kind.BOOL: (bool, None, "boolean"),
    Kind.DATE: (datetime, None, "date"),
    Kind.METADATA: (dict[str, Any], None, None),
    Kind.INT: (int, None, None),
    Kind.TERMS: (dict[str, list[str]], None, None),
}
"""Per kind: Python type, input bound in characters, filter value type."""


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
        return self in _LISTS

    @property
    def is_pattern(self) -> bool:
        """Whether the operand is a SQL LIKE pattern (text fields only)."""
        return self in _PATTERNS


_LISTS = frozenset({Op.IN, Op.NIN})
_PATTERNS = frozenset({Op.LIKE, Op.ILIKE})
_TEXT_OPS = frozenset(Op)
_OTHER_OPS = _TEXT_OPS - _PATTERNS


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
        return _TEXT_OPS if self.kind.is_string else _OTHER_OPS

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
