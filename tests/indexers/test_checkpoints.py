"""Which resume token is saved when (:class:`indexers.checkpoint.Checkpoints`), in MongoDB.

The background writer underneath (coalescing, verification, errors) is
``tests/unit/test_checkpoint.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bson.timestamp import Timestamp

from indexers.checkpoint import Checkpoints
from indexers.state import IndexerState, LeaseLost, Position
from indexers.stats import IndexerStats
from tests.indexers.test_sync import run

T1, T2 = {"_data": "t1"}, {"_data": "t2"}  # tokens as the state document stores them
P1 = Position(Timestamp(1_700_000_000, 1), 7)


async def resumable(_token: Any) -> bool:
    return True


def checkpoints(state: IndexerState, stats: IndexerStats, **options: Any) -> Checkpoints:
    options.setdefault("interval", 0.0)
    options.setdefault("idle_interval", 60.0)
    return Checkpoints(state, "me", stats, verify=resumable, **options)


def test_an_applied_batch_is_saved_with_its_position_and_the_counters(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        state = IndexerState(db)
        assert await state.try_acquire("me", 30)
        stats = IndexerStats(applied=3)
        saves: list[int] = []
        cp = checkpoints(state, stats, on_saved=lambda: saves.append(1))
        cp.restore(await state.load())
        assert cp.checkpoint_at is None and cp.saved_token is None
        cp.start(None)
        cp.applied(T1, P1)
        await cp.drain()
        doc = await state.load()
        assert doc["resume_token"] == T1 and Position.from_doc(doc["position"]) == P1
        assert doc["counters"]["applied"] == 3 and "caught_up_at" not in doc
        assert stats.checkpoints == 1 and saves == [1] and cp.checkpoint_at is not None
        assert cp.covers(P1) and not cp.covers(Position(P1.ts, 8))
        await cp.close()

    run(mongodb_uri, database_name, Path("."), body)


def test_an_idle_token_is_saved_when_it_moved_and_is_due_or_forced(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        state = IndexerState(db)
        assert await state.try_acquire("me", 30)
        stats = IndexerStats()
        cp = checkpoints(state, stats)
        cp.start(None)
        cp.applied(T1, P1)
        await cp.drain()
        cp.idle(T1)
        cp.save_idle(force=True)  # has not moved: nothing to save
        cp.idle(T2)
        cp.save_idle()  # moved, but saved less than idle_interval ago
        await cp.drain()
        assert stats.checkpoints == 1
        cp.save_idle(force=True)  # another process waits for it: at once
        await cp.drain()
        doc = await state.load()
        assert stats.checkpoints == 2 and doc["resume_token"] == T2 and doc["caught_up_at"]
        restored = checkpoints(state, IndexerStats())
        restored.restore(doc)  # the next session starts from what was saved
        assert restored.saved_token == T2 and restored.checkpoint_at == doc["checkpoint_at"]
        await cp.close()

    run(mongodb_uri, database_name, Path("."), body)


def test_a_holder_that_lost_the_lease_cannot_save(mongodb_uri: str, database_name: str) -> None:
    async def body(db: Any, _root: Path) -> None:
        state = IndexerState(db)
        assert await state.try_acquire("someone else", 30)
        cp = checkpoints(state, IndexerStats())
        cp.start(None)
        cp.applied(T1, P1)
        with pytest.raises(LeaseLost):
            await cp.drain()
        assert "resume_token" not in await state.load()
        await cp.close()

    run(mongodb_uri, database_name, Path("."), body)
