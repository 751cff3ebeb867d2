"""The read side the service uses: compiled filters → index queries, or "not servable" (None).

``IndexReader`` answers customer lists (ids page + exact count) and ranked lookups from the
search backend. Filters arrive compiled (:mod:`app.filtering`: checked and normalised, their
relations resolved to live ids by the service); :func:`to_list_query` translates the tree, and
whatever the index cannot answer exactly (``$or``, ``$like``, a field the declaration does not
mark as served by the index, an order it has no key for, no index yet, backend down) returns
None, and the caller asks MongoDB.

Read-your-writes: every read runs through ``freshness.read``
(:class:`indexers.freshness.Freshness`), which answers only with a read of an index state that
holds everything committed before the call (it waits for the indexer, or refuses: MongoDB
answers).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pymongo.errors import PyMongoError

from app.entities import CUSTOMER, Op
from app.filtering import And, Compare, Node, Or, Related, Text
from app.timing import timed
from indexers.backends.base import BackendError, Listed, SearchBackend
from indexers.query import Hit, ListQuery, NotServable, RangeFilter, RankedQuery, TermFilter

__all__ = ["IndexReader", "to_list_query"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Freshness(Protocol):
    """Read-your-writes for index reads (:class:`indexers.freshness.Freshness`)."""

    async def read(self, read: Callable[[], Awaitable[T]]) -> T:
        """``read()``'s answer, holding every write committed before this call (else raise
        ``NotServable``)."""
        ...


Settle = Callable[[float], Awaitable[bool]]

_DIRECTIONS = {"ASC": "ASC", "DESC": "DESC", "1": "ASC", "-1": "DESC"}
_EXACT = frozenset(CUSTOMER.exact_fields)
_RANGES = frozenset(CUSTOMER.range_fields)
_FLAGS = frozenset(CUSTOMER.flag_fields)
"""The fields the index filters exactly, by kind (declared with ``Index.FILTER``)."""
_RANGE_BOUNDS = {Op.GT: "gt", Op.GTE: "gte", Op.LT: "lt", Op.LTE: "lte"}


class IndexReader:
    """Serve customer lists and ranked lookups from a search backend.

    :param backend: the search backend (its active generation is read).
    :param freshness: every read runs through it, for read-your-writes (None: read as is).
    :param settle: ``settle(timeout)``: whether everything committed so far got applied
        within ``timeout`` seconds (what an erasure waits for before it answers).
    """

    def __init__(
        self,
        backend: SearchBackend,
        *,
        freshness: Freshness | None = None,
        settle: Settle | None = None,
    ) -> None:
        self.backend = backend
        self.freshness = freshness
        self.settle = settle

    async def wait_until_applied(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Whether the index holds every write committed before this call, waiting up to
        ``timeout`` seconds (False without a ``settle`` hook: it cannot tell)."""
        if self.settle is None:
            return False
        try:
            return await self.settle(timeout)
        except PyMongoError as exc:
            log.warning("could not learn whether the search index caught up: %s", exc)
            return False

    async def list_customer_ids(
        self, where: Node | None, **options: Any
    ) -> tuple[list[str], int] | None:
        """:meth:`list_customers` without the documents: (ids of the page, total count)."""
        served = await self.list_customers(where, **options)
        return None if served is None else ([c.id for c in served[0]], served[1])

    async def list_customers(
        self,
        where: Node | None,
        *,
        skip: int = 0,
        take: int | None = None,
        order: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        with_deleted: bool = False,
    ) -> tuple[list[Listed], int] | None:
        """Return the page (each customer's id and stored response document, so the page
        needs no MongoDB read: :mod:`indexers.listed`) and the total count, or None when
        MongoDB must answer.

        :param where: the compiled customer filter, relations resolved (None: every customer).
        :param order: ``{"created_at": "DESC"}`` or FindConfig.sort pairs ``(("id", 1),)``.
        """
        try:
            query = to_list_query(
                where, skip=skip, take=take, order=order, with_deleted=with_deleted
            )
            return await self._fresh(lambda: timed("engine", self.backend.list_documents(query)))
        except NotServable as exc:
            log.debug("list not servable from the index: %s", exc)
        except BackendError as exc:
            log.warning("search index unavailable for a list, using MongoDB: %s", exc)
        return None

    async def search_customers(
        self,
        q: str,
        where: Node | None = None,
        limit: int = 20,
        *,
        with_deleted: bool = False,
    ) -> tuple[list[Hit], int] | None:
        """Return the best ``limit`` hits for ``q`` within ``where`` and the match count.

        None when the index cannot answer (the caller may fall back to a MongoDB ``q`` list).
        """
        try:
            base = to_list_query(where, with_deleted=with_deleted)
            ranked = RankedQuery(q=q, limit=limit, filters=base)
            return await self._fresh(lambda: timed("engine", self.backend.search(ranked)))
        except NotServable as exc:
            log.debug("search not servable from the index: %s", exc)
        except BackendError as exc:
            log.warning("search index unavailable for a ranked lookup: %s", exc)
        return None

    async def _fresh(self, read: Callable[[], Awaitable[T]]) -> T:
        return await (read() if self.freshness is None else self.freshness.read(read))

    async def size(self) -> int | None:
        """How many customers the index holds (soft-deleted included); ``None`` when the
        backend cannot tell now (down, or no generation built yet; the service then asks
        MongoDB for an estimate it bounds in time: on the embedded server even that reads the
        collection)."""
        try:
            if await self.backend.active_generation() is None:
                return None
            return await self.backend.count()
        except BackendError as exc:
            log.warning("search index unavailable for a count: %s", exc)
            return None


# -- translation ----------------------------------------------------------------------------
class _Builder:
    def __init__(self) -> None:
        self.words: list[str] = []
        self.terms: list[TermFilter] = []
        self.ranges: list[RangeFilter] = []
        self.has_account: bool | None = None
        self.no_match = False
        self.group_ids: frozenset[str] | None = None

    def add(self, node: Node) -> None:
        if isinstance(node, And):
            for part in node.parts:
                self.add(part)
        elif isinstance(node, Or):
            if len(node.parts) > 1:
                raise NotServable("$or")
            for part in node.parts:  # one branch is an AND
                self.add(part)
        elif isinstance(node, Text):
            self.words.extend(node.words)
        elif isinstance(node, Related):
            self.add_groups(node)
        else:
            self.add_compare(node)

    def add_groups(self, node: Related) -> None:
        if node.relation != "groups" or node.ids is None:
            raise NotServable(f"relation {node.relation}: not resolved to group ids")
        ids = frozenset(node.ids)
        self.group_ids = ids if self.group_ids is None else self.group_ids & ids

    def add_compare(self, node: Compare) -> None:
        if node.field in _EXACT:
            self.terms.append(_term(node))
        elif node.field in _RANGES:
            self.ranges.append(_range(node))
        elif node.field in _FLAGS:
            self.add_flag(node)
        else:
            raise NotServable(f"filter {node.field!r}")

    def add_flag(self, node: Compare) -> None:
        if node.field != "has_account" or not isinstance(node.value, bool):
            raise NotServable(f"{node.field}: unsupported condition")
        if node.op not in (Op.EQ, Op.NE):
            raise NotServable(f"{node.field}: operator {node.op.value}")
        value = node.value if node.op is Op.EQ else not node.value
        if self.has_account is not None and self.has_account != value:
            self.no_match = True
        self.has_account = value


def _term(node: Compare) -> TermFilter:
    if node.op is Op.EQ:
        return TermFilter(node.field, in_=frozenset({node.value}))
    if node.op is Op.NE:
        return TermFilter(node.field, nin=frozenset({node.value}))
    if node.op is Op.IN:
        return TermFilter(node.field, in_=frozenset(node.value))
    if node.op is Op.NIN:
        return TermFilter(node.field, nin=frozenset(node.value))
    raise NotServable(f"{node.field}: operator {node.op.value}")


def _range(node: Compare) -> RangeFilter:
    value: datetime | None = node.value
    if value is None:
        raise NotServable(f"{node.field}: comparison with null")
    if node.op is Op.EQ:
        return RangeFilter(node.field, gte=value, lte=value)
    bound = _RANGE_BOUNDS.get(node.op)
    if bound is None:
        raise NotServable(f"{node.field}: operator {node.op.value}")
    return RangeFilter(node.field, **{bound: value})


def _order(
    order: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
) -> tuple[tuple[str, str], ...]:
    if not order:
        return (("id", "ASC"),)
    pairs = order.items() if isinstance(order, Mapping) else order
    out = []
    for name, direction in pairs:
        key = _DIRECTIONS.get(str(direction).upper())
        if key is None:
            raise NotServable(f"order direction {direction!r}")
        out.append((name, key))
    return tuple(out)


def to_list_query(
    where: Node | None,
    *,
    skip: int = 0,
    take: int | None = None,
    order: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
    with_deleted: bool = False,
) -> ListQuery:
    """Translate a compiled customer filter (relations resolved) into a :class:`ListQuery`.

    :raise NotServable: for anything the index cannot answer exactly.
    """
    b = _Builder()
    if where:
        b.add(where)
    terms = tuple(b.terms)
    if b.no_match:
        terms = (*terms, TermFilter("id", in_=frozenset()))
    return ListQuery(
        q=" ".join(b.words) or None,
        terms=terms,
        ranges=tuple(b.ranges),
        has_account=b.has_account,
        group_ids=b.group_ids,
        with_deleted=with_deleted,
        order=_order(order),
        skip=skip,
        take=take,
    )
