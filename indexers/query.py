"""What readers ask the search index: list queries (exact ``q``) and ranked lookups. Pure.

Exception tree::

    NotServable   the index cannot answer this exactly; the caller falls back to MongoDB
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.entities import CUSTOMER
from app.textsearch import Highlights

__all__ = [
    "ORDER_FIELDS",
    "RANGE_FIELDS",
    "TERM_FIELDS",
    "Hit",
    "ListQuery",
    "NotServable",
    "RangeFilter",
    "RankedQuery",
    "TermFilter",
]

ORDER_FIELDS = CUSTOMER.sort_fields
"""Fields a list can be ordered by (declared with ``Index.SORT``)."""

TERM_FIELDS = CUSTOMER.exact_fields
"""String fields that take exact (eq / in / nin / ne) filters (declared with ``Index.FILTER``)."""

RANGE_FIELDS = CUSTOMER.range_fields
"""Timestamp fields that take range filters."""


class NotServable(Exception):
    """The index cannot serve this query exactly; use MongoDB instead."""


@dataclass(frozen=True, slots=True)
class TermFilter:
    """Exact-value condition on a string field.

    ``values`` None means "no condition"; an empty ``in_`` matches nothing. ``None`` inside a
    value set stands for a null field. Matching is exact and case-sensitive (as in MongoDB).
    """

    field: str
    in_: frozenset[str | None] | None = None
    nin: frozenset[str | None] = frozenset()


@dataclass(frozen=True, slots=True)
class RangeFilter:
    """Range condition on a timestamp field (bounds are aware datetimes; None = open)."""

    field: str
    gt: datetime | None = None
    gte: datetime | None = None
    lt: datetime | None = None
    lte: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One page of a customer list, served exactly.

    :param q: free text with the meaning of :func:`app.textsearch.matches`.
    :param terms: exact conditions, AND-ed.
    :param ranges: timestamp ranges, AND-ed.
    :param has_account: None = either.
    :param group_ids: the customer must belong to one of these (live) groups; None = no filter,
        empty = matches nothing.
    :param with_deleted: include soft-deleted customers.
    :param order: ``[(field, "ASC"|"DESC"), ...]``; ``id ASC`` is always the final tie-breaker.
    """

    q: str | None = None
    terms: tuple[TermFilter, ...] = ()
    ranges: tuple[RangeFilter, ...] = ()
    has_account: bool | None = None
    group_ids: frozenset[str] | None = None
    with_deleted: bool = False
    order: tuple[tuple[str, str], ...] = (("id", "ASC"),)
    skip: int = 0
    take: int | None = None


@dataclass(frozen=True, slots=True)
class RankedQuery:
    """A ranked admin lookup: best ``limit`` hits for ``q`` within the list filters."""

    q: str
    limit: int = 20
    filters: ListQuery = field(default_factory=ListQuery)


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked result: the customer id, its score, and which parts of which fields matched."""

    id: str
    score: float
    highlights: Highlights = field(default_factory=dict)
