"""Ordered pages of a list, served by numeric fast fields.

tantivy sorts numbers fast and strings slowly (a 1,000-hit string sort costs ~160 ms at 1M), so
every order is a cascade of u64/i64 fast fields that never contradict the exact order
(:func:`indexers.keys.id_keys`, ``text_keys``, dates in ms); :class:`Pager` serves a page by
the first key and only re-orders groups of equal keys that the page cuts, from the next key down
to the stored values. Count and first page come from one search.

Bounded: a page never asks tantivy for more than the matches (its top-k collector allocates per
requested hit, so an offset is clamped to the count first).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import tantivy

from indexers.backends.base import Listed
from indexers.backends.embedded.narrowing import Known, flag_count, hinted_page
from indexers.backends.embedded.queries import I64, MUST, U64, Q, filter_clauses
from indexers.backends.embedded.results import count_matches, hit_count, stored_id, stored_listed
from indexers.backends.embedded.schema import ID_KEYS, SCHEMA
from indexers.backends.plan import order_of
from indexers.documents import SORT_DATE_FIELDS
from indexers.query import ListQuery

__all__ = ["Pager", "list_documents", "list_ids", "sort_plan"]

T = TypeVar("T")

SMALL_GROUP = 64
"""A cut group of one millisecond up to this size is ordered from stored values in one search
(reading a stored document costs ~10 µs; a search over 100,000 keys ~1 ms)."""

Level = tuple[str, bool, Any]  # (numeric fast field, ascending, field type)
Residual = list[tuple[str, bool]]  # (stored field, descending), applied most significant first


def sort_plan(order: Sequence[tuple[str, str]]) -> tuple[list[Level], Residual]:
    """Return the numeric key levels and the exact residual order for Medusa's ``order``.

    The id is always the last tie-breaker (ascending unless the order names it).
    """
    plan = order_of(order)
    field, asc, tie_asc = plan.field, plan.ascending, plan.tie_ascending
    ids = [(name, tie_asc, U64) for name in ID_KEYS]
    if field == "id":
        return ids, [("id", not tie_asc)]
    if field in SORT_DATE_FIELDS:
        return [(field, asc, I64), *ids], [("id", not tie_asc)]
    levels = [(f"o_{field}_1", asc, U64), (f"o_{field}_2", asc, U64), *ids]
    return levels, [(field, not asc), ("id", not tie_asc)]


def _residual_key(name: str, doc: tuple[dict[str, Any], Any]) -> tuple[bool, Any]:
    """Sort key on the stored field ``name``: documents without it first, then by value."""
    values = doc[0].get(name)
    return (values or [None])[0] is not None, (values or [""])[0]


def _residual_sort(docs: list[tuple[dict[str, Any], Any]], residual: Residual) -> list[Any]:
    for name, desc in reversed(residual):
        docs.sort(key=partial(_residual_key, name), reverse=desc)
    return [addr for _, addr in docs]


class Pager:
    """Serve one exact page by numeric keys, fixing ties group by group."""

    def __init__(self, searcher: tantivy.Searcher, levels: list[Level], residual: Residual):
        self.searcher = searcher
        self.levels = levels
        self.residual = residual
        self.total = 0
        self.edge: int | None = None

    def count(self, query: tantivy.Query) -> int:
        return count_matches(self.searcher, query)

    def exact(self, addrs: list[Any]) -> list[Any]:
        """``addrs`` in the exact order, from their stored values (the residual order)."""
        docs = [(self.searcher.doc(addr).to_dict(), addr) for addr in addrs]
        return _residual_sort(docs, self.residual)

    def page(
        self, query: tantivy.Query, depth: int, skip: int, take: int, *, total: bool = False
    ) -> list[Any]:
        """Return the addresses at positions [skip, skip + take) in the exact order.

        With ``total``, the number of matches is left in ``self.total`` (same search). The
        first key of the match just after the page is left in ``self.edge`` (None: the page
        ends the list).
        """
        if depth == len(self.levels):
            count = self.count(query)
            hits = self.searcher.search(query, max(count, 1), count=False).hits
            return self.exact([addr for _, addr in hits])[skip : skip + take]
        field, asc, kind = self.levels[depth]
        order = tantivy.Order.Asc if asc else tantivy.Order.Desc
        # one neighbour on each side tells whether the first/last group is cut by the page
        lead = 1 if skip > 0 else 0
        result = self.searcher.search(
            query,
            take + lead + 1,
            count=total,
            order_by_field=field,
            offset=skip - lead,
            order=order,
        )
        if total:
            self.total = hit_count(result)
        hits = result.hits
        before = hits[0][0] if lead and hits else None
        window = hits[lead : lead + take]
        after = hits[lead + take][0] if len(hits) > lead + take else None
        if depth == 0:
            self.edge = after
        runs: list[tuple[Any, list[Any]]] = []
        for value, addr in window:
            if runs and runs[-1][0] == value:
                runs[-1][1].append(addr)
            else:
                runs.append((value, [addr]))
        out: list[Any] = []
        position = skip
        for index, (value, addrs) in enumerate(runs):
            cut_before = index == 0 and lead == 1 and before == value
            cut_after = index == len(runs) - 1 and after is not None and after == value
            if len(addrs) == 1 and not cut_before and not cut_after:
                out.extend(addrs)  # the whole group is this one document
            elif not cut_before and not cut_after:
                # the whole group is inside the page: its order needs no other search (ids
                # created in one millisecond tie on their keys, so a page of them had one
                # search per group: 18 for a first page at 100,000, now 4)
                out.extend(self.exact(addrs))
            else:
                equal = Q.range_query(SCHEMA, field, kind, value, value)
                group = Q.boolean_query([(MUST, query), (MUST, equal)])
                if cut_before:
                    lower, upper = (None, value) if asc else (value, None)
                    earlier = Q.range_query(
                        SCHEMA, field, kind, lower, upper, include_lower=asc, include_upper=not asc
                    )
                    start = self.count(Q.boolean_query([(MUST, query), (MUST, earlier)]))
                else:
                    start = position  # the group starts inside the page
                out.extend(self._cut_group(group, depth, value, position - start, len(addrs)))
            position += len(addrs)
        return out

    def _cut_group(
        self, group: tantivy.Query, depth: int, value: int, skip: int, take: int
    ) -> list[Any]:
        """Positions [skip, skip + take) of a group of equal keys at ``depth`` that the page
        cuts.

        A group of one millisecond (equal first id keys, or equal dates) is small: it is
        fetched whole, up to :data:`SMALL_GROUP`, and ordered from its stored values in one
        search, where each further key level took one (a first page at 100,000: 4 searches,
        now 2). A bigger group, or equal text keys, goes down to the next key.
        """
        field = self.levels[depth][0]
        if field == ID_KEYS[0] or field in SORT_DATE_FIELDS:
            result = self.searcher.search(group, SMALL_GROUP, count=True)
            if hit_count(result) <= SMALL_GROUP:
                return self.exact([addr for _, addr in result.hits])[skip : skip + take]
        # an odd second text key: values differ beyond the key, order them exactly
        partial = field.startswith("o_") and field.endswith("_2") and value & 1
        deeper = len(self.levels) if partial else depth + 1
        return self.page(group, deeper, skip, take)


def list_ids(
    searcher: tantivy.Searcher, query: ListQuery, known: Known | None = None
) -> tuple[list[str], int]:
    """Return one page of ids and the total count (see :meth:`SearchBackend.list_ids`)."""
    return _list(searcher, query, stored_id, known)


def list_documents(
    searcher: tantivy.Searcher, query: ListQuery, known: Known | None = None
) -> tuple[list[Listed], int]:
    """Return one page of ids with their response documents, and the total count."""
    return _list(searcher, query, stored_listed, known)


def _list(
    searcher: tantivy.Searcher,
    query: ListQuery,
    read: Callable[[tantivy.Searcher, Any], T],
    known: Known | None,
) -> tuple[list[T], int]:
    """One page, each hit read by ``read(searcher, address)``, and the total count.

    With ``known`` (what earlier reads of this view left), a long list whose count needs no
    search is read through its hints (:mod:`indexers.backends.embedded.narrowing`).
    """
    levels, residual = sort_plan(query.order)
    clauses = filter_clauses(query)
    if clauses is None:
        return [], 0
    tq = Q.boolean_query(clauses)
    pager = Pager(searcher, levels, residual)
    total = None
    if known is not None:
        total = flag_count(searcher, query, clauses)
        if total is None:
            total = known.count(query)
    if total is None:
        if query.skip == 0 and query.take:  # the count and the first page in one search
            addrs = pager.page(tq, 0, 0, query.take, total=True)
            if known is not None:
                known.counted(query, pager.total)
                if pager.total >= known.hints.min_matches:
                    known.hints.put(query, pager.edge)
            return [read(searcher, addr) for addr in addrs], pager.total
        total = pager.count(tq)
        if known is not None:
            known.counted(query, total)
    # tantivy's top-k collector allocates for offset + limit hits up front: ask for no more
    # than match, so an offset of 2**31 costs what the count costs
    room = total - query.skip
    take = room if query.take is None else min(query.take, room)
    if take <= 0:
        return [], total
    if known is None:
        addrs = pager.page(tq, 0, query.skip, take)
    else:
        addrs = hinted_page(pager, tq, query, take, total, known.hints)
    return [read(searcher, addr) for addr in addrs], total
