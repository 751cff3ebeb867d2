"""The sync indexer against a real SecantusDB and a real tantivy index (tmp_path)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from indexers.backends.embedded import EmbeddedBackend
from indexers.oplog import OplogPruner, prune_oplog, resumable
from indexers.state import IndexerState
from indexers.sync import Indexer, probe_head
from tests.indexers.sync_support import (
    FlakyBackend,
    Writer,
    assert_index_matches,
    dedicated_server,
    last_event_versions,
    raw_customer,
    running,
    until,
    with_database,
)

Body = Callable[[Any, Path], Awaitable[None]]


def run(uri: str, database_name: str, tmp_path: Path, body: Body) -> None:
    with_database(uri, database_name, lambda db: body(db, tmp_path / "search"))


def indexer(db: Any, backend: Any, **options: Any) -> Indexer:
    options.setdefault("lease_ttl", 3.0)
    options.setdefault("backoff_initial", 0.05)
    options.setdefault("backoff_max", 0.2)
    return Indexer(db, backend, **options)


def test_first_run_reindexes_then_follows_every_kind_of_change(
    mongodb_uri: str, database_name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(db: Any, root: Path) -> None:
        coll = db.customers
        await coll.insert_many([raw_customer(n) for n in range(50)])
        backend = EmbeddedBackend(root)
        ix = indexer(db, backend)
        logger = logging.getLogger("customers.indexer")
        logger.addHandler(caplog.handler)  # even if `serve` stopped "customers" propagating
        try:
            with caplog.at_level(logging.INFO, logger="customers.indexer"):
                await ix.run_until_caught_up()
        finally:
            logger.removeHandler(caplog.handler)
        # a first build is routine: INFO, not the loud ERROR of an index missing changes
        assert "building the search index 'customers' for the first time" in caplog.text
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        await assert_index_matches(coll, backend)

        start = (await IndexerState(db).load())["resume_token"]
        await coll.insert_one(raw_customer(100))
        await coll.update_one({"_id": "cus_0000001"}, {"$set": {"first_name": "Zed"}})
        await coll.replace_one({"_id": "cus_0000002"}, raw_customer(2, last_name="Replaced"))
        await coll.update_one(
            {"_id": "cus_0000003"}, {"$set": {"deleted_at": raw_customer(0)["created_at"]}}
        )
        await coll.delete_one({"_id": "cus_0000004"})
        # updated, then deleted before the indexer looks: fullDocument is null → a delete
        await coll.update_one({"_id": "cus_0000005"}, {"$set": {"first_name": "Gone"}})
        await coll.delete_one({"_id": "cus_0000005"})
        await ix.run_until_caught_up()
        expected = await last_event_versions(coll, start)
        touched = {"cus_0000100", "cus_0000001", "cus_0000002", "cus_0000003"}
        versions = await backend.versions(sorted(touched))
        assert versions == {i: expected[i] for i in touched}
        await assert_index_matches(coll, backend)
        assert ix.stats.reindexes == 1
        await backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_backend_down_stops_the_checkpoint_and_catches_up_after(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        coll = db.customers
        backend = FlakyBackend(EmbeddedBackend(root))
        ix = indexer(db, backend)
        await ix.run_until_caught_up()
        state = IndexerState(db)
        async with running(ix):
            saved = (await state.load())["resume_token"]
            backend.down = True
            writer = Writer(coll)
            await writer.run(200)
            await until(lambda: backend.failures >= 5)
            await asyncio.sleep(0.3)
            assert (await state.load())["resume_token"] == saved  # never advanced while down
            assert ix.stats.retries >= 5
            backend.down = False
            assert await ix.wait_until_applied(timeout=10)
            await assert_index_matches(coll, backend)

            async def checkpointed() -> bool:
                return (await state.load())["resume_token"] != saved

            await until(checkpointed)  # saved in the background, while the indexer runs

    run(mongodb_uri, database_name, tmp_path, body)


def test_a_failing_target_of_an_abandoned_reindex_does_not_stall_the_sync(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        coll = db.customers
        backend = EmbeddedBackend(root)
        ix = indexer(db, backend)
        await ix.run_until_caught_up()
        # a reindex's dual-write target whose writes keep failing
        target = FlakyBackend(backend.writer_for(await backend.create_generation()))
        target.down = True
        ix.writer.add_target(target)
        async with running(ix):
            await Writer(coll).run(20)
            await until(lambda: target.failures >= 2)
            assert not await ix.wait_until_applied(timeout=0.5)  # the batch waits for it
            ix.abandon_target(target)  # what a failed reindex does before dropping it
            assert await ix.wait_until_applied(timeout=10)
            await assert_index_matches(coll, backend)

    run(mongodb_uri, database_name, tmp_path, body)


def test_rejected_and_malformed_documents_are_dead_lettered(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        coll = db.customers
        backend = FlakyBackend(EmbeddedBackend(root))
        ix = indexer(db, backend)
        await ix.run_until_caught_up()
        backend.reject.add("cus_0000002")
        await coll.insert_many([raw_customer(n) for n in range(1, 4)])
        await coll.insert_one({"_id": "cus_bad", "email": "x@example.com"})  # no created_at
        await ix.run_until_caught_up()
        letters = {d["customer_id"]: d async for d in IndexerState(db).dead_letters.find()}
        assert set(letters) == {"cus_0000002", "cus_bad"}
        assert "rejected" in letters["cus_0000002"]["reason"]
        assert "created_at" in letters["cus_bad"]["reason"]
        assert set(await backend.versions(None)) == {"cus_0000001", "cus_0000003"}
        state = await IndexerState(db).load()
        assert state["counters"]["dead_letters"] == 2
        # the stream moved on: a later change is applied
        await coll.insert_one(raw_customer(9))
        await ix.run_until_caught_up()
        assert "cus_0000009" in await backend.versions(None)
        await backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_two_indexers_one_active_and_the_standby_takes_over(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        coll = db.customers
        first, second = EmbeddedBackend(root), EmbeddedBackend(root)
        a, b = indexer(db, first, owner="a"), indexer(db, second, owner="b")
        async with running(a) as run_a, running(b, wait_for=None):
            await coll.insert_many([raw_customer(n) for n in range(20)])
            assert await a.wait_until_applied(timeout=10)
            await asyncio.sleep(0.5)
            assert a.active and not b.active
            assert (await IndexerState(db).load())["owner"] == "a"
            assert b.stats.applied == 0
            await run_a.stop()  # a clean stop releases the lease: the standby takes over
            await until(lambda: b.active, timeout=5)
            await coll.insert_many([raw_customer(n) for n in range(20, 30)])
            assert await b.wait_until_applied(timeout=10)
            await assert_index_matches(coll, second)
            assert b.stats.applied >= 10

    run(mongodb_uri, database_name, tmp_path, body)


def test_read_your_writes_in_process_and_from_another_process(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        coll = db.customers
        backend = EmbeddedBackend(root)
        ix = indexer(db, backend)
        observer = indexer(db, EmbeddedBackend(root), owner="observer")  # not the active one
        async with running(ix, wait_for="ready"):
            for n in range(10):
                await coll.insert_one(raw_customer(n))
                await db.customer_groups.insert_one({"_id": f"g{n}", "name": f"g{n}"})  # noise
                assert await ix.wait_until_applied(timeout=20)
                assert f"cus_{n:07d}" in await backend.versions([f"cus_{n:07d}"])
                await coll.update_one({"_id": f"cus_{n:07d}"}, {"$set": {"deleted_at": None}})
                await coll.delete_one({"_id": f"cus_{n:07d}"})
                # via the state document (generous: CI is shared)
                assert await observer.wait_until_applied(timeout=20)
                assert not await backend.versions([f"cus_{n:07d}"])
            head = await probe_head(db)  # past the demand and checkpoint writes just made

            async def covered() -> bool:
                return (await ix.applied_position()).covers(head)

            await until(covered)  # the in-memory position moves past our own writes too
        await observer.backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_a_checkpoint_taken_after_a_command_entry_resumes_without_a_reindex(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    """SecantusDB mints the stream's token after a command entry of the database (an index or
    collection created while the indexer idles) with the namespace ``<db>.$cmd``, and refuses
    to resume a ``customers`` stream from it; the indexer saves such a token at a clean stop
    and must still resume from it."""

    async def body(db: Any, root: Path) -> None:
        coll = db.customers
        backend = EmbeddedBackend(root)
        await coll.insert_one(raw_customer(1))
        first = indexer(db, backend, max_await_ms=50, lease_ttl=60)  # no renewal writes
        async with running(first, wait_for="caught_up", close=False):
            await db.create_collection("unrelated")
            await asyncio.sleep(0.5)  # idle reads pass over the command entry
        saved = (await IndexerState(db).load())["resume_token"]
        assert await resumable(db, "customers", saved)

        await coll.insert_one(raw_customer(2))
        restarted = indexer(db, backend)
        await restarted.run_until_caught_up()
        assert restarted.stats.reindexes == 0 and restarted.stats.applied == 1
        await assert_index_matches(coll, backend)
        await backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_history_lost_on_resume_runs_a_full_reindex(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with dedicated_server("--oplog-max-entries", "20") as uri:

        async def body(db: Any, root: Path) -> None:
            coll = db.customers
            backend = EmbeddedBackend(root)
            ix = indexer(db, backend)
            await coll.insert_many([raw_customer(n) for n in range(10)])
            await ix.run_until_caught_up()
            generation = await backend.active_generation()
            writer = Writer(coll, start=10)
            await writer.run(120)
            pruned = await prune_oplog(db.client)
            assert pruned is not None and pruned > 0
            token = (await IndexerState(db).load())["resume_token"]
            assert not await resumable(db, "customers", token)  # code 286
            caplog.clear()
            with caplog.at_level(logging.ERROR):
                await ix.run_until_caught_up()
            assert "history lost" in caplog.text and "FULL REINDEX" in caplog.text
            state = await IndexerState(db).load()
            assert "history lost" in state["last_reindex"]["reason"]
            assert state["reindex_required"] is None
            assert await backend.active_generation() != generation
            assert await backend.generations() == [await backend.active_generation()]
            await assert_index_matches(coll, backend)
            await backend.close()

        run(uri, "hist", tmp_path, body)


def test_an_open_cursor_that_falls_off_the_oplog_is_caught(tmp_path: Path) -> None:
    """SecantusDB prunes by itself every 1,000 entries and an open cursor then skips silently."""
    with dedicated_server("--oplog-max-entries", "50") as uri:

        async def body(db: Any, root: Path) -> None:
            coll = db.customers
            backend = FlakyBackend(EmbeddedBackend(root))
            ix = indexer(db, backend)
            await ix.run_until_caught_up()
            async with running(ix, wait_for="ready"):
                backend.down = True
                await coll.insert_one(raw_customer(0))  # the loop now holds a failing batch
                await until(lambda: backend.failures >= 1)
                await coll.insert_many([raw_customer(n) for n in range(1, 1200)])  # > 1,000
                backend.down = False
                await until(lambda: ix.stats.reindexes == 2, timeout=30)
                assert ix.stats.history_lost >= 1
                assert await ix.wait_until_applied(timeout=10)
                await assert_index_matches(coll, backend)

        run(uri, "gap", tmp_path, body)


def test_dropping_the_collection_triggers_a_reindex(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        coll = db.customers
        backend = EmbeddedBackend(root)
        ix = indexer(db, backend)
        await coll.insert_many([raw_customer(n) for n in range(5)])
        await ix.run_until_caught_up()
        await coll.drop()
        await coll.insert_many([raw_customer(n) for n in range(100, 103)])
        await ix.run_until_caught_up()
        assert ix.stats.reindexes == 2
        await assert_index_matches(coll, backend)
        await backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_the_oplog_is_pruned_only_while_caught_up_and_no_reindex_runs(tmp_path: Path) -> None:
    with dedicated_server("--oplog-max-entries", "20") as uri:

        async def body(db: Any, _root: Path) -> None:
            await db.customers.insert_many([raw_customer(n) for n in range(60)])  # 60 entries
            pruner = OplogPruner(db, interval=0.0001)
            await asyncio.sleep(0.01)  # due
            assert await pruner.maybe_prune(caught_up=False, reindexing=False) == 0
            await asyncio.sleep(0.01)
            assert await pruner.maybe_prune(caught_up=True, reindexing=True) == 0
            assert pruner.supported is None and pruner.pruned_total == 0  # never asked
            await asyncio.sleep(0.01)
            pruned = await pruner.maybe_prune(caught_up=True, reindexing=False)
            assert pruned >= 40  # down to the cap of 20 entries
            assert pruner.supported is True and pruner.pruned_total == pruned
            assert await prune_oplog(db.client) == 0  # nothing left above the cap

        run(uri, "prune", tmp_path, body)


def _replace_with_old_schema(root: Path, generation: str) -> None:
    """Turn ``generation`` into an index of another (older) schema, in place."""
    import tantivy

    old = tantivy.SchemaBuilder()
    old.add_text_field("id", stored=True)
    for path in (root / generation).iterdir():
        path.unlink()
    tantivy.Index(old.build(), path=str(root / generation))


def test_an_index_of_an_old_schema_is_rebuilt_at_start_not_retried_forever(
    mongodb_uri: str, database_name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(db: Any, root: Path) -> None:
        coll = db.customers
        await coll.insert_many([raw_customer(n) for n in range(30)])
        backend = EmbeddedBackend(root)
        await indexer(db, backend).run_until_caught_up()
        generation = await backend.active_generation()
        assert generation is not None
        await backend.close()
        _replace_with_old_schema(root, generation)
        await coll.insert_many([raw_customer(n) for n in range(30, 35)])

        backend = EmbeddedBackend(root)
        ix = indexer(db, backend)
        with caplog.at_level(logging.ERROR):
            await asyncio.wait_for(ix.run_until_caught_up(), 60)
        assert "incompatible schema" in caplog.text and "FULL REINDEX" in caplog.text
        assert ix.stats.reindexes == 1 and not ix.main_incompatible
        assert await backend.generations() == [await backend.active_generation()] != [generation]
        await assert_index_matches(coll, backend)
        await backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_an_incompatible_index_found_while_writing_runs_a_full_reindex(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        coll = db.customers
        backend = FlakyBackend(EmbeddedBackend(root))
        ix = indexer(db, backend)
        async with running(ix, wait_for="ready"):
            backend.incompatible = await backend.active_generation()  # as if the files changed
            await Writer(coll, seed=5).run(100)
            await until(lambda: ix.stats.reindexes >= 2, timeout=30)
            assert await ix.wait_until_applied(timeout=10)
            assert ix.stats.history_lost >= 1 and ix.stats.retries == 0  # not a retry loop
            assert await backend.active_generation() != backend.incompatible
            await assert_index_matches(coll, backend)

    run(mongodb_uri, database_name, tmp_path, body)
