"""Zero-downtime reindex, ``customers reindex`` / ``index status`` / ``index verify --repair``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from app.cli.index import index
from app.cli.reindex import reindex, run_reindex
from app.config import Settings
from indexers.backends.base import Delete, Upsert
from indexers.backends.embedded import EmbeddedBackend
from indexers.backends.embedded.documents import to_tantivy
from indexers.documents import to_search_doc
from indexers.query import ListQuery
from indexers.state import IndexerState
from indexers.sync import Indexer
from indexers.verify import verify
from tests.indexers.sync_support import (
    Writer,
    assert_index_matches,
    client,
    raw_customer,
    running,
)


def settings_for(uri: str, database: str, data_dir: Path) -> Settings:
    return Settings(mongodb_uri=uri, mongodb_database=database, data_dir=data_dir)


def test_reindex_while_a_writer_runs_keeps_answering_and_loses_nothing(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def main() -> None:
        mongo = client(mongodb_uri)
        db = mongo[database_name]
        coll = db.customers
        await coll.insert_many([raw_customer(n) for n in range(3000)])
        backend = EmbeddedBackend(tmp_path / "search")
        progress: list[tuple[int, int]] = []
        ix = Indexer(
            db,
            backend,
            lease_ttl=3.0,
            copy_batch_size=500,
            reindex_progress=lambda done, total: progress.append((done, total)),
        )
        await ix.run_until_caught_up()
        before = await backend.active_generation()
        async with running(ix, wait_for=None):
            writer = Writer(coll, seed=3, start=10_000)
            writing = asyncio.create_task(writer.run(600, pause=0.002))
            await asyncio.sleep(0.2)
            ix.request_reindex("test")
            answered = 0
            while ix.stats.reindexes < 2:  # searches keep answering from the old generation
                ids, total = await backend.list_ids(ListQuery(take=5))
                assert total > 0 and ids
                answered += 1
                await asyncio.sleep(0.02)
            await writing  # keep writing after the switch too
            assert await ix.wait_until_applied(timeout=10)
            await assert_index_matches(coll, backend)
            after = await backend.active_generation()
            assert after != before and await backend.generations() == [after]
            state = await IndexerState(db).load()
            assert state["last_reindex"]["reason"] == "test" and state["reindex"] is None
            assert answered > 0 and progress and progress[-1][0] >= 3000
        await mongo.close()

    asyncio.run(main())


def test_customers_reindex_asks_the_active_indexer_and_follows_it(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def main() -> None:
        mongo = client(mongodb_uri)
        db = mongo[database_name]
        await db.customers.insert_many([raw_customer(n) for n in range(500)])
        backend = EmbeddedBackend(tmp_path / "data" / "search")
        ix = Indexer(db, backend, lease_ttl=1.5)
        seen: list[tuple[int, int]] = []
        async with running(ix, wait_for="ready"):
            summary = await run_reindex(
                settings_for(mongodb_uri, database_name, tmp_path / "data"),
                db,
                EmbeddedBackend(tmp_path / "other"),  # not used: the active indexer works
                progress=lambda done, total: seen.append((done, total)),
                timeout=60,
            )
            assert summary["copied"] == 500 and summary["reason"].startswith("requested")
            assert ix.stats.reindexes == 2
            await assert_index_matches(db.customers, backend)
        # the bar got the total up front, then the other process's progress as it went
        assert seen[0] == (0, 500), seen
        assert all(total == 500 for _, total in seen), seen
        copied = [done for done, _ in seen]
        assert copied == sorted(copied) and copied[-1] <= 500, seen
        await mongo.close()

    asyncio.run(main())


def test_cli_reindex_status_and_verify_repair(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = {
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": database_name,
        "CUSTOMERS_DATA_DIR": str(data_dir),
        "CUSTOMERS_LOG_LEVEL": "WARNING",
    }

    async def seed() -> None:
        mongo = client(mongodb_uri)
        await mongo[database_name].customers.insert_many([raw_customer(n) for n in range(200)])
        await mongo.close()

    asyncio.run(seed())
    runner = CliRunner()
    result = runner.invoke(reindex, [], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "reindexed 200 customers" in result.output

    result = runner.invoke(index, ["status", "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert '"mongo_customers": 200' in result.output and '"index_documents": 200' in result.output
    assert '"lag_s": 0' in result.output

    async def drift() -> None:  # a lost delete (stray) and a lost insert (missing)
        backend = EmbeddedBackend(data_dir / "search")
        await backend.apply([Upsert(to_search_doc(raw_customer(999_999), 1))])
        version = (await backend.versions(["cus_0000007"]))["cus_0000007"]
        await backend.apply([Delete("cus_0000007", version + 1)])
        # what tantivy's lost first delete left (fixed): a hard-deleted customer's live
        # document beside its tombstone
        mongo = client(mongodb_uri)
        await mongo[database_name].customers.delete_one({"_id": "cus_0000011"})
        await mongo.close()
        version = (await backend.versions(["cus_0000011"]))["cus_0000011"]
        await backend.apply([Delete("cus_0000011", version + 1)])
        generation = backend._target()
        assert generation is not None
        generation.writer.add_document(to_tantivy(to_search_doc(raw_customer(11), version)))
        # and a second live document of a customer MongoDB still has
        version = (await backend.versions(["cus_0000013"]))["cus_0000013"]
        generation.writer.add_document(to_tantivy(to_search_doc(raw_customer(13), version - 1)))
        generation.writer.commit()
        await backend.close()

    asyncio.run(drift())
    result = runner.invoke(index, ["verify"], env=env, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "missing: 1 (cus_0000007)" in result.output, result.output
    assert "stray: 2 (cus_0000011, cus_0999999)" in result.output, result.output
    assert "duplicated: 1 (cus_0000013)" in result.output, result.output
    result = runner.invoke(index, ["verify", "--repair"], env=env, catch_exceptions=False)
    assert "repaired: 4" in result.output, result.output
    result = runner.invoke(index, ["verify"], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and "no drift" in result.output, result.output


def test_verify_repair_goes_through_the_active_indexer(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def main() -> None:
        mongo = client(mongodb_uri)
        db = mongo[database_name]
        await db.customers.insert_many([raw_customer(n) for n in range(20)])
        backend = EmbeddedBackend(tmp_path / "search")
        ix = Indexer(db, backend, lease_ttl=1.5)
        async with running(ix, wait_for="ready"):
            version = (await backend.versions(["cus_0000003"]))["cus_0000003"]
            await backend.apply([Delete("cus_0000003", version + 1)])
            result = await verify(db, backend, repair=True)
            assert result.missing == ["cus_0000003"] and result.repaired == 1
            assert (await verify(db, backend)).ok
            await assert_index_matches(db.customers, backend)
            assert (await IndexerState(db).load())["last_repair"]["count"] == 1  # by it
        await mongo.close()

    asyncio.run(main())
