"""Bounded searches in the engines: any offset, long stored values, worst-case queries.

Run against every engine (Elasticsearch only with a server). An offset beyond the matches is an
empty page with the right count, whatever its size (tantivy's top-k collector would otherwise
allocate for it and abort the process); stored values longer than the limits are searched in
their first ``SEARCHED_CHARS`` characters, like everywhere else, and never make a search or a
highlight slower than a value of that length does.
"""

from __future__ import annotations

from app.limits import MAX_Q_CHARS, MAX_Q_WORDS, MAX_TEXT_CHARS
from app.textsearch import SEARCHED_CHARS, matches
from indexers.backends.base import SearchBackend
from indexers.query import ListQuery, RankedQuery
from tests.indexers.conftest import Engine, customer, upserts

ORDERS = [
    (("id", "ASC"),),
    (("id", "DESC"),),
    (("email", "DESC"),),
    (("created_at", "DESC"),),
    (("last_name", "ASC"), ("id", "DESC")),
]


def test_any_offset_is_a_page_of_the_matches_with_their_count(engine: Engine) -> None:
    rows = [customer(n, email=f"u{n % 7}@x.com", last_name=f"L{n % 3}") for n in range(30)]

    async def body(b: SearchBackend) -> None:
        await b.apply(upserts(rows))
        await b.refresh()
        for order in ORDERS:
            everything, total = await b.list_ids(ListQuery(order=order))
            assert total == 30 and len(everything) == 30
            for skip in (0, 1, 28, 29, 30, 31, 10_000, 2**31 - 1, 2**62):
                page = await b.list_ids(ListQuery(order=order, skip=skip, take=5))
                assert page == (everything[skip : skip + 5], 30), (order, skip)
                rest = await b.list_ids(ListQuery(order=order, skip=skip))
                assert rest == (everything[skip:], 30), (order, skip)
            assert await b.list_ids(ListQuery(order=order, skip=2**31 - 1, take=0)) == ([], 30)
        assert await b.list_ids(ListQuery(q="u3", skip=2**31 - 1, take=50)) == ([], 4)

    engine.run(body)


def test_a_phrase_never_bridges_two_fields(engine: Engine) -> None:
    # "abcdef" is looked up as "abc" and "def" three positions apart: the end of one field and
    # the start of the next must not pass for it
    rows = [
        customer(1, email="xxabc", first_name="ydefzz"),
        customer(2, email="abcdef@x.com"),
        customer(3, first_name="zzabc", last_name="def", company_name="cdefg"),
    ]

    async def body(b: SearchBackend) -> None:
        await b.apply(upserts(rows))
        await b.refresh()
        for q in ("abcdef", "abcdefg", "xabc", "defz", "zabcd", "bcdefg", "abcde"):
            ids, count = await b.list_ids(ListQuery(q=q))
            expected = [r["_id"] for r in rows if matches(q, r)]
            assert (ids, count) == (expected, len(expected)), q

    engine.run(body)


HOSTILE = [
    # a legacy 1 MB email (stored before the input limits), and values as long as they allow
    customer(1, email="a" * 1_000_000 + "needle@example.com", first_name="Legacy"),
    customer(2, first_name="a" * MAX_TEXT_CHARS, last_name="a" * MAX_TEXT_CHARS),
    customer(3, company_name="b" * (SEARCHED_CHARS - 6) + "needle", phone="1" * MAX_TEXT_CHARS),
    customer(4, first_name="Ann", last_name="Doe", email="ann@doe.com"),
]


def test_long_stored_values_are_searched_in_their_first_characters(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply(upserts(HOSTILE))
        await b.refresh()
        for q in (
            "needle",  # after the first SEARCHED_CHARS of the 1 MB email: not found there
            "a" * MAX_Q_CHARS,
            " ".join("a" * (3 + k) for k in range(MAX_Q_WORDS)),
            "aaa legacy",
            "111",
            "ann doe",
        ):
            ids, count = await b.list_ids(ListQuery(q=q))
            expected = [r["_id"] for r in HOSTILE if matches(q, r)]
            assert (ids, count) == (expected, len(expected)), q[:40]
        assert (await b.list_ids(ListQuery(q="needle")))[0] == ["cus_000003"]

    engine.run(body)


def test_ranked_lookups_over_long_values_are_bounded_and_highlight_the_searched_part(
    engine: Engine,
) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply(upserts(HOSTILE))
        await b.refresh()
        hits, count = await b.search(RankedQuery(q="a" * MAX_Q_CHARS, limit=1000))
        assert count == 2 and {h.id for h in hits} == {"cus_000001", "cus_000002"}
        legacy = next(h for h in hits if h.id == "cus_000001")
        assert legacy.highlights["email"][-1][1] <= SEARCHED_CHARS  # the searched part only
        typos = " ".join(["aaaaaaaaaaaaaab"] * MAX_Q_WORDS)  # long fuzzy words, repeated
        hits, _ = await b.search(RankedQuery(q=typos, limit=1000))
        assert {h.id for h in hits} <= {"cus_000001", "cus_000002"}
        hits, _ = await b.search(RankedQuery(q="Legacy", limit=5))
        assert hits[0].id == "cus_000001" and hits[0].highlights["first_name"] == [(0, 6)]

    engine.run(body)
