"""Pages of long lists without reading every match: counts from the flags or from an earlier
read of the same view, ranges from hints.

At 1,000,000 customers a plain list page (no filter but the state) cost 11 ms in tantivy, all of
it spent visiting each match once: the count (tantivy-py counts beside a top-k collector, never
with tantivy's own term count) and the top-k by the order's first key take the same time alone
as together. A ``q`` list visits each match to check its phrase: "acme.io", 45,000 matches,
cost 9 ms. Three things make the visit unneeded:

- **Counts from the flags.** Every document is either a customer's, holding exactly one state
  flag and one state-and-account flag, or a tombstone (state 2) holding none. So a list that
  filters on nothing but those flags has as many matches as the index has documents, less those
  holding another flag of the same kind and the tombstones: whichever of the two sides holds
  fewer documents is counted (``doc_freq`` says which; 0.014-0.021 ms at 1,000,000).
- **Counts of the same view.** Any other list's count is exact for the view of the index it
  was taken on, and a view is named by the ``meta.json`` it was opened from (every commit and
  merge rewrites it). :class:`Counts` keeps the counts of recent lists for the newest view, so
  the next page of the same list, or the same page asked again, is counted while nothing was
  written. The first read after a commit counts by a search, as before.
- **A range from a hint.** The documents whose first order key is at most some key ``k`` (at
  least, for a descending order) come first in the list's order, ties and all: they are a
  prefix of it. So when that prefix holds the page and its right-hand neighbour, the page read
  from it is the page read from the whole list. :class:`Hints` remembers, for each recent long
  list page, the first key of its neighbour; the next request for that page reads the prefix up
  to that key through the indexed twin of the key (:func:`schema.range_key`), about as many
  documents as the page and its ties, and checks that it held enough. When it did not (a
  customer before the page was deleted), the page is read from the whole list, as before, and
  the hint renewed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import tantivy

from indexers.backends.embedded.queries import MUST, Q, any_of, other_flags, state_flags, term_query
from indexers.backends.embedded.results import count_matches
from indexers.backends.embedded.schema import SCHEMA, range_key
from indexers.backends.plan import TOMBSTONE
from indexers.query import ListQuery

if TYPE_CHECKING:
    from indexers.backends.embedded.paging import Pager

__all__ = ["HINTED_FROM", "Counts", "Hints", "Known", "flag_count", "hinted_page"]

HINTED_FROM = 2_000
"""Lists with fewer matches are read whole. A page read from a prefix costs 0.15-0.25 ms at
100,000 whatever the list; a whole one 0.1 ms for a ``q`` list of 1,000 matches, 0.4 ms for
4,500, and 0.2 ms for a list of 20,000 filtered by flags alone (measured)."""


class Hints:
    """The first order key just after each of the last :attr:`size` long list pages read.

    A hint is only a guess: whatever it says, :func:`hinted_page` checks it against the index
    it reads, so a hint from an older view, or a lost one, costs time, never correctness.
    """

    def __init__(self, size: int = 256, min_matches: int = HINTED_FROM) -> None:
        self.size = size
        self.min_matches = min_matches
        self.narrowed = 0  # pages read from a prefix
        self.missed = 0  # hints whose prefix did not hold the page
        self._keys: OrderedDict[ListQuery, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: ListQuery) -> int | None:
        with self._lock:
            key = self._keys.get(query)
            if key is not None:
                self._keys.move_to_end(query)
            return key

    def put(self, query: ListQuery, key: int | None, *, hinted: bool | None = None) -> None:
        """Remember ``key`` for ``query`` (None: the page ends the list, forget it).

        :param hinted: True after a page read from a prefix, False after a hint whose prefix
            fell short, None when no hint was tried.
        """
        with self._lock:
            if hinted is not None:
                self.narrowed += hinted
                self.missed += not hinted
            if key is None:
                self._keys.pop(query, None)
                return
            self._keys[query] = key
            self._keys.move_to_end(query)
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)


class Counts:
    """The match counts of the last :attr:`size` lists read from one view of the index.

    A count is exact for the view it was taken on, so they are kept for one view only: the
    first count of a newer view forgets the others. A view of unknown name (None) is never
    counted from here.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.reused = 0  # counts given back (tests and benchmarks read it)
        self._view: bytes | None = None
        self._counts: OrderedDict[ListQuery, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, view: bytes | None, query: ListQuery) -> int | None:
        if view is None:
            return None
        key = _counted(query)
        with self._lock:
            if view != self._view:
                return None
            count = self._counts.get(key)
            if count is not None:
                self._counts.move_to_end(key)
                self.reused += 1
            return count

    def put(self, view: bytes | None, query: ListQuery, count: int) -> None:
        if view is None:
            return
        key = _counted(query)
        with self._lock:
            if view != self._view:
                self._view = view
                self._counts.clear()
            self._counts[key] = count
            self._counts.move_to_end(key)
            while len(self._counts) > self.size:
                self._counts.popitem(last=False)


def _counted(query: ListQuery) -> ListQuery:
    """What a list's count depends on: its filters, not its order or page."""
    return replace(query, order=(), skip=0, take=None)


@dataclass(frozen=True, slots=True)
class Known:
    """What a read of one view of a generation may reuse: its hints (guesses, checked), and
    the counts taken on the same view (``view``: the view's name, None when unknown)."""

    hints: Hints
    counts: Counts
    view: bytes | None

    def count(self, query: ListQuery) -> int | None:
        return self.counts.get(self.view, query)

    def counted(self, query: ListQuery, count: int) -> None:
        self.counts.put(self.view, query, count)


def flag_count(
    searcher: tantivy.Searcher, query: ListQuery, clauses: list[tuple[Any, tantivy.Query]]
) -> int | None:
    """The number of matches of a list whose only clause is its state flags (None: another
    clause, so only a search can count it)."""
    if len(clauses) != 1:
        return None
    # doc_freq counts deleted documents too: a fair guess of each side's work, not a count
    direct = sum(searcher.doc_freq("flags", flag) for flag in state_flags(query))
    terms = [("flags", flag) for flag in other_flags(query)] + [("state", TOMBSTONE)]
    rest = [(field, value, searcher.doc_freq(field, value)) for field, value in terms]
    rest = [(field, value, freq) for field, value, freq in rest if freq]
    if direct <= sum(freq for _, _, freq in rest):
        return count_matches(searcher, clauses[0][1])
    others = any_of([term_query(field, value) for field, value, _ in rest])
    return searcher.num_docs - count_matches(searcher, others)


def hinted_page(
    pager: Pager, whole: tantivy.Query, query: ListQuery, take: int, total: int, hints: Hints
) -> list[Any]:
    """The addresses at [query.skip, query.skip + take) of ``whole`` (``total`` matches),
    read from the prefix up to the hinted key when it holds them."""
    if total < hints.min_matches:
        return pager.page(whole, 0, query.skip, take)
    # the page, and the neighbour whose key is the next hint (the page alone would do: a prefix
    # holds every document that ties with one of its own)
    needed = query.skip + take + 1
    key = hints.get(query)
    if key is not None:
        prefix = Q.boolean_query([(MUST, whole), (MUST, _up_to(pager, key))])
        addrs = pager.page(prefix, 0, query.skip, take, total=True)
        if pager.total >= needed or pager.total == total:
            hints.put(query, pager.edge, hinted=True)
            return addrs
    addrs = pager.page(whole, 0, query.skip, take)
    hints.put(query, pager.edge, hinted=None if key is None else False)
    return addrs


def _up_to(pager: Pager, key: int) -> tantivy.Query:
    """The documents whose first order key comes no later than ``key`` in the order."""
    field, ascending, kind = pager.levels[0]
    lower, upper = (None, key) if ascending else (key, None)
    return Q.range_query(SCHEMA, range_key(field), kind, lower, upper)
