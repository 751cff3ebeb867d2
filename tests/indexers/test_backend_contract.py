"""The SearchBackend contract, run against every engine (Elasticsearch only with a server)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from indexers.backends.base import BackendError, Delete, SearchBackend, Upsert
from indexers.documents import to_search_doc
from indexers.query import ListQuery, NotServable, RangeFilter, RankedQuery, TermFilter
from tests.indexers.conftest import BASE_TIME, Engine, customer, upserts


def test_apply_then_versions_and_count(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        result = await b.apply(upserts([customer(1), customer(2), customer(3)], version=10))
        assert result.rejected == []
        await b.refresh()
        assert await b.count() == 3
        assert await b.versions() == {"cus_000001": 10, "cus_000002": 10, "cus_000003": 10}
        assert await b.versions(["cus_000002", "cus_missing"]) == {"cus_000002": 10}

    engine.run(body)


def test_stale_and_equal_versions_are_skipped(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply([Upsert(to_search_doc(customer(1, first_name="New"), 10))])
        await b.apply([Upsert(to_search_doc(customer(1, first_name="Old"), 9))])
        await b.apply([Upsert(to_search_doc(customer(1, first_name="Same"), 10))])
        await b.refresh()
        assert await b.versions() == {"cus_000001": 10}
        ids, count = await b.list_ids(ListQuery(q="new"))
        assert (ids, count) == (["cus_000001"], 1)
        assert await b.list_ids(ListQuery(q="old")) == ([], 0)

    engine.run(body)


def test_replaying_a_batch_is_idempotent(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        batch: list[Upsert | Delete] = [
            *upserts([customer(1), customer(2)], 5),
            Delete("cus_000002", 6),
        ]
        await b.apply(batch)
        await b.apply(batch)
        await b.refresh()
        assert await b.versions() == {"cus_000001": 5}
        assert await b.count() == 1

    engine.run(body)


def test_a_hard_delete_is_never_undone_by_a_stale_upsert(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply(upserts([customer(1, last_name="Gone")], 5))
        await b.apply([Delete("cus_000001", 7)])
        await b.apply(upserts([customer(1, last_name="Gone")], 6))  # late, stale
        await b.refresh()
        assert await b.versions() == {}
        assert await b.count() == 0
        assert await b.list_ids(ListQuery(q="gone")) == ([], 0)
        assert await b.search(RankedQuery(q="gone")) == ([], 0)
        # a newer write (e.g. a re-created customer) does apply
        await b.apply(upserts([customer(1, last_name="Back")], 8))
        await b.refresh()
        assert await b.versions() == {"cus_000001": 8}

    engine.run(body)


def test_delete_of_an_unknown_id_leaves_a_tombstone(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply([Delete("cus_000009", 50)])
        await b.apply(upserts([customer(9)], 40))
        await b.refresh()
        assert await b.versions() == {} and await b.count() == 0

    engine.run(body)


def test_ops_in_one_batch_apply_in_order(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply(
            [
                Upsert(to_search_doc(customer(1, first_name="A"), 1)),
                Upsert(to_search_doc(customer(1, first_name="C"), 3)),
                Upsert(to_search_doc(customer(1, first_name="B"), 2)),  # stale within the batch
            ]
        )
        await b.refresh()
        assert await b.versions() == {"cus_000001": 3}
        assert (await b.list_ids(ListQuery(terms=(TermFilter("first_name", frozenset({"C"})),))))[
            1
        ] == 1

    engine.run(body)


def test_soft_deleted_customers_are_counted_but_listed_only_with_deleted(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply(upserts([customer(1), customer(2, deleted_at=BASE_TIME)]))
        await b.refresh()
        assert await b.count() == 2
        assert await b.list_ids(ListQuery()) == (["cus_000001"], 1)
        assert await b.list_ids(ListQuery(with_deleted=True)) == (["cus_000001", "cus_000002"], 2)

    engine.run(body)


def test_list_filters_order_and_pages(engine: Engine) -> None:
    rows = [
        customer(
            1,
            email="a@x.com",
            first_name="Ann",
            has_account=True,
            groups=[{"customer_group_id": "cusgroup_vip", "deleted_at": None}],
        ),
        customer(2, email="b@x.com", first_name=None, created_by="user_1"),
        customer(
            3,
            email=None,
            first_name="Bob",
            has_account=True,
            groups=[{"customer_group_id": "cusgroup_other", "deleted_at": None}],
        ),
        customer(
            4,
            email="d@y.org",
            first_name="ann",
            company_name="Acme",
            created_at=BASE_TIME + timedelta(minutes=1),
        ),  # same created_at as cus_1
    ]

    async def body(b: SearchBackend) -> None:
        await b.apply(upserts(rows))
        await b.refresh()

        async def ids(**kw: object) -> list[str]:
            return (await b.list_ids(ListQuery(**kw)))[0]  # type: ignore[arg-type]

        assert await ids() == ["cus_000001", "cus_000002", "cus_000003", "cus_000004"]
        assert await ids(order=(("id", "DESC"),)) == [
            "cus_000004",
            "cus_000003",
            "cus_000002",
            "cus_000001",
        ]
        assert await ids(order=(("created_at", "DESC"), ("id", "ASC"))) == [
            "cus_000003",
            "cus_000002",
            "cus_000001",
            "cus_000004",
        ]
        assert await ids(order=(("created_at", "ASC"), ("id", "DESC"))) == [
            "cus_000004",
            "cus_000001",
            "cus_000002",
            "cus_000003",
        ]
        assert await ids(order=(("first_name", "ASC"),)) == [  # nulls first, code-point order
            "cus_000002",
            "cus_000001",
            "cus_000003",
            "cus_000004",
        ]
        assert await ids(order=(("first_name", "DESC"),)) == [
            "cus_000004",
            "cus_000003",
            "cus_000001",
            "cus_000002",
        ]
        assert await ids(terms=(TermFilter("email", frozenset({"a@x.com", None})),)) == [
            "cus_000001",
            "cus_000003",
        ]
        assert await ids(terms=(TermFilter("email", nin=frozenset({None})),)) == [
            "cus_000001",
            "cus_000002",
            "cus_000004",
        ]
        assert await ids(terms=(TermFilter("id", frozenset()),)) == []
        assert await ids(terms=(TermFilter("created_by", frozenset({"user_1"})),)) == ["cus_000002"]
        assert await ids(has_account=True) == ["cus_000001", "cus_000003"]
        assert await ids(group_ids=frozenset({"cusgroup_vip", "cusgroup_none"})) == ["cus_000001"]
        assert await ids(group_ids=frozenset()) == []
        assert await ids(
            ranges=(
                RangeFilter(
                    "created_at",
                    gt=BASE_TIME + timedelta(minutes=1),
                    lte=BASE_TIME + timedelta(minutes=3),
                ),
            )
        ) == ["cus_000002", "cus_000003"]
        assert await ids(q="ann") == ["cus_000001", "cus_000004"]
        assert await ids(q="ann acme") == ["cus_000004"]
        page = await b.list_ids(ListQuery(skip=1, take=2))
        assert page == (["cus_000002", "cus_000003"], 4)
        assert await b.list_ids(ListQuery(skip=3, take=None)) == (["cus_000004"], 4)
        assert await b.list_ids(ListQuery(skip=9, take=5)) == ([], 4)
        assert await b.list_ids(ListQuery(take=0)) == ([], 4)
        with pytest.raises(NotServable):
            await b.list_ids(ListQuery(order=(("phone", "ASC"),)))

    engine.run(body)


def test_ranked_search_returns_hits_scores_and_highlights(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply(
            upserts(
                [
                    customer(1, first_name="John", last_name="Doe", email="john@doe.com"),
                    customer(2, first_name="Johnny", last_name="Walker"),
                ]
            )
        )
        await b.refresh()
        hits, count = await b.search(RankedQuery(q="john doe", limit=5))
        assert count >= 1
        assert hits[0].id == "cus_000001"
        assert hits[0].highlights["first_name"] == [(0, 4)]
        assert hits[0].score > 0

    engine.run(body)


def test_generations_switch_readers_atomically(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply(upserts([customer(1)]))  # the first write creates + activates one
        await b.refresh()
        first = await b.active_generation()
        assert first is not None and await b.generations() == [first]

        new = await b.create_generation()
        writer = b.writer_for(new)
        await writer.apply(upserts([customer(1), customer(2)], version=3))
        await writer.refresh()
        assert await b.count() == 1  # readers still on the old generation
        assert await writer.count() == 2
        assert sorted(await b.generations()) == sorted([first, new])

        await b.activate(new)
        assert await b.active_generation() == new
        await b.refresh()
        assert await b.count() == 2
        assert (await b.list_ids(ListQuery()))[1] == 2
        with pytest.raises(BackendError):
            await b.drop_generation(new)
        await b.drop_generation(first)
        assert await b.generations() == [new]
        # the default writer follows the active generation
        await b.apply(upserts([customer(3)]))
        await b.refresh()
        assert await b.count() == 3

    engine.run(body)


def test_reads_before_any_index_are_not_servable(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        assert await b.active_generation() is None
        assert await b.count() == 0
        assert await b.versions() == {}
        with pytest.raises(NotServable):
            await b.list_ids(ListQuery())

    engine.run(body)


def test_an_index_of_another_schema_is_reported_not_misread(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    import tantivy

    from indexers.backends.base import IncompatibleIndex
    from indexers.backends.embedded import EmbeddedBackend
    from indexers.reader import IndexReader

    async def body() -> None:
        backend = EmbeddedBackend(tmp_path / "search")
        try:
            name = await backend.create_generation()
            await backend.activate(name)
            await backend.close()
            old = tantivy.SchemaBuilder()
            old.add_text_field("id", stored=True)
            for path in (tmp_path / "search" / name).iterdir():
                path.unlink()
            tantivy.Index(old.build(), path=str(tmp_path / "search" / name))
            backend = EmbeddedBackend(tmp_path / "search")
            with pytest.raises(IncompatibleIndex):
                await backend.apply(upserts([customer(1)]))
            assert await IndexReader(backend).list_customer_ids(None) is None  # → MongoDB
        finally:
            await backend.close()

    asyncio.run(body())


def test_documents_return_what_was_indexed(engine: Engine) -> None:
    rows = [
        customer(
            1,
            email="ann@x.com",
            first_name="Ann",
            phone="+1 (555) 010-2030",
            phone_digits="15550102030",
            has_account=True,
            created_by="user_1",
            groups=[
                {"customer_group_id": "cusgroup_b", "deleted_at": None},
                {"customer_group_id": "cusgroup_a", "deleted_at": None},
            ],
        ),
        customer(2, company_name="Acme", deleted_at=BASE_TIME + timedelta(days=3)),
        customer(3),
    ]

    async def body(b: SearchBackend) -> None:
        await b.apply([*upserts(rows, version=7), Delete("cus_000003", 8)])
        await b.refresh()
        stored = await b.documents(["cus_000001", "cus_000002", "cus_000003", "cus_none"])
        assert stored == {
            "cus_000001": to_search_doc(rows[0], 7),
            "cus_000002": to_search_doc(rows[1], 7),
        }  # the tombstone and the unknown id are absent
        assert await b.documents([]) == {}

    engine.run(body)


def test_bulk_load_into_a_fresh_generation_keeps_the_newer_version(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply(upserts([customer(1)]))
        target = b.writer_for(await b.create_generation())
        # dual writes that reach the new generation before (and after) the copy
        await target.apply(
            [
                Upsert(to_search_doc(customer(1, first_name="Newer"), 20)),
                Delete("cus_000002", 20),
                Upsert(to_search_doc(customer(3, first_name="Older"), 5)),
            ]
        )
        copy = [customer(n, first_name="Copy") for n in range(1, 6)]
        result = await target.bulk_load([to_search_doc(row, 10) for row in copy])
        assert result.rejected == []
        await target.apply(
            [
                Upsert(to_search_doc(customer(4, first_name="Later"), 30)),
                Upsert(to_search_doc(customer(5, first_name="Stale"), 9)),
            ]
        )
        await target.refresh()
        assert await target.versions() == {
            "cus_000001": 20,
            "cus_000003": 10,
            "cus_000004": 30,
            "cus_000005": 10,
        }
        assert await target.count() == 4  # one document per id
        names = {
            i: d.first_name
            for i, d in (
                await target.documents(["cus_000001", "cus_000003", "cus_000004", "cus_000005"])
            ).items()
        }
        assert names == {
            "cus_000001": "Newer",
            "cus_000003": "Copy",
            "cus_000004": "Later",
            "cus_000005": "Copy",
        }
        ids, total = await target.list_ids(ListQuery(q="copy"))
        assert (ids, total) == (["cus_000003", "cus_000005"], 2)

    engine.run(body)


def test_a_second_writer_is_unavailable_until_the_first_releases_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from indexers.backends.base import BackendUnavailable
    from indexers.backends.embedded import EmbeddedBackend

    async def body() -> None:
        first = EmbeddedBackend(tmp_path / "search")
        second = EmbeddedBackend(tmp_path / "search")
        try:
            await first.apply(upserts([customer(1)]))
            with pytest.raises(BackendUnavailable, match="lock"):
                await second.apply(upserts([customer(2)]))
            await first.release_writer()
            assert await first.count() == 1  # still readable
            await second.apply(upserts([customer(2)]))
            await first.refresh()
            assert await first.count() == 2
        finally:
            await first.close()
            await second.close()

    asyncio.run(body())
