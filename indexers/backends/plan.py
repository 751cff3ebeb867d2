"""What both engines serve of a list query, decided once. Pure.

Each engine compiles a :class:`~indexers.query.ListQuery` into queries of its own; the decisions
that must come out the same in both live here: which documents a list sees, which fields take
exact and range filters (anything else is :class:`~indexers.query.NotServable` and goes to
MongoDB), what can never match, and which orders are served.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from indexers.documents import EXACT_FIELDS, RANGE_FIELDS, SORT_DATE_FIELDS, SORT_TEXT_FIELDS
from indexers.keys import epoch_ms
from indexers.query import ListQuery, NotServable

__all__ = [
    "LIVE",
    "SOFT_DELETED",
    "TOMBSTONE",
    "DateBounds",
    "Exact",
    "Order",
    "date_bounds",
    "exact_conditions",
    "order_of",
    "visible_states",
]

LIVE, SOFT_DELETED, TOMBSTONE = 0, 1, 2
"""The ``state`` of an indexed document; a tombstone (hard delete) is never returned."""


def visible_states(with_deleted: bool) -> list[int]:
    """Return the states a list shows: live ones, and soft-deleted ones on request."""
    return [LIVE, SOFT_DELETED] if with_deleted else [LIVE]


@dataclass(frozen=True, slots=True)
class Exact:
    """An exact condition on a string field; ``None`` among the values stands for null.

    :param any_of: the field must equal one of these (sorted); None: no such condition.
    :param none_of: the field must equal none of these (sorted).
    """

    field: str
    any_of: tuple[str | None, ...] | None
    none_of: tuple[str | None, ...]


def exact_conditions(query: ListQuery) -> list[Exact] | None:
    """Return the exact conditions of ``query`` (None: an empty ``in`` matches nothing).

    :raise NotServable: a condition on a field the index has no exact values of.
    """
    out: list[Exact] = []
    for term in query.terms:
        if term.field not in EXACT_FIELDS and term.field != "id":
            raise NotServable(f"no exact filter on {term.field!r}")
        any_of = None
        if term.in_ is not None:
            if not term.in_:
                return None
            any_of = tuple(sorted(term.in_, key=str))
        out.append(Exact(term.field, any_of, tuple(sorted(term.nin, key=str))))
    return out


@dataclass(frozen=True, slots=True)
class DateBounds:
    """A range of a date field in epoch milliseconds (None: open on that side)."""

    field: str
    lower: int | None
    include_lower: bool
    upper: int | None
    include_upper: bool


def date_bounds(query: ListQuery) -> list[DateBounds]:
    """Return the ranges of ``query``, the tighter bound kept where ``gt`` and ``gte`` (or
    ``lt`` and ``lte``) are both given; a range with no bound is left out.

    :raise NotServable: a range on a field that is not an indexed date.
    """
    out: list[DateBounds] = []
    for rng in query.ranges:
        if rng.field not in RANGE_FIELDS:
            raise NotServable(f"no range filter on {rng.field!r}")
        lower = upper = None
        inc_lower = inc_upper = True
        if rng.gt is not None:
            lower, inc_lower = epoch_ms(rng.gt), False
        if rng.gte is not None:
            value = epoch_ms(rng.gte)
            if lower is None or value > lower:
                lower, inc_lower = value, True
        if rng.lt is not None:
            upper, inc_upper = epoch_ms(rng.lt), False
        if rng.lte is not None:
            value = epoch_ms(rng.lte)
            if upper is None or value < upper:
                upper, inc_upper = value, True
        if lower is not None or upper is not None:
            out.append(DateBounds(rng.field, lower, inc_lower, upper, inc_upper))
    return out


@dataclass(frozen=True, slots=True)
class Order:
    """Medusa's ``order``, as the index serves it: one field, then the id.

    :param field: the sort field; ``"id"`` alone orders by id only.
    :param ascending: the direction of ``field``.
    :param tie_ascending: the direction of the id among equal values of ``field`` (ascending
        unless the order names the id second).
    """

    field: str
    ascending: bool
    tie_ascending: bool


def order_of(order: Sequence[tuple[str, str]]) -> Order:
    """Return the served form of ``order``: a sort field (or the id), optionally followed by the
    id.

    :raise NotServable: any other order (a second field other than the id, an unknown
        direction, an unsorted field).
    """
    keys = [(f, str(d).upper()) for f, d in order] or [("id", "ASC")]
    if any(d not in ("ASC", "DESC") for _, d in keys):
        raise NotServable(f"order {order!r}")
    field, direction = keys[0]
    if len(keys) > 2 or (len(keys) == 2 and (keys[1][0] != "id" or field == "id")):
        raise NotServable(f"order {order!r}")
    if field != "id" and field not in SORT_DATE_FIELDS + SORT_TEXT_FIELDS:
        raise NotServable(f"order by {field!r}")
    tie_ascending = len(keys) == 1 or keys[1][1] == "ASC"
    return Order(field, direction == "ASC", direction == "ASC" if field == "id" else tie_ascending)
