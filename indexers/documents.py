"""The search document: what the index holds of a customer, and building it from storage. Pure.

Everything here is read from the customer declaration (:data:`app.entities.CUSTOMER`): a field
that ``q`` searches, that the index filters or sorts by, or that the ranked lookup uses is held
by both engines with no edit in ``indexers/`` (see :class:`Layout`). What is special stays
explicit: the id (stored as ``_id``), a phone's digits (``q`` compares phone words digit to
digit), ``created_at`` (required; a missing ``updated_at`` falls back to it), ``deleted_at``
(marks a soft delete), the group memberships (a relation) and the ranked lookup's roles.

Shared by the sync indexer and the reindex, so the two can never drift. No I/O here.
"""

from __future__ import annotations

import hashlib
import json
import keyword
from collections.abc import Callable, Mapping
from dataclasses import dataclass, make_dataclass
from dataclasses import field as attribute
from datetime import UTC, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar

from app.entities import CUSTOMER, Entity, Kind, Role
from app.textsearch import digits_of
from indexers.analysis import ANALYSIS_VERSION
from indexers.keys import from_epoch_ms
from indexers.listed import LISTED_PATHS, LISTED_SHAPE, listed_document

__all__ = [
    "DATE_FIELDS",
    "DELETED",
    "DOC_FIELDS",
    "EXACT_FIELDS",
    "KEPT_FIELDS",
    "LAYOUT",
    "RANGE_FIELDS",
    "SORT_DATE_FIELDS",
    "SORT_TEXT_FIELDS",
    "TEXT_FIELDS",
    "Layout",
    "SearchDoc",
    "accepted_fingerprints",
    "documents_fingerprint",
    "fingerprint",
    "from_index",
    "picker",
    "read_dates",
    "read_flags",
    "read_kept",
    "reader",
    "to_search_doc",
    "version_from_timestamp",
]

CREATED, DELETED = "created_at", "deleted_at"  # required; set when soft-deleted
GROUPS = "groups"  # the memberships relation: indexed as the ids of their groups


def _searched_first(names: tuple[str, ...], searched: tuple[str, ...]) -> tuple[str, ...]:
    """``names``, those ``q`` searches first (in ``q``'s order), then the others as declared."""
    return tuple(n for n in searched if n in names) + tuple(n for n in names if n not in searched)


@dataclass(frozen=True)
class Layout:
    """Which fields of an entity the search index holds, and what for.

    :param text: searched by ``q``, in ``q``'s order.
    :param digits: ``(field, stored digits field)``: ``q`` compares phone words with its digits.
    :param kept: text fields kept whole (exact filters compare them, highlights show them), the
        searched ones first; the id is kept apart, digits are derived again.
    :param exact: text fields with exact filters (``=``, ``$in``, ``$ne``, ``$nin``; the id too).
    :param dates: date fields kept (in epoch milliseconds).
    :param ranges: date fields with range filters.
    :param flags: boolean fields kept.
    :param sort_text: text fields a list can be ordered by, the searched ones first.
    :param sort_dates: date fields a list can be ordered by.
    :param roles: the ranked lookup's field for each role.
    :param fields: every field of the search document, as declared (the id first).
    """

    text: tuple[str, ...]
    digits: tuple[tuple[str, str], ...]
    kept: tuple[str, ...]
    exact: tuple[str, ...]
    dates: tuple[str, ...]
    ranges: tuple[str, ...]
    flags: tuple[str, ...]
    sort_text: tuple[str, ...]
    sort_dates: tuple[str, ...]
    roles: Mapping[Role, str]
    fields: tuple[str, ...]

    @classmethod
    def of(cls, entity: Entity) -> Layout:
        """Read the layout from an entity's declaration."""
        text, digits = entity.q_fields, entity.q_digits
        fields = entity.indexed
        kinds = {name: entity.field(name).kind for name in fields}
        derived = {digits_field for _, digits_field in digits}
        strings = tuple(n for n in fields if kinds[n].is_string and n != "id" and n not in derived)
        sort = [name for name in entity.sort_fields if name != "id"]
        return cls(
            text=text,
            digits=digits,
            kept=_searched_first(strings, text),
            exact=tuple(name for name in entity.exact_fields if name != "id"),
            dates=tuple(name for name in fields if kinds[name] is Kind.DATE),
            ranges=entity.range_fields,
            flags=tuple(name for name in fields if kinds[name] is Kind.BOOL),
            sort_text=_searched_first(tuple(n for n in sort if kinds[n].is_string), text),
            sort_dates=tuple(n for n in sort if kinds[n] is Kind.DATE),
            roles=entity.ranked,
            fields=fields,
        )

    def describe(self) -> dict[str, Any]:
        """The layout as plain data (for :func:`fingerprint`)."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["roles"] = {role.value: field for role, field in self.roles.items()}
        return out


LAYOUT = Layout.of(CUSTOMER)
TEXT_FIELDS = LAYOUT.text
"""The fields ``q`` searches, in :mod:`app.textsearch` order."""
KEPT_FIELDS = LAYOUT.kept
"""Text fields both engines keep whole (besides the id)."""
EXACT_FIELDS = LAYOUT.exact
"""Text fields both engines filter exactly (eq / in / nin; the id as well)."""
DATE_FIELDS = LAYOUT.dates
"""Date fields both engines keep (range filters on :data:`RANGE_FIELDS`)."""
RANGE_FIELDS = LAYOUT.ranges
"""Date fields both engines filter by range."""
SORT_TEXT_FIELDS = LAYOUT.sort_text
"""Text fields a list can be ordered by from the index."""
SORT_DATE_FIELDS = LAYOUT.sort_dates
"""Date fields a list can be ordered by from the index."""


def _path(name: str) -> str:
    return CUSTOMER.field(name).path


DOC_FIELDS = tuple(
    dict.fromkeys(
        (
            *(_path(name) for name in LAYOUT.fields),
            *LISTED_PATHS,
            f"{GROUPS}.customer_group_id",
            f"{GROUPS}.deleted_at",
        )
    )
)
"""The stored ``customers`` fields :func:`to_search_doc` reads (a projection: never addresses)."""


_UNRECORDED_LISTED_SHAPE = (
    ("id", "_id", False),
    ("email", "email", False),
    ("company_name", "company_name", False),
    ("first_name", "first_name", False),
    ("last_name", "last_name", False),
    ("phone", "phone", False),
    ("has_account", "has_account", False),
    ("metadata", "metadata", False),
    ("created_by", "created_by", False),
    ("created_at", "created_at", True),
    ("updated_at", "updated_at", True),
    ("deleted_at", "deleted_at", True),
)
"""The response document's fields in the indexes built before fingerprints described it (the
same since response documents were added). Never change it."""


def _hash(described: dict[str, Any]) -> str:
    text = json.dumps(described, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _described(engine: Any) -> dict[str, Any]:
    return {"layout": LAYOUT.describe(), "analysis": ANALYSIS_VERSION, "engine": engine}


def fingerprint(engine: Any) -> str:
    """Return a short hash of what an index built now holds: this layout, the shared analysis
    (:data:`~indexers.analysis.ANALYSIS_VERSION`), the response document's fields
    (:data:`~indexers.listed.LISTED_SHAPE`) and ``engine``, the engine's description of its own
    schema (with a version it raises when its documents change in a way none of these shows).
    An index recorded with another one must be rebuilt."""
    return _hash({**_described(engine), "listed": LISTED_SHAPE})


def documents_fingerprint(engine: Any) -> str:
    """Return a short hash of the documents an index built now gives back (its stored and
    read-back values): this layout, the response document's fields and ``engine``, the
    engine's description of the fields it reads them from. Two indexes with the same one hold
    the same documents, whatever their analysis or derived keys, so one can be rebuilt from
    the other without MongoDB."""
    return _hash({"layout": LAYOUT.describe(), "listed": LISTED_SHAPE, "engine": engine})


def accepted_fingerprints(engine: Any) -> frozenset[str]:
    """The fingerprints of the indexes this code can use: :func:`fingerprint`, and while the
    response document still has the fields those indexes hold, the one computed before it
    described the response document (so they are not all rebuilt for the same documents).

    Before, a new public customer field changed no fingerprint, and an index built earlier
    served list pages without it.
    """
    accepted = {fingerprint(engine)}
    if LISTED_SHAPE == _UNRECORDED_LISTED_SHAPE:
        accepted.add(_hash(_described(engine)))
    return frozenset(accepted)


# -- the document ------------------------------------------------------------------------------
_DIGIT_FIELDS = tuple(digits for _, digits in LAYOUT.digits)
_OWN_FIELDS = (*LAYOUT.kept, *_DIGIT_FIELDS, *LAYOUT.flags, *LAYOUT.dates)
"""The declared fields of a search document besides the id, in the order of its attributes."""
_TYPES = {Kind.BOOL: bool, Kind.DATE: datetime | None}


def reader(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """Return a function reading the attributes ``names`` of a search document as one tuple.

    It is compiled from the names, as :mod:`dataclasses` compiles an ``__init__``: attribute
    loads in bytecode are specialised by the interpreter and cost a third of what
    ``operator.attrgetter`` costs, and the reindex reads every field of every customer.
    """
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"not a field name: {name!r}")
    read: Callable[[Any], tuple[Any, ...]] = eval(  # names checked above
        f"lambda doc: ({''.join(f'doc.{name}, ' for name in names)})"
    )
    return read


def picker(names: tuple[str, ...], among: tuple[str, ...]) -> Callable[[tuple[Any, ...]], tuple]:
    """Return a function picking the values of ``names`` out of a tuple of ``among``'s values
    (as :func:`reader` returns them), as a tuple whatever their number."""
    at = tuple(among.index(name) for name in names)
    if len(at) > 1:
        return itemgetter(*at)
    return lambda values: tuple(values[i] for i in at)


if TYPE_CHECKING:

    class SearchDoc:
        """One customer as the search index stores it (its fields: see :data:`LAYOUT`)."""

        __dataclass_fields__: ClassVar[dict[str, Any]]
        id: str
        group_ids: tuple[str, ...]
        version: int
        listed: bytes | None
        deleted: bool

        def __init__(self, *values: Any, **named: Any) -> None: ...
        def __getattr__(self, name: str) -> Any: ...

else:
    SearchDoc = make_dataclass(
        "SearchDoc",
        [
            ("id", str),
            *((n, _TYPES.get(CUSTOMER.field(n).kind, str | None)) for n in _OWN_FIELDS),
            ("group_ids", tuple[str, ...]),
            ("version", int),
            ("listed", bytes | None, attribute(default=None, repr=False)),
        ],
        frozen=True,
        slots=True,
        namespace={
            "__module__": __name__,
            "__doc__": "One customer as the search index stores it: the fields of "
            ":data:`LAYOUT`, the ids of its groups and its version (the change event's "
            "cluster time, ``(seconds << 32) | inc``: monotonic per customer) and its "
            "response document (:mod:`indexers.listed`).",
            "deleted": property(eval(f"lambda doc: doc.{DELETED} is not None")),  # a name
        },
    )


read_kept = reader(LAYOUT.kept)
"""The kept text fields of a search document, in :data:`KEPT_FIELDS` order."""
read_dates = reader(LAYOUT.dates)
"""Its dates, in :data:`DATE_FIELDS` order."""
read_flags = reader(LAYOUT.flags)
"""Its flags, in ``LAYOUT.flags`` order."""


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    # BSON dates are UTC; a client without tz_aware hands them back naive.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _group_ids(memberships: Any) -> tuple[str, ...]:
    ids: set[str] = set()
    for membership in memberships or ():
        if not isinstance(membership, Mapping) or membership.get("deleted_at") is not None:
            continue
        group_id = membership.get("customer_group_id")
        if isinstance(group_id, str):
            ids.add(group_id)
    return tuple(sorted(ids))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _digits(stored: Any, of: Any) -> str | None:
    """Stored digits, else the digits of the field they are the digits of (older documents)."""
    return _str(stored) or digits_of(_str(of)) or None


def _reading(name: str) -> str:
    """The expression that reads the field ``name`` of a stored customer through ``get``."""
    field = CUSTOMER.field(name)
    if name in _DIGITS_OF:
        return f"_digits(get({field.path!r}), get({_path(_DIGITS_OF[name])!r}))"
    if field.kind is Kind.BOOL:
        return f"bool(get({field.path!r}, {field.default!r}))"
    if field.kind is Kind.DATE:
        if name == CREATED:
            return "created_at"
        read = f"_utc(get({field.path!r}))"
        return read if field.nullable else f"({read} or created_at)"  # older documents
    return f"_str(get({field.path!r}))"


_DIGITS_OF = {digits: source for source, digits in LAYOUT.digits}
_CREATED_PATH = _path(CREATED)
_build: Callable[..., SearchDoc] = eval(  # field names and quoted paths of the declaration
    "lambda get, id, created_at, version, listed: SearchDoc(id, "
    f"{', '.join(map(_reading, _OWN_FIELDS))}, _group_ids(get({GROUPS!r})), version, listed)",
    {**globals()},
)
"""Build a search document in one expression compiled from the layout (see :func:`reader`)."""


def to_search_doc(customer: Mapping[str, Any], version: int) -> SearchDoc:
    """Build the search document of a raw ``customers`` MongoDB document (see app/models.py).

    ``group_ids`` holds every membership's group id (a soft-deleted membership row is not one);
    whether the group itself is live is decided at query time by the caller.
    """
    get = customer.get
    created_at = _utc(get(_CREATED_PATH))
    if created_at is None:
        raise ValueError(f"customer {get('_id')!r} has no created_at")
    customer_id = get("_id", get("id"))
    if not isinstance(customer_id, str):
        raise ValueError(f"customer id must be a string, got {customer_id!r}")
    return _build(get, customer_id, created_at, int(version), listed_document(customer))


def from_index(values: Mapping[str, Any]) -> SearchDoc:
    """Rebuild a search document from what an engine keeps of it.

    ``values``: ``id``, the kept text fields, the flags, the dates in epoch milliseconds,
    ``groups`` (a list of ids), ``version`` and ``listed`` (the response document). Digits
    are not kept: they are derived again, as the index derives its digit tokens.
    """
    get = values.get
    return SearchDoc(
        values["id"],
        *[get(name) for name in LAYOUT.kept],
        *[digits_of(get(source)) or None for source, _ in LAYOUT.digits],
        *[bool(get(name)) for name in LAYOUT.flags],
        *[from_epoch_ms(get(name)) for name in LAYOUT.dates],
        tuple(get("groups") or ()),
        int(values["version"]),
        get("listed"),
    )


def version_from_timestamp(ts: Any) -> int:
    """Return the index version of a change event's cluster time (a ``bson.Timestamp``)."""
    return (int(ts.time) << 32) | int(ts.inc)
