"""Index-served ``q`` lists equal the definition (``app.textsearch.matches``): ids, counts, pages."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.textsearch import matches
from indexers.backends.base import Upsert
from indexers.backends.embedded import EmbeddedBackend
from indexers.documents import to_search_doc
from indexers.query import ListQuery
from tests.indexers.conftest import customer

BASE = datetime(2024, 1, 1, tzinfo=UTC)
# Few distinct pieces so that words collide; odd characters where the rules have edges.
PIECES = [
    "jo",
    "\x00",
    "\x01",
    "john",
    "doe",
    "an",
    "ann",
    "smith",
    "x",
    "ab",
    "é",
    "İ",
    "K",
    "ß",
    "_",
    "%",
    "-",
    ".",
    "@",
    " ",
    "1",
    "55",
    "555",
    "(",
    ")",
    "+",
    "12",
    "o'b",
    "Ab",
    # international text: diacritics composed and decomposed, Greek, Cyrillic, separators
    "è",
    "e\u0301",
    "É",
    "le",
    "ø",
    "ΣΑ",
    "ς",
    "σ",
    "ά",
    "α\u0301",
    "Жи",
    "д",
    "'",
]
text = st.lists(st.sampled_from(PIECES), min_size=0, max_size=5).map("".join)
maybe_text = st.one_of(st.none(), text)
phone = st.one_of(
    st.none(),
    st.lists(st.sampled_from(["+1", " ", "(555)", "-", "123", "4567", "0", "9"]), max_size=5).map(
        "".join
    ),
)


@st.composite
def customers(draw: Any) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 25))
    out = []
    for i in range(count):
        out.append(
            {
                "_id": f"cus_{draw(st.integers(0, 10**6)):07d}_{i:02d}",
                "email": draw(maybe_text),
                "first_name": draw(maybe_text),
                "last_name": draw(maybe_text),
                "company_name": draw(maybe_text),
                "phone": draw(phone),
                "has_account": draw(st.booleans()),
                "created_at": BASE + timedelta(milliseconds=draw(st.integers(0, 3))),
                "updated_at": BASE + timedelta(milliseconds=draw(st.integers(0, 3))),
                "deleted_at": draw(st.one_of(st.none(), st.just(BASE))),
                "groups": [],
            }
        )
    return out


query_word = st.one_of(
    st.sampled_from(PIECES).filter(lambda p: p.strip()),
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=3).map("".join),
)
queries = st.lists(
    st.lists(query_word, min_size=0, max_size=3).map(" ".join), min_size=1, max_size=6
)
orders = st.sampled_from(
    [
        (("id", "ASC"),),
        (("id", "DESC"),),
        (("created_at", "DESC"),),
        (("created_at", "ASC"),),
        (("updated_at", "DESC"), ("id", "DESC")),
        (("email", "ASC"),),
        (("email", "DESC"),),
        (("first_name", "ASC"), ("id", "DESC")),
        (("last_name", "DESC"),),
        (("company_name", "ASC"),),
    ]
)


def _null_first(field: str, row: dict[str, Any]) -> tuple[bool, Any]:
    """Sort key: rows without ``field`` first, then by its value (as the index orders)."""
    return row[field] is not None, row[field] or ""


def expected(rows: list[dict[str, Any]], q: str, query: ListQuery) -> tuple[list[str], int]:
    """The MongoDB semantics: filter by matches, sort (nulls first ascending, id tie-break)."""
    found = [r for r in rows if matches(q, r) and (query.with_deleted or r["deleted_at"] is None)]
    keys = list(query.order)
    if keys[-1][0] != "id":
        keys.append(("id", "ASC"))
    for name, direction in reversed(keys):
        field = "_id" if name == "id" else name
        found.sort(key=partial(_null_first, field), reverse=direction == "DESC")
    ids = [r["_id"] for r in found]
    end = None if query.take is None else query.skip + query.take
    return ids[query.skip : end], len(ids)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=customers(),
    qs=queries,
    order=orders,
    with_deleted=st.booleans(),
    skip=st.integers(0, 6),
    take=st.one_of(st.none(), st.integers(0, 7)),
)
def test_index_q_equals_definition(rows, qs, order, with_deleted, skip, take) -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as root:
            backend = EmbeddedBackend(root)
            try:
                if rows:
                    await backend.apply([Upsert(to_search_doc(r, 1)) for r in rows])
                    await backend.refresh()
                for q in qs:
                    query = ListQuery(
                        q=q, order=order, with_deleted=with_deleted, skip=skip, take=take
                    )
                    if not rows:
                        continue
                    assert await backend.list_ids(query) == expected(rows, q, query), q
            finally:
                await backend.close()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("first_name", "last_name", "word"),
    [
        ("abc", "cde", "abcde"),  # covering trigrams 2 positions apart
        ("abc", "def", "abcdef"),  # 3 apart: the widest step of a phrase
        ("xy\x00abc", "cde", "abcde"),  # a value with NUL: tokens placed one by one
    ],
)
def test_a_word_never_spans_two_fields(first_name: str, last_name: str, word: str) -> None:
    """The runs of two fields stay far enough apart that no phrase of trigrams bridges them
    (tantivy's own gap between values is one position; the rest is ours)."""
    row = customer(1, first_name=first_name, last_name=last_name)

    async def run() -> None:
        with tempfile.TemporaryDirectory() as root:
            backend = EmbeddedBackend(root)
            try:
                await backend.apply([Upsert(to_search_doc(row, 1))])
                await backend.refresh()
                for q, found in ((word, False), (first_name, True), (last_name, True)):
                    assert matches(q, row) is found
                    ids, _ = await backend.list_ids(ListQuery(q=q))
                    assert ids == (["cus_000001"] if found else []), q
            finally:
                await backend.close()

    asyncio.run(run())


# Ordering stress: long values sharing 16+ character prefixes, non-ASCII, nulls, ULID-like ids
# created in the same millisecond, and pages that cut through groups of equal keys.
LONG = [
    "abcdefghijklmnop",
    "abcdefghijklmnopq",
    "abcdefghijklmnopa",
    "abcdefghijklmno",
    "abé",
    "ab",
    "ab\x00",
    "ab~",
    "Zed",
    None,
    "",
]
ULID_IDS = [
    "cus_01J0000000AAAAAAAAAAAAAAA",
    "cus_01J0000000AAAAAAAAAAAAAAB",
    "cus_01J0000000AAAAAAAAAAAAAA0",
    "cus_01J0000001AAAAAAAAAAAAAAA",
    "cus_01J0000000I",
    "cus_",
    "cus_x",
    "aaa",
    "zzz",
    "cus_01j0000000aaa",
]


@st.composite
def ordered_rows(draw: Any) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 40))
    ids = draw(
        st.lists(
            st.one_of(
                st.sampled_from(ULID_IDS),
                st.text("0123456789ABCJKZ", min_size=1, max_size=4).map(
                    lambda t: "cus_01J0000000AAAAAAAA" + t
                ),
            ),
            min_size=count,
            max_size=count,
            unique=True,
        )
    )
    return [
        {
            "_id": id_,
            "email": draw(st.sampled_from(LONG)),
            "first_name": draw(st.sampled_from(LONG)),
            "last_name": None,
            "company_name": draw(st.sampled_from(LONG)),
            "phone": None,
            "has_account": False,
            "created_at": BASE + timedelta(milliseconds=draw(st.integers(0, 2))),
            "updated_at": BASE,
            "deleted_at": None,
            "groups": [],
        }
        for id_ in ids
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=ordered_rows(),
    order=orders,
    pages=st.lists(
        st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(1, 12))),
        min_size=1,
        max_size=5,
    ),
)
def test_index_order_and_pages_equal_mongodb_order(rows, order, pages) -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as root:
            backend = EmbeddedBackend(root)
            try:
                await backend.apply([Upsert(to_search_doc(r, 1)) for r in rows])
                for skip, take in pages:
                    query = ListQuery(order=order, skip=skip, take=take)
                    assert await backend.list_ids(query) == expected(rows, "", query)
            finally:
                await backend.close()

    asyncio.run(run())


def test_deep_pages_through_large_groups_of_ties() -> None:
    rows = [
        {
            "_id": f"cus_01J{(i * 7919) % 3000:07d}AAAAAAAAAAAAA{i % 10}",
            "email": f"user{i % 40}@example.com" if i % 13 else None,
            "first_name": ["Ann", "Bob", "Cy", "a-very-long-first-name-beyond-keys"][i % 4]
            + ("x" if i % 17 == 0 else ""),
            "last_name": None,
            "company_name": None,
            "phone": None,
            "has_account": i % 3 == 0,
            "created_at": BASE + timedelta(milliseconds=i % 10),
            "updated_at": BASE,
            "deleted_at": None,
            "groups": [],
        }
        for i in range(3000)
    ]

    async def run() -> None:
        with tempfile.TemporaryDirectory() as root:
            backend = EmbeddedBackend(root)
            try:
                await backend.apply([Upsert(to_search_doc(r, 1)) for r in rows])
                for order in [
                    (("id", "ASC"),),
                    (("created_at", "DESC"),),
                    (("first_name", "ASC"), ("id", "DESC")),
                    (("email", "DESC"),),
                ]:
                    for skip, take in [(0, 50), (299, 50), (1499, 101), (2990, 50), (0, None)]:
                        query = ListQuery(order=order, skip=skip, take=take)
                        assert await backend.list_ids(query) == expected(rows, "", query), (
                            order,
                            skip,
                        )
            finally:
                await backend.close()

    asyncio.run(run())
