"""The background checkpoint writer: coalescing, ordering, verification, errors, new streams."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from indexers.checkpoint import Checkpointer, Mark


class Lost(Exception):
    pass


class Store:
    """Records saves; each save takes ``delay`` seconds (a slow, queued MongoDB write)."""

    def __init__(self, delay: float = 0.0, resumable: bool = True) -> None:
        self.delay = delay
        self.resumable = resumable
        self.saved: list[Any] = []
        self.verified: list[Any] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def save(self, mark: Mark) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(self.delay)
        self.in_flight -= 1
        self.saved.append(mark.token)

    async def verify(self, token: Any) -> bool:
        self.verified.append(token)
        await asyncio.sleep(self.delay)
        return self.resumable


def checkpointer(store: Store, interval: float = 0.0) -> Checkpointer:
    return Checkpointer(store.save, store.verify, Lost, interval=interval)


def test_marks_never_wait_for_a_slow_save_and_the_newest_wins():
    async def scenario() -> Store:
        store = Store(delay=0.05)
        cp = checkpointer(store)
        cp.start("t0")
        for n in range(1, 51):
            cp.mark(f"t{n}", None, caught_up=False, urgent=False)  # plain call: cannot wait
            await asyncio.sleep(0.002)
        await cp.drain()
        await cp.close()
        return store

    store = asyncio.run(scenario())
    assert store.saved[-1] == "t50"
    assert len(store.saved) < 10  # coalesced
    assert store.saved == sorted(store.saved, key=lambda t: int(t[1:]))  # in order
    assert store.most_in_flight == 1


def test_each_save_first_verifies_the_previous_token():
    async def scenario() -> Store:
        store = Store()
        cp = checkpointer(store)
        cp.start("t0")
        for token in ("t1", "t2"):
            cp.mark(token, None, caught_up=False, urgent=True)
            await cp.drain()
        await cp.close()
        return store

    store = asyncio.run(scenario())
    assert store.verified == ["t0", "t1"]
    assert store.saved == ["t1", "t2"]


def test_a_pruned_position_stops_the_writer_and_surfaces_at_the_next_mark():
    async def scenario() -> None:
        store = Store(resumable=False)
        cp = checkpointer(store)
        cp.start("t0")
        cp.mark("t1", None, caught_up=False, urgent=True)
        with pytest.raises(Lost):
            await cp.drain()
        assert store.saved == []
        cp.start("fresh")  # the sync loop opened a fresh stream: a new writer
        store.resumable = True
        cp.mark("f1", None, caught_up=False, urgent=True)
        await cp.drain()
        await cp.close()
        assert store.saved == ["f1"] and store.verified[-1] == "fresh"

    asyncio.run(scenario())


def test_the_interval_spaces_saves_unless_urgent():
    async def scenario() -> tuple[list[Any], list[Any]]:
        store = Store()
        cp = checkpointer(store, interval=10.0)
        cp.start("t0")
        cp.mark("t1", None, caught_up=False, urgent=False)
        await asyncio.sleep(0.05)  # the first save is not held back
        cp.mark("t2", None, caught_up=False, urgent=False)
        await asyncio.sleep(0.05)
        held = list(store.saved)
        cp.mark("t3", None, caught_up=True, urgent=True)
        await cp.drain()
        await cp.close()
        return held, store.saved

    held, saved = asyncio.run(scenario())
    assert held == ["t1"]
    assert saved == ["t1", "t3"]


def test_a_save_of_an_abandoned_stream_neither_fails_nor_counts():
    async def scenario() -> None:
        store = Store(delay=0.05, resumable=False)
        cp = checkpointer(store)
        cp.start("old")
        cp.mark("old1", None, caught_up=False, urgent=True)
        await asyncio.sleep(0)
        cp.start("new")  # while the old mark is being verified
        store.resumable = True
        await asyncio.sleep(0.1)
        cp.raise_error()  # the old stream's failure is not reported
        cp.mark("new1", None, caught_up=False, urgent=True)
        await cp.drain()
        await cp.close()
        assert store.saved == ["new1"]

    asyncio.run(scenario())


def test_a_writer_closed_mid_save_restarts_clean():
    async def scenario() -> list[Any]:
        store = Store(delay=0.05)
        cp = checkpointer(store)
        cp.start("t0")
        cp.mark("t1", None, caught_up=False, urgent=True)
        await asyncio.sleep(0.01)  # the write is in progress
        await cp.close()  # the session ends (an error): t1 is dropped, to be replayed
        cp.start("t0")
        await asyncio.wait_for(cp.drain(), 2)  # nothing pending: returns at once
        cp.mark("t2", None, caught_up=False, urgent=True)
        await asyncio.wait_for(cp.drain(), 2)
        await cp.close()
        return store.saved

    assert asyncio.run(scenario()) == ["t2"]
