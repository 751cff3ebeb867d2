"""Read-your-writes: stream positions, the applied position, the cross-process wait, the hook."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from bson.timestamp import Timestamp
from pymongo.errors import PyMongoError

from indexers.backends.embedded import EmbeddedBackend
from indexers.freshness import (
    AppliedPosition,
    Freshness,
    KeptHead,
    SharedProbe,
    probe_head,
    wait_for_position,
)
from indexers.inbox import wanted_position
from indexers.mongo import ServerTraits
from indexers.query import NotServable
from indexers.state import IndexerState, Position
from tests.indexers.sync_support import client, raw_customer, running, until
from tests.indexers.test_sync import indexer, run


def test_positions_order_the_stream(mongodb_uri: str, database_name: str) -> None:
    async def body(db: Any, _root: Path) -> None:
        head = await probe_head(db)
        await db.customers.insert_one(raw_customer(1))
        later = await probe_head(db)
        assert later.covers(head) and not head.covers(later)
        assert Position.from_doc(later.to_doc()) == later
        assert later.covers(later.before()) and not later.before().covers(later)
        # MongoDB KeyString tokens: 0x82 + the 8-byte cluster time, compared by time
        mongo_token = {"_data": "826553F100000000052B022C0100296E5A1004" + "00" * 8}
        assert Position.from_token(mongo_token) == Position(Timestamp(1700000000, 5))
        assert Position.from_token({"_data": "zz"}) is None

    run(mongodb_uri, database_name, Path("."), body)


def test_the_applied_position_wakes_waiters_and_never_moves_back() -> None:
    early, late = Position(Timestamp(100, 1), 10), Position(Timestamp(100, 2), 20)

    async def scenario() -> None:
        applied = AppliedPosition()
        assert not await applied.wait_for(early, timeout=0.01)
        waiter = asyncio.ensure_future(applied.wait_for(late, timeout=10))
        await applied.advance(early)
        await asyncio.sleep(0)
        assert not waiter.done() and applied.covers(early) and not applied.covers(late)
        await applied.advance(late)
        assert await waiter
        await applied.advance(early)  # an older position never moves it back
        assert applied.value == late
        await applied.advance(None)
        assert applied.value == late

    asyncio.run(scenario())


async def indexed_once(db: Any) -> IndexerState:
    """A database whose indexer ran once (it has a state document), with a customer since."""
    state = IndexerState(db)
    await state.collection.insert_one({"_id": state.name})
    await db.customers.insert_one(raw_customer(1))
    return state


def test_another_process_waits_on_the_saved_position_and_leaves_a_demand(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        state = await indexed_once(db)
        head = await probe_head(db)
        started = time.monotonic()
        assert not await wait_for_position(state, head, 0.1)  # nothing saved yet
        assert time.monotonic() - started >= 0.1
        assert wanted_position(await state.load()) == head  # the active indexer answers this

        async def answer() -> None:  # what the active indexer does on its next idle cycle
            await asyncio.sleep(0.05)
            await state.collection.update_one(
                {"_id": state.name}, {"$set": {"position": head.to_doc()}}
            )

        answering = asyncio.ensure_future(answer())
        assert await wait_for_position(state, head, 10)
        await answering

    run(mongodb_uri, database_name, Path("."), body)


def test_the_hook_refuses_a_stale_index_then_skips_it_for_a_while(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        state = await indexed_once(db)

        async def read() -> str:
            return "from the index"

        hook = Freshness(db, timeout=0.05)  # no indexer here, and none saved a position
        with pytest.raises(NotServable, match="did not catch up"):
            await hook.read(read)
        with pytest.raises(NotServable, match="behind"):  # the cool-down: not even a wait
            await hook.read(read)
        # another process's indexer saved a position past every write (this one's included)
        head = await probe_head(db)
        ahead = Position(head.ts, None if head.seq is None else head.seq + 1000)
        if head.seq is None:
            ahead = Position(Timestamp(head.ts.time + 3600, 0))
        await state.collection.update_one(
            {"_id": state.name}, {"$set": {"position": ahead.to_doc()}}
        )
        assert await Freshness(db, timeout=0.05).read(read) == "from the index"

    run(mongodb_uri, database_name, Path("."), body)


class GatedHeads:
    """The real database, whose change-stream head reads are sent only once ``gate`` opens,
    and whose replies are handed back only once ``release`` is set; ``answered`` records when
    the server replied."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.gate = asyncio.Event()
        self.release = asyncio.Event()
        self.answered = asyncio.Event()
        self.gate.set()
        self.release.set()

    def __getitem__(self, name: str) -> Any:
        return self.db[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    async def command(self, command: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        head = "aggregate" in command or "getMore" in command  # opening or reading a stream
        if head:
            await self.gate.wait()
        reply = await self.db.command(command, *args, **kwargs)
        if head:
            self.answered.set()
            await self.release.wait()
        return reply


def test_a_shared_probe_never_serves_a_read_with_a_probe_that_started_before_it(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        held = GatedHeads(db)
        held.release.clear()  # the server's replies are held back (a slow network)
        probe = SharedProbe(held)  # type: ignore[arg-type]
        first = asyncio.ensure_future(probe())
        await held.answered.wait()  # the first probe read the head: before the write below
        await db.customers.insert_one(raw_customer(1))  # acknowledged
        written = await probe_head(db)
        # two reads arrive while the first probe is still on its way back
        second, third = asyncio.ensure_future(probe()), asyncio.ensure_future(probe())
        await asyncio.sleep(0.05)
        assert not second.done() and not third.done()
        held.release.set()
        assert not (await first).covers(written)  # what a read joining it would have missed
        assert (await second).covers(written) and (await third).covers(written)
        assert probe.probes == 2  # the two later reads shared one probe

    run(mongodb_uri, database_name, Path("."), body)


def test_a_shared_probe_hands_its_failure_to_every_waiter(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        closed = client(mongodb_uri)
        await closed.close()
        probe = SharedProbe(closed[database_name])
        results = await asyncio.gather(probe(), probe(), probe(), return_exceptions=True)
        assert all(isinstance(r, PyMongoError) for r in results), results
        assert probe.probes == 2  # the first, then one for the two that came meanwhile
        await db.customers.insert_one(raw_customer(1))
        assert (await SharedProbe(db)()).covers(await probe_head(db))

    run(mongodb_uri, database_name, Path("."), body)


async def kept_head(db: Any) -> KeptHead:
    if not await ServerTraits(db).embedded():
        pytest.skip("the kept stream is read on SecantusDB only (see KeptHead)")
    return KeptHead(db, "customers")


def test_a_kept_stream_reads_a_head_that_covers_every_write_before_it(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        kept = await kept_head(db)
        first = await kept.read()  # opens the stream
        await db.customers.insert_one(raw_customer(1))
        written = await probe_head(db)
        await db.other.insert_one({"_id": 1})  # a write the stream does not show
        second = await kept.read()
        assert second.covers(written) and not first.covers(second)
        assert kept.reopened == 1  # read by getMore on the same stream
        assert (await kept.read()).covers(second)  # nothing since: an empty batch
        # more writes than a batch holds: the stream is dropped for one opened at the head
        await db.customers.insert_many([raw_customer(n) for n in range(2, 7 + KeptHead.BATCH)])
        assert (await kept.read()).covers(await probe_head(db))
        assert kept.reopened == 2
        # many writes elsewhere, then one to the collection: the head still covers it
        await db.other.insert_many([{"_id": f"o{n}"} for n in range(500)])
        await db.customers.insert_one(raw_customer(600))
        written = await probe_head(db)
        assert (await kept.read()).covers(written)
        # a stream the server lost is replaced
        await db.command({"killCursors": "customers", "cursors": [kept.cursor_id]})
        await db.customers.insert_one(raw_customer(500))
        assert (await kept.read()).covers(await probe_head(db))
        assert kept.reopened == 3
        await kept.close()

    run(mongodb_uri, database_name, Path("."), body)


async def settled(db: Any, ix: Any) -> None:
    """Wait until the indexer's in-memory position covers the head, twice in a row."""
    for _ in range(2):
        head = await probe_head(db)

        def covered(head: Position = head) -> bool:
            return (ix.applied_now() or Position(Timestamp(0, 0))).covers(head)

        await until(covered)
        await asyncio.sleep(0.2)


def test_a_read_runs_beside_the_probe_in_the_indexer_process_and_after_it_elsewhere(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    """In the active indexer's process the read does not wait for the probe's round trip;
    the answer is handed out once the probe shows the index held every earlier write."""

    async def body(db: Any, root: Path) -> None:
        await db.customers.insert_one(raw_customer(1))
        ix = indexer(db, EmbeddedBackend(root), lease_ttl=60.0)
        observer = indexer(db, EmbeddedBackend(root), owner="observer")  # not the active one
        async with running(ix, wait_for="caught_up"):
            await settled(db, ix)
            for waiter, overlaps in ((ix, True), (observer, False)):
                heads = GatedHeads(db)
                heads.release.clear()
                hook = Freshness(heads, indexer=waiter, timeout=20)
                reads: list[bool] = []  # per read: had the probe's reply come in?

                async def read(heads: GatedHeads = heads, reads: list[bool] = reads) -> int:
                    reads.append(heads.answered.is_set())
                    return len(reads)

                answer = asyncio.ensure_future(hook.read(read))
                await heads.answered.wait()
                await asyncio.sleep(0.05)
                assert not answer.done()  # never handed out before the probe is back
                assert reads == ([False] if overlaps else []), waiter
                heads.release.set()
                assert await answer == 1
                assert reads == [not overlaps]
        await observer.backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_a_write_acknowledged_during_the_read_makes_it_wait_and_read_again(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    """The read began on an index state without a write that the probe, sent after it was
    acknowledged, covers: that answer is dropped; the read runs again once it is applied."""

    async def body(db: Any, root: Path) -> None:
        backend = EmbeddedBackend(root)
        ix = indexer(db, backend, lease_ttl=60.0)
        async with running(ix, wait_for="caught_up"):
            await settled(db, ix)
            heads = GatedHeads(db)
            heads.gate.clear()  # the probe goes out only after the write below
            hook = Freshness(heads, indexer=ix, timeout=20)
            seen: list[bool] = []

            async def read() -> bool:
                if not seen:
                    await db.customers.insert_one(raw_customer(7))  # acknowledged
                    heads.gate.set()
                found = "cus_0000007" in await backend.versions(["cus_0000007"])
                seen.append(found)
                return found

            assert await asyncio.wait_for(hook.read(read), 30)  # a read after the probe: stuck
            assert seen == [False, True]

    run(mongodb_uri, database_name, tmp_path, body)
