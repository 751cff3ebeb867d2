"""IndexReader: compiled filters → index queries, fallbacks (None) and read-your-writes hook."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.entities import CUSTOMER
from app.errors import InvalidData
from app.filtering import And, Compare, Node, Or, Related, compile_filters, walk
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


def resolve(node: Node) -> Node:
    """What the service does before asking the index: groups resolved to live group ids
    (here: the ids named, but for ``cusgroup_deleted``)."""
    if isinstance(node, And | Or):
        return type(node)(tuple(resolve(part) for part in node.parts))
    if isinstance(node, Related):
        named = [
            v
            for n in walk(node.where)
            if isinstance(n, Compare) and n.field == "id"
            for v in (n.value if isinstance(n.value, tuple) else (n.value,))
        ]
        return node.resolved(tuple(v for v in named if v != "cusgroup_deleted"))
    return node


def compiled(filters: dict[str, Any] | None) -> Node:
    """``filters`` as the service hands them to the reader: compiled, groups resolved."""
    return resolve(compile_filters(filters, CUSTOMER))


def run(tmp_path: Path, body) -> None:  # type: ignore[no-untyped-def]
    async def go() -> None:
        backend = EmbeddedBackend(tmp_path / "search")
        calls: list[int] = []

        class Counted:
            async def read(self, read: Any) -> Any:
                calls.append(1)
                return await read()

        try:
            await backend.apply(upserts(ROWS))
            reader = IndexReader(backend, freshness=Counted())
            await body(reader, calls)
        finally:
            await backend.close()

    asyncio.run(go())


def test_filters_are_served_from_the_index(tmp_path: Path) -> None:
    async def body(reader: IndexReader, calls: list[int]) -> None:
        async def ids(filters: dict[str, Any] | None, **kw: Any) -> tuple[list[str], int] | None:
            return await reader.list_customer_ids(compiled(filters), **kw)

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
            {"created_at": {"$ne": BASE_TIME}},
            {"has_account": [True]},
        ):
            assert await reader.list_customer_ids(compiled(filters)) is None, filters
        for invalid in ({"metadata": {"x": 1}}, {"created_at": "not a date"}, {"first_name": 5}):
            with pytest.raises(InvalidData):  # refused before any reader sees them
                compiled(invalid)
        assert await reader.list_customer_ids(None, order={"phone": "ASC"}) is None
        assert (
            await reader.list_customer_ids(None, order={"last_name": "ASC", "first_name": "ASC"})
            is None
        )

    run(tmp_path, body)


def test_unresolved_groups_fall_back(tmp_path: Path) -> None:
    async def go() -> None:
        backend = EmbeddedBackend(tmp_path / "s")
        try:
            await backend.apply(upserts(ROWS))
            unresolved = compile_filters({"groups": "x"}, CUSTOMER)
            assert await IndexReader(backend).list_customer_ids(unresolved) is None
        finally:
            await backend.close()

    asyncio.run(go())


def test_no_index_yet_falls_back(tmp_path: Path) -> None:
    async def go() -> None:
        backend = EmbeddedBackend(tmp_path / "empty")
        try:
            reader = IndexReader(backend)
            assert await reader.list_customer_ids(None) is None
            assert await reader.search_customers("ann") is None
        finally:
            await backend.close()

    asyncio.run(go())


def test_search_customers(tmp_path: Path) -> None:
    async def body(reader: IndexReader, calls: list[int]) -> None:
        result = await reader.search_customers("ann", compiled({"has_account": True}), limit=5)
        assert result is not None
        hits, count = result
        assert [h.id for h in hits] == ["cus_000001"] and count == 1
        assert hits[0].highlights == {"email": [(0, 3)], "first_name": [(0, 3)]}
        assert await reader.search_customers("ann", compiled({"$or": []})) is not None

    run(tmp_path, body)


def test_to_list_query_shapes() -> None:
    query = to_list_query(
        compiled(
            {
                "first_name": {"$in": ["A", None], "$nin": ["B"]},
                "updated_at": {"$lt": BASE_TIME},
                "q": "  ",
            }
        ),
        skip=5,
        take=10,
        order=[("email", -1)],
        with_deleted=True,
    )
    assert query.terms == (
        TermFilter("first_name", in_=frozenset({"A", None})),
        TermFilter("first_name", nin=frozenset({"B"})),
    )
    assert query.ranges == (RangeFilter("updated_at", lt=BASE_TIME),)
    assert query.q is None and query.order == (("email", "DESC"),)
    assert (query.skip, query.take, query.with_deleted) == (5, 10, True)
    with pytest.raises(NotServable):
        to_list_query(compiled({"has_account": {"$in": [True]}}))


def test_groups_resolved_by_the_caller(tmp_path: Path) -> None:
    async def go() -> None:
        backend = EmbeddedBackend(tmp_path / "s")
        try:
            await backend.apply(upserts(ROWS))
            reader = IndexReader(backend)
            groups = compile_filters({"groups": {"id": "cusgroup_vip"}}, CUSTOMER).parts[0]
            assert isinstance(groups, Related)
            found = await reader.list_customer_ids(
                And((groups.resolved(("cusgroup_vip",)),)),  # the live ids, as resolved
                skip=0,
                take=None,
                order=(("created_at", -1), ("id", 1)),  # FindConfig.sort form
                with_deleted=False,
            )
            assert found == (["cus_000004", "cus_000001"], 2)
            none_live = And((groups.resolved(()),))
            assert await reader.list_customer_ids(none_live) == ([], 0)
        finally:
            await backend.close()

    asyncio.run(go())
