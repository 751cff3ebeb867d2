"""Long lists in the embedded engine: counts from the flags or from an earlier read of the same
view, pages from a hinted prefix.

All must give exactly what reading every match gives (``paging`` without them, the path the
engine-equivalence tests check against MongoDB), whatever was written between two reads: a
hint is a guess from an older view of the index, a count holds for its own view only.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from indexers.backends.base import Delete
from indexers.backends.embedded import generation as generation_module
from indexers.backends.embedded import paging
from indexers.backends.embedded.generation import Generation
from indexers.backends.embedded.narrowing import Counts, Hints, flag_count
from indexers.backends.embedded.queries import Q, filter_clauses
from indexers.backends.embedded.results import count_matches
from indexers.query import ListQuery, RangeFilter, TermFilter
from tests.indexers.conftest import BASE_TIME, customer, upserts

FLAG_LISTS = [
    ListQuery(has_account=account, with_deleted=deleted)
    for account in (None, True, False)
    for deleted in (False, True)
]
ORDERS = [
    (("id", "ASC"),),
    (("id", "DESC"),),
    (("created_at", "DESC"),),
    (("created_at", "ASC"),),
    (("email", "ASC"),),
    (("last_name", "DESC"), ("id", "DESC")),
]


class Writer:
    """One generation and the versions it was given, so each write is newer."""

    def __init__(self, path: Path) -> None:
        path.mkdir(exist_ok=True)
        self.generation = Generation(path)
        self.version = 0

    def put(self, *rows: dict[str, Any]) -> None:
        self.version += 1
        self.generation.apply(upserts(list(rows), self.version))

    def delete(self, id: str) -> None:
        self.version += 1
        self.generation.apply([Delete(id, self.version)])


GROUPS = ("cusgroup_a", "cusgroup_b")


def row(n: int, rng: random.Random) -> dict[str, Any]:
    """A customer whose sort keys tie often (dates in groups of five, few emails and names),
    in a group or not."""
    at = BASE_TIME + timedelta(minutes=n // 5)
    groups = [
        {"customer_group_id": group, "deleted_at": None} for group in GROUPS if rng.random() < 0.4
    ]
    return customer(
        n,
        email=f"u{rng.randrange(12)}@x.com",
        last_name=rng.choice([None, "Ng", "Ode", "Ode"]),
        has_account=rng.random() < 0.4,
        created_at=at,
        updated_at=at,
        groups=groups,
    )


def counted(generation: Generation, query: ListQuery) -> tuple[int | None, int]:
    """(the count from the flags, the count of a search over every match)."""
    searcher = generation.searcher()
    clauses = filter_clauses(query)
    assert clauses is not None
    return flag_count(searcher, query, clauses), count_matches(searcher, Q.boolean_query(clauses))


def test_a_list_on_flags_alone_is_counted_without_its_matches_on_either_side(
    tmp_path: Path,
) -> None:
    rng = random.Random(7)
    mostly_live = Writer(tmp_path / "live")  # the other side is smaller: it is counted
    mostly_deleted = Writer(tmp_path / "deleted")  # the list's side is smaller
    for writer, deleted_share in ((mostly_live, 0.1), (mostly_deleted, 0.9)):
        rows = [row(n, rng) for n in range(80)]
        writer.put(*rows)
        for r in rows:
            if rng.random() < deleted_share:
                writer.put({**r, "deleted_at": BASE_TIME})
            elif rng.random() < 0.2:  # replaced: the old document stays in its segment, deleted
                writer.put({**r, "has_account": not r["has_account"]})
        for r in rng.sample(rows, 6):  # hard deletes leave tombstones
            writer.delete(r["_id"])
        for query in FLAG_LISTS:
            cheap, searched = counted(writer.generation, query)
            assert cheap == searched, (deleted_share, query)
    # an index holding tombstones only
    gone = Writer(tmp_path / "gone")
    gone.put(customer(1))
    gone.delete("cus_000001")
    assert counted(gone.generation, ListQuery()) == (0, 0)


def test_a_list_with_any_other_clause_is_counted_by_a_search(tmp_path: Path) -> None:
    writer = Writer(tmp_path)
    writer.put(customer(1, email="a@x.com"), customer(2))
    for query in (
        ListQuery(q="a@x"),
        ListQuery(group_ids=frozenset({"cusgroup_1"})),
        ListQuery(ranges=(RangeFilter("created_at", gte=BASE_TIME),)),
        ListQuery(terms=(TermFilter("email", in_=frozenset({"a@x.com"})),)),
    ):
        assert counted(writer.generation, query)[0] is None


def test_hinted_pages_are_the_pages_of_the_whole_list_whatever_was_written_between(
    tmp_path: Path,
) -> None:
    rng = random.Random(11)
    writer = Writer(tmp_path)
    generation = writer.generation
    generation.hints = hints = Hints(min_matches=1)  # every list is long here
    rows = {n: row(n, rng) for n in range(0, 300, 2)}
    writer.put(*rows.values())
    queries = [
        ListQuery(order=order, skip=skip, take=take, has_account=account, with_deleted=deleted)
        for order in ORDERS
        for skip, take in ((0, 5), (0, 20), (3, 5), (40, 7))
        for account, deleted in ((None, False), (True, False), (None, True))
    ]
    for step in range(400):
        query = rng.choice(queries)
        served = generation.list_ids(query)
        assert served == paging.list_ids(generation.searcher(), query), (step, query)
        write(writer, rows, rng)
    # both ways were taken, many times: pages read from a prefix, and hints that fell short
    assert hints.narrowed > 100
    assert hints.missed > 5


def write(writer: Writer, rows: dict[int, dict[str, Any]], rng: random.Random) -> None:
    """Nothing (two times in five), or one random write that may move any list's pages."""
    action = rng.random()
    if action < 0.25:  # a new customer anywhere in the order (odd numbers are free)
        n = rng.randrange(1, 300, 2)
        rows[n] = row(n, rng)
        writer.put(rows[n])
    elif action < 0.4 and rows:  # soft delete, or restore
        n = rng.choice(list(rows))
        deleted = None if rows[n]["deleted_at"] else BASE_TIME
        rows[n] = {**rows[n], "deleted_at": deleted}
        writer.put(rows[n])
    elif action < 0.5 and rows:  # hard delete, often of one near the start of the order
        n = rng.choice(sorted(rows)[:10] if rng.random() < 0.5 else list(rows))
        del rows[n]
        writer.delete(customer(n)["_id"])
    elif action < 0.6 and rows:  # a new sort key
        n = rng.choice(list(rows))
        rows[n] = {**rows[n], "email": f"u{rng.randrange(12)}@x.com"}
        writer.put(rows[n])


def test_lists_counted_by_a_search_reuse_the_count_while_the_view_is_the_same(
    tmp_path: Path,
) -> None:
    """``q``, group, range and term lists: each page, hinted or not, counted again or not,
    equals the page read from every match of the index as it is now."""
    rng = random.Random(5)
    writer = Writer(tmp_path)
    generation = writer.generation
    generation.hints = hints = Hints(min_matches=1)
    generation.counts = counts = Counts()
    rows = {n: row(n, rng) for n in range(0, 300, 2)}
    writer.put(*rows.values())
    filters: list[dict[str, Any]] = [
        {"q": "u1"},
        {"q": "x.com"},
        {"q": "ode", "has_account": True},
        {"group_ids": frozenset({GROUPS[0]})},
        {"group_ids": frozenset(GROUPS), "with_deleted": True},
        {"ranges": (RangeFilter("created_at", gte=BASE_TIME + timedelta(minutes=20)),)},
        {"terms": (TermFilter("last_name", in_=frozenset({"Ode"})),)},
    ]
    queries = [
        ListQuery(order=order, skip=skip, take=take, **where)
        for where in filters
        for order in ORDERS[:4]
        for skip, take in ((0, 5), (3, 5), (20, 7))
    ]
    searches = 0
    for step in range(500):
        query = rng.choice(queries)
        reused = counts.reused
        served = generation.list_ids(query)
        assert served == paging.list_ids(generation.searcher(), query), (step, query)
        searches += counts.reused == reused
        if rng.random() < 0.4:  # a run of reads of one view, then writes
            write(writer, rows, rng)
    assert counts.reused > 150  # counted from an earlier read of the same view
    assert searches > 150  # and counted by a search: a write came between
    assert hints.narrowed > 100


def test_a_count_is_not_reused_by_another_view_nor_another_list(tmp_path: Path) -> None:
    writer = Writer(tmp_path)
    generation = writer.generation
    writer.put(*(customer(n, email=f"a{n}@x.com") for n in range(10)))
    query = ListQuery(q="x.com", take=3)
    assert generation.list_ids(query)[1] == 10
    assert generation.list_ids(ListQuery(q="x.com", take=5, skip=2))[1] == 10
    assert generation.counts.reused == 1  # the same list, another page
    assert generation.list_ids(ListQuery(q="a1@x", take=3))[1] == 1  # another list
    writer.put(customer(10, email="b@x.com"))
    assert generation.list_ids(query)[1] == 11  # a new view: counted again
    assert generation.counts.reused == 1
    # a view whose name is not known is never counted from memory
    counts = Counts()
    counts.put(None, query, 99)
    assert counts.get(None, query) is None


def test_a_view_reloaded_while_a_commit_ended_has_no_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reload may or may not have seen that commit: its counts must not be kept."""
    writer = Writer(tmp_path)
    writer.put(customer(1))
    generation = writer.generation
    real = generation_module._meta
    reads = iter([b"as the reload began", b"a commit ended meanwhile"])
    monkeypatch.setattr(generation_module, "_meta", lambda path: next(reads))
    assert generation.view()[1] is None
    monkeypatch.setattr(generation_module, "_meta", real)
    searcher, view = generation.view()  # reloaded again: now named
    assert view == real(tmp_path) and searcher.num_docs == 1


def test_a_hint_that_cuts_the_page_short_is_renewed_and_the_page_is_whole(
    tmp_path: Path,
) -> None:
    writer = Writer(tmp_path)
    generation = writer.generation
    generation.hints = hints = Hints(min_matches=1)
    writer.put(*(customer(n) for n in range(30)))
    query = ListQuery(take=10)
    expected = paging.list_ids(generation.searcher(), query)
    assert generation.list_ids(query) == expected  # the first read leaves a hint
    good = hints.get(query)
    assert good is not None
    assert generation.list_ids(query) == expected and hints.narrowed == 1
    hints.put(query, 0)  # a key before every document: its prefix is empty
    assert generation.list_ids(query) == expected
    assert (hints.narrowed, hints.missed) == (1, 1)
    assert hints.get(query) == good
    # the first ten removed: the old hint's prefix holds none of the page
    for n in range(10):
        writer.delete(customer(n)["_id"])
    assert generation.list_ids(query) == (
        [customer(n)["_id"] for n in range(10, 20)],
        20,
    )
    assert hints.missed == 2
