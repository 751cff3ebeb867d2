"""Crash test: a separate ``customers index`` process SIGKILLed at random points of a workload.

2,000 mixed creates / updates / soft deletes / hard deletes are written while the indexer process
is killed with SIGKILL several times and restarted at once (the lease of a dead process on this
host is taken over immediately). After catch-up the index must hold exactly MongoDB's customers,
each at the version of its last change event: nothing missing, nothing resurrected, nothing stale.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from indexers.backends.embedded import EmbeddedBackend
from indexers.backends.embedded.queries import Q
from indexers.backends.embedded.results import fast_ints
from indexers.backends.embedded.schema import SCHEMA
from indexers.documents import version_from_timestamp
from indexers.state import FIRST_BUILD, IndexerState
from indexers.sync import Indexer
from tests.indexers.sync_support import (
    Writer,
    assert_index_matches,
    client,
    last_event_versions,
    until,
)

ROOT = Path(__file__).resolve().parents[2]
OPS = 2000
KILLS = 4


def start_indexer(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from app.cli.index import index; index()",
                "--lease-ttl",
                "3",
                "--batch-size",
                "100",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _owner_pid(state: IndexerState, pid: str) -> bool:
    owner = (await state.load()).get("owner") or ""
    return owner.split(":")[1:2] == [pid]


async def _history(
    coll: Any, start: Any, backend: EmbeddedBackend, expected: dict[str, int]
) -> str:
    """For a failed match: each differing id's change events and every index document of it
    (tombstones and duplicates included), so a rare failure explains itself."""
    mongo = {d["_id"] async for d in coll.find({}, {"_id": 1})}
    index = await backend.versions(None)
    ids = sorted((set(index) ^ mongo) | {i for i in mongo if index.get(i) != expected.get(i)})
    events: dict[str, list[str]] = {i: [] for i in ids[:10]}
    async with await coll.watch(resume_after=start, max_await_time_ms=50) as stream:
        while (event := await stream.try_next()) is not None:
            key = event["documentKey"]["_id"]
            if key in events:
                version = version_from_timestamp(event["clusterTime"])
                events[key].append(f"{event['operationType']}@{version}")
    generation = backend._target()
    lines = []
    for customer_id, seen in events.items():
        docs = "-"
        if generation is not None:
            searcher = generation.searcher()
            query = Q.term_query(SCHEMA, "id", customer_id)
            hits = searcher.search(query, 100, count=False).hits
            addrs = [addr for _, addr in hits]
            docs = str(
                list(
                    zip(
                        fast_ints(searcher, "version", addrs),
                        fast_ints(searcher, "state", addrs),
                        strict=True,
                    )
                )
            )
        lines.append(f"{customer_id}: events {seen}; index (version, state) {docs}")
    return "\n".join(lines)


def test_indexer_process_killed_at_random_points_loses_and_resurrects_nothing(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": database_name,
        "CUSTOMERS_DATA_DIR": str(data_dir),
        "CUSTOMERS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "indexer.log"
    rng = random.Random(20261125)

    async def main() -> None:
        mongo = client(mongodb_uri)
        db = mongo[database_name]
        coll = db.customers
        state = IndexerState(db)
        async with await coll.watch() as stream:
            start = stream.resume_token
        proc = start_indexer(env, log)
        try:
            # the first run reindexes the empty collection and saves a checkpoint
            for _ in range(300):
                doc = await state.load()
                if doc.get("resume_token") and doc.get("last_reindex"):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"indexer did not start: {log.read_text()[-2000:]}")
            writer = Writer(coll, seed=11)
            kill_at = sorted(rng.sample(range(100, OPS - 200), KILLS))
            restarted = asyncio.Event()
            restarted.set()
            kills = 0

            async def write() -> None:
                for op in range(OPS):
                    if op in kill_at:  # a kill is due: the previous restart must be active
                        await restarted.wait()
                        restarted.clear()
                    await writer.step()

            write_task = asyncio.create_task(write())
            while kills < KILLS:
                # kill only an indexer that holds the lease while writes flow: mid-batch,
                # mid-apply or mid-checkpoint, wherever the random delay lands
                await until(lambda: not restarted.is_set() or write_task.done(), timeout=60)
                assert not write_task.done()
                await asyncio.sleep(rng.uniform(0.0, 0.4))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                proc = start_indexer(env, log)
                pid = str(proc.pid)
                await until(lambda pid=pid: _owner_pid(state, pid), timeout=60)
                restarted.set()
            await write_task
            assert writer.ops == OPS
            observer = Indexer(db, EmbeddedBackend(tmp_path / "unused"), owner="observer")
            assert await observer.wait_until_applied(timeout=60), log.read_text()[-3000:]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, log.read_text()[-3000:]
            assert kills == KILLS
            expected = await last_event_versions(coll, start)
            backend = EmbeddedBackend(data_dir / "search")
            try:
                await assert_index_matches(coll, backend, versions=expected)
            except AssertionError as exc:
                history = await _history(coll, start, backend, expected)
                raise AssertionError(f"{exc}\n{history}\n{log.read_text()[-3000:]}") from exc
            doc = await state.load()
            # recovered from checkpoints every time: the only reindex is the first start's
            assert doc["last_reindex"]["reason"] == FIRST_BUILD
            assert (await state.count_dead_letters()) == 0
            await backend.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            await mongo.close()

    asyncio.run(main())


def test_a_replay_after_a_kill_between_tantivy_delete_files_and_meta_json_applies(
    tmp_path: Path,
) -> None:
    """A writer SIGKILLed inside a commit leaves a delete file that its meta.json never
    listed; the restarted indexer replays the same batch, which names the same file."""
    from indexers.backends.base import Delete
    from tests.indexers.conftest import customer, upserts

    async def main() -> None:
        backend = EmbeddedBackend(tmp_path)
        generation = await backend.create_generation()
        await backend.activate(generation)
        await backend.apply(upserts([customer(n) for n in range(10)]))
        await backend.refresh()
        await backend.release_writer()
        meta = tmp_path / generation / "meta.json"
        before = meta.read_text()
        batch = [Delete(f"cus_{n:06d}", 2) for n in range(3)]
        await backend.apply(batch)
        await backend.refresh()
        await backend.close()
        meta.write_text(before)  # killed after the delete files, before the new meta.json

        backend = EmbeddedBackend(tmp_path)
        await backend.apply(batch)  # the replay from the checkpoint
        await backend.refresh()
        assert sorted(await backend.versions(None)) == [f"cus_{n:06d}" for n in range(3, 10)]
        await backend.close()

    asyncio.run(main())
