"""IndexReader: Medusa filters → index queries, fallbacks (None) and read-your-writes hook."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from indexers.backends.embedded import EmbeddedBackend
from indexers.query import NotServable, RangeFilter, TermFilter
from indexers.reader import IndexReader, to_list_query
from tests.indexers.conftest import BASE_TIME, customer, upserts

ROWS = [
    customer(
        1,
        email="ann@x.com",
        first_name="Ann",
        has_account=True,
        groups=[{"customer_group_id": "cusgroup_vip", "deleted_at": None}],
    ),
    customer(2, email="bob@x.com", first_name="Bob", company_name="Acme"),
    customer(3, email=None, first_name="Cy", deleted_at=BASE_TIME),
    customer(
        4,
        email="dee@y.org",
        first_name="Dee",
        phone="+1 555 0100",
        groups=[{"customer_group_id": "cusgroup_vip", "deleted_at": None}],
    ),
]


async def resolve(relation: str, value: Any) -> list[str]:
    assert relation == "groups"
    if isinstance(value, dict):
        value = value.get("id", [])
        value = [value] if isinstance(value, str) else value
    return [v for v in value if v != "cusgroup_deleted"]


def run(tmp_path: Path, body) -> None:  # type: ignore[no-untyped-def]
    async def go() -> None:
        backend = EmbeddedBackend(tmp_path / "search")
        calls: list[int] = []

        async def freshness() -> None:
            calls.append(1)

        try:
            await backend.apply(upserts(ROWS))
            reader = IndexReader(backend, freshness=freshness, resolve=resolve)
            await body(reader, calls)
        finally:
            await backend.close()

    asyncio.run(go())


def test_filters_are_served_from_the_index(tmp_path: Path) -> None:
    async def body(reader: IndexReader, calls: list[int]) -> None:
        async def ids(filters: dict[str, Any] | None, **kw: Any) -> tuple[list[str], int] | None:
            return await reader.list_customer_ids(filters, **kw)

        assert await ids(None) == (["cus_000001", "cus_000002", "cus_000004"], 3)
        assert await ids({}, with_deleted=True, take=2) == (["cus_000001", "cus_000002"], 4)
        assert await ids({"email": " ANN@X.com "}) == (["cus_000001"], 1)  # normalized
        assert await ids({"email": ["ann@x.com", "dee@y.org"]}) == (["cus_000001", "cus_000004"], 2)
        assert await ids({"email": {"$ne": "ann@x.com"}}) == (["cus_000002", "cus_000004"], 2)
        assert await ids({"email": None}, with_deleted=True) == (["cus_000003"], 1)
        assert await ids({"id": {"$nin": ["cus_000001"]}, "has_account": False}) == (
            ["cus_000002", "cus_000004"],
            2,
        )
        assert await ids({"has_account": {"$eq": True}}) == (["cus_000001"], 1)
        assert await ids({"groups": "cusgroup_vip"}) == (["cus_000001", "cus_000004"], 2)
        assert await ids({"groups": {"id": ["cusgroup_deleted"]}}) == ([], 0)
        assert await ids({"q": "acme"}) == (["cus_000002"], 1)
        assert await ids({"$and": [{"q": "x.com"}, {"q": "bob"}]}) == (["cus_000002"], 1)
        assert await ids({"q": "0100"}) == (["cus_000004"], 1)
        since = (BASE_TIME + timedelta(minutes=2)).isoformat()
        assert await ids({"created_at": {"$gte": since}}, order={"created_at": "DESC"}) == (
            ["cus_000004", "cus_000002"],
            2,
        )
        assert await ids(None, order={"first_name": "DESC"}, skip=1, take=1) == (["cus_000002"], 3)
        assert calls  # read-your-writes hook awaited before reading

    run(tmp_path, body)


def test_unservable_filters_fall_back_to_mongodb(tmp_path: Path) -> None:
    async def body(reader: IndexReader, calls: list[int]) -> None:
        for filters in (
            {"$or": [{"email": "a"}, {"email": "b"}]},
            {"email": {"$like": "a%"}},
            {"metadata": {"x": 1}},
            {"created_at": "not a date"},
            {"first_name": 5},
        ):
            assert await reader.list_customer_ids(filters) is None, filters
        assert await reader.list_customer_ids(None, order={"phone": "ASC"}) is None
        assert (
            await reader.list_customer_ids(None, order={"last_name": "ASC", "first_name": "ASC"})
            is None
        )

    run(tmp_path, body)


def test_groups_without_a_resolver_fall_back(tmp_path: Path) -> None:
    async def go() -> None:
        backend = EmbeddedBackend(tmp_path / "s")
        try:
            await backend.apply(upserts(ROWS))
            assert await IndexReader(backend).list_customer_ids({"groups": "x"}) is None
        finally:
            await backend.close()

    asyncio.run(go())


def test_no_index_yet_falls_back(tmp_path: Path) -> None:
    async def go() -> None:
        backend = EmbeddedBackend(tmp_path / "empty")
        try:
            reader = IndexReader(backend)
            assert await reader.list_customer_ids({}) is None
            assert await reader.search_customers("ann") is None
        finally:
            await backend.close()

    asyncio.run(go())


def test_search_customers(tmp_path: Path) -> None:
    async def body(reader: IndexReader, calls: list[int]) -> None:
        result = await reader.search_customers("ann", {"has_account": True}, limit=5)
        assert result is not None
        hits, count = result
        assert [h.id for h in hits] == ["cus_000001"] and count == 1
        assert hits[0].highlights == {"email": "<em>ann</em>@x.com", "first_name": "<em>Ann</em>"}
        assert await reader.search_customers("ann", {"$or": []}) is not None

    run(tmp_path, body)


def test_to_list_query_shapes() -> None:
    query = asyncio.run(
        to_list_query(
            {
                "first_name": {"$in": ["A", None], "$nin": ["B"]},
                "updated_at": {"$lt": BASE_TIME},
                "q": "  ",
            },
            skip=5,
            take=10,
            order=[("email", -1)],
            with_deleted=True,
        )
    )
    assert query.terms == (
        TermFilter("first_name", in_=frozenset({"A", None})),
        TermFilter("first_name", nin=frozenset({"B"})),
    )
    assert query.ranges == (RangeFilter("updated_at", lt=BASE_TIME),)
    assert query.q is None and query.order == (("email", "DESC"),)
    assert (query.skip, query.take, query.with_deleted) == (5, 10, True)
    with pytest.raises(NotServable):
        asyncio.run(to_list_query({"has_account": "yes"}))


def test_live_group_ids_from_the_caller(tmp_path: Path) -> None:
    async def go() -> None:
        backend = EmbeddedBackend(tmp_path / "s")
        try:
            await backend.apply(upserts(ROWS))
            reader = IndexReader(backend)  # no resolver: the service passes the live ids
            found = await reader.list_customer_ids(
                {"groups": {"id": "cusgroup_vip"}},
                skip=0,
                take=None,
                order=(("created_at", -1), ("id", 1)),  # FindConfig.sort form
                with_deleted=False,
                live_group_ids=["cusgroup_vip"],
            )
            assert found == (["cus_000004", "cus_000001"], 2)
            assert await reader.list_customer_ids(
                {"groups": "cusgroup_vip"}, live_group_ids=[]
            ) == ([], 0)
        finally:
            await backend.close()

    asyncio.run(go())
